"""The batched logistic-regression solver of the linear probe (benchmark.evaluate.logistic) against
scikit-learn's fit of the same objective, one problem at a time (what the probe used before issue 21)."""
import numpy as np
import pytest

from benchmark.evaluate.linear import linear_probe
from benchmark.evaluate.tasks import TaskData
from benchmark.evaluate.logistic import fit_logistic, reference_probabilities

GRID = [0.001, 0.01, 0.1, 1.0, 10.0]


def _data(n=600, d=40, k=4, seed=0, multi=True):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 8))
    X = latent @ rng.normal(size=(8, d)) + 0.8 * rng.normal(size=(n, d)) + 3.0   # correlated, not centred
    X[:, 0] = 2.5                                                                  # a constant feature
    drive = latent[:, :k] + rng.normal(size=(n, k))
    if multi:
        y = (drive > np.quantile(drive, [0.6, 0.8, 0.9, 0.95][:k], axis=0).diagonal()).astype(int)
    else:
        y = drive.argmax(1)
    return X, y


@pytest.mark.parametrize("multi,k", [(True, 4), (False, 4), (False, 2)])
def test_batched_fit_reaches_scikit_learns_optimum_for_every_class_and_C(multi, k):
    """Multi-label (one binary problem per class), multinomial, and a two-class task (one binary problem): the
    same objective (penalty ||W||^2 / 2, loss scaled by C) and optimum as scikit-learn's solved to 1e-10.
    A penalty off by a factor of two, or on the intercept, moves the large-C probabilities by far more."""
    X, y = _data(multi=multi, k=k)
    fit = fit_logistic(X[:400], y[:400], GRID, multi, k)
    assert fit.converged.all()
    for i, C in enumerate(GRID):
        ours = fit.probabilities(X[400:], i)
        exact = reference_probabilities(X[:400], y[:400], C, multi, X[400:], tol=1e-10)
        assert ours.shape == exact.shape == (200, k)
        assert np.abs(ours - exact).max() < 2e-3, C


def test_each_class_is_solved_as_if_alone():
    """Members of a batch do not share steps or stopping: a class fitted alone gets the probabilities it gets
    with the others."""
    X, y = _data()
    together = fit_logistic(X, y, [0.1, 10.0], True, 4)
    for c in range(4):
        alone = fit_logistic(X, y[:, [c]], [0.1, 10.0], True, 1)
        for i in range(2):
            assert np.abs(alone.probabilities(X, i)[:, 0] - together.probabilities(X, i)[:, c]).max() < 1e-4


def test_more_features_than_records_is_fitted_in_the_records_span():
    """A 1 % label fraction has fewer records than feature dimensions: the covariance is singular, and the L2
    optimum (as scikit-learn finds it) lies in the span of the records."""
    X, y = _data(n=260, d=300, seed=3)
    fit = fit_logistic(X[:60], y[:60], [1.0], True, 4)
    exact = reference_probabilities(X[:60], y[:60], 1.0, True, X[60:], tol=1e-10)
    assert np.abs(fit.probabilities(X[60:], 0) - exact).max() < 2e-3


def _task(X, y, multi):
    n = len(X)
    split = np.array(["train"] * (n // 2) + ["val"] * (n // 4) + ["test"] * (n - n // 2 - n // 4))
    k = y.shape[1] if multi else int(y.max()) + 1
    return TaskData(rows=np.arange(n), y=y, split=split, classes=[f"c{i}" for i in range(k)], multi_label=multi,
                    ids=np.arange(n).astype(str))


@pytest.mark.parametrize("multi", [True, False])
def test_linear_probe_selects_the_same_C_as_scikit_learn_and_agrees_on_test_auc(multi):
    X, y = _data(n=1200, seed=7, multi=multi)
    data = _task(X, y, multi)
    ours = linear_probe(X, data, GRID)
    ref = linear_probe(X, data, GRID, solver="sklearn")
    assert ours["selected_C"] == ref["selected_C"]
    assert abs(ours["auc"] - ref["auc"]) < 1e-3
    assert [r["C"] for r in ours["model_selection"]] == GRID
    assert np.allclose([r["val_auc"] for r in ours["model_selection"]],
                       [r["val_auc"] for r in ref["model_selection"]], atol=2e-3)
    assert ours["solver"]["not_converged"] == 0


def test_unknown_solver_is_a_clear_error():
    from benchmark.errors import BenchmarkError

    X, y = _data(n=200)
    with pytest.raises(BenchmarkError, match="unknown solver 'lbfgs'"):
        linear_probe(X, _task(X, y, True), GRID, solver="lbfgs")
