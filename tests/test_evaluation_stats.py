"""Label fractions, bootstrap CIs and paired tests: numbers that would be wrong if the code were wrong."""
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from benchmark.evaluate import metrics as M
from benchmark.evaluate.stats import bootstrap_weights, interval, paired, task_seed
from benchmark.evaluate.tasks import TaskData, label_subsets, subset_positions


def _resample_rows(W):
    """The explicit index list of each weighted resample (record i repeated W[b, i] times)."""
    return [np.repeat(np.arange(W.shape[1]), W[b].astype(int)) for b in range(W.shape[0])]


def test_weighted_metrics_equal_sklearn_on_the_resampled_records():
    rng = np.random.default_rng(0)
    n, C = 60, 4
    y = rng.integers(0, C, n)
    scores = np.round(rng.random((n, C)), 1)  # rounded: many ties
    W = bootstrap_weights(n, 20, seed=3)
    auc, f1 = M.auc_per_class(M.onehot(y, C), scores, W), M.macro_f1(y, scores.argmax(1), C, W)
    for b, idx in enumerate(_resample_rows(W)):
        for c in range(C):
            truth = (y[idx] == c).astype(int)
            expected = roc_auc_score(truth, scores[idx, c]) if 0 < truth.sum() < len(idx) else np.nan
            assert auc[b, c] == pytest.approx(expected, nan_ok=True)
        assert f1[b] == pytest.approx(f1_score(y[idx], scores[idx].argmax(1), labels=range(C), average="macro",
                                                zero_division=0))
    # multi-label F1 (threshold 0.5), point estimate
    Y = rng.integers(0, 2, (n, C))
    assert M.macro_f1(Y, (scores >= 0.5).astype(int), C)[0] == pytest.approx(
        f1_score(Y, (scores >= 0.5).astype(int), average="macro", zero_division=0))


def test_bootstrap_is_reproducible_and_shared():
    a, b = bootstrap_weights(50, 100, task_seed(0, "t")), bootstrap_weights(50, 100, task_seed(0, "t"))
    assert np.array_equal(a, b) and (a.sum(1) == 50).all()
    assert not np.array_equal(a, bootstrap_weights(50, 100, task_seed(0, "other task")))


def test_ci_of_perfect_scores_is_a_point_and_a_known_case_matches_the_explicit_loop():
    y = np.array([0, 1] * 10)
    perfect = np.stack([1 - y, y], 1).astype(float)
    W = bootstrap_weights(len(y), 200, seed=1)
    ci = interval(M.macro_auc(y, perfect, W))
    assert (ci["lo"], ci["hi"], ci["valid"]) == (1.0, 1.0, 200)
    # a noisy case: the percentile interval of the explicit per-resample AUCs
    rng = np.random.default_rng(5)
    scores = np.stack([-rng.normal(y, 1.0), rng.normal(y, 1.0)], 1)
    values = [np.mean([roc_auc_score(y[i] == c, scores[i, c]) for c in (0, 1)]) for i in _resample_rows(W)]
    ci = interval(M.macro_auc(y, scores, W))
    assert (ci["lo"], ci["hi"]) == pytest.approx(tuple(np.quantile(values, [0.025, 0.975])))
    assert ci["lo"] < M.macro_auc(y, scores)[0] < ci["hi"]


def test_paired_test_finds_a_planted_difference_and_not_a_planted_tie():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    good = np.stack([-(y + rng.normal(0, 0.5, 300)), y + rng.normal(0, 0.5, 300)], 1)
    noise = rng.normal(size=(300, 2))
    W = bootstrap_weights(300, 1000, seed=0)
    diff = paired(M.macro_auc(y, good, W), M.macro_auc(y, noise, W))
    assert diff["distinguishable"] and diff["diff_lo"] > 0.2 and diff["p"] < 0.01
    # the same scores under another name (a monotone transform): the same AUC on every resample
    tie = paired(M.macro_auc(y, good, W), M.macro_auc(y, 3 * good + 1, W))
    assert not tie["distinguishable"] and tie["p"] == 1.0 and tie["diff_lo"] == tie["diff_hi"] == 0
    # two equally informative but different scorers: no difference found
    other = np.stack([-(y + rng.normal(0, 0.5, 300)), y + rng.normal(0, 0.5, 300)], 1)
    assert not paired(M.macro_auc(y, good, W), M.macro_auc(y, other, W))["distinguishable"]


def test_resamples_keep_every_evaluable_class():
    """A class with a single test positive: a plain bootstrap loses it in ~37% of resamples (its F1 then reads 0
    and the macro AUC averages fewer classes); kept resamples all contain it, so a perfect scorer's CI is a point."""
    y = np.array([0] * 60 + [1] * 39 + [2])
    y1h = M.onehot(y, 3)
    plain = bootstrap_weights(100, 500, seed=0)
    assert ((plain @ y1h)[:, 2] == 0).mean() > 0.25
    W = bootstrap_weights(100, 500, seed=0, y1h=y1h)
    assert len(W) == 500 and ((W @ y1h) > 0).all()
    perfect = y1h.astype(float)
    f1, auc = M.macro_f1(y, perfect.argmax(1), 3, W), M.macro_auc(y, perfect, W)
    assert (interval(f1)["lo"], interval(auc)["lo"]) == (1.0, 1.0)
    # twelve classes with a single positive among 40 records: rejection keeps too few (0.64^12), so the
    # remaining resamples are repaired (a duplicate swapped for a missing positive); all keep every class
    from benchmark.evaluate.stats import bootstrap_resamples

    rare = np.zeros((40, 13), dtype=int)
    rare[np.arange(12), np.arange(12)] = 1
    rare[12:, 12] = 1
    W, repaired = bootstrap_resamples(40, 300, 0, rare)
    assert 0 < repaired <= 300 and W.shape == (300, 40) and (W.sum(1) == 40).all()
    assert ((W @ rare) > 0).all() and ((W @ (1 - rare)) > 0).all()
    assert np.array_equal(W, bootstrap_resamples(40, 300, 0, rare)[0])  # still reproducible
    # a class absent from the test records is not averaged (the same classes for AUC, F1 and ACC)
    absent = np.array([0, 1] * 20)
    assert M.macro_f1(absent, absent, 3)[0] == 1.0 and M.macro_auc(absent, M.onehot(absent, 3).astype(float))[0] == 1.0


def _write_predictions(cfg, kind, task, scores_by_method, y):
    from benchmark import paths

    for (m, s), scores in scores_by_method.items():
        path = paths.predictions(cfg, kind, m, s, task)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, y=y, **scores)


def test_compare_averages_seeds_and_draws_and_marks_the_planted_structure(tmp_path):
    from benchmark.evaluate.compare import compare_linear, compare_zeroshot

    cfg = {"results_dir": str(tmp_path), "seeds": [0, 1],
           "evaluation": {"label_fractions": [0.5, 1.0], "fraction_draws": 2,
                          "bootstrap": {"resamples": 400, "seed": 0, "level": 0.95}}}
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 240)
    informative = lambda noise: np.eye(3)[y] + rng.normal(0, noise, (240, 3))  # noqa: E731
    methods = {"random_init": 5.0, "etp": 0.6, "twin": 0.6}   # etp and its twin equally good, random init noise
    preds = {(m, s): {"scores_f1_d0": informative(n), "scores_f0.5_d0": informative(n), "scores_f0.5_d1": informative(n)}
             for m, n in methods.items() for s in (0, 1)}
    _write_predictions(cfg, "linear", "t", preds, y)
    out = compare_linear(cfg, "t", {m: [0, 1] for m in methods})
    cell = out["1"]["auc"]
    expected = np.mean([np.mean([roc_auc_score(y == c, preds[("etp", s)]["scores_f1_d0"][:, c]) for c in range(3)])
                        for s in (0, 1)])
    assert cell["methods"]["etp"]["value"] == pytest.approx(expected)            # mean over seeds
    half = np.mean([np.mean([np.mean([roc_auc_score(y == c, preds[("etp", s)][f"scores_f0.5_d{d}"][:, c])
                                      for c in range(3)]) for d in (0, 1)]) for s in (0, 1)])
    assert out["0.5"]["auc"]["methods"]["etp"]["value"] == pytest.approx(half)  # ... and over draws
    assert cell["best"] in ("etp", "twin")
    other = "twin" if cell["best"] == "etp" else "etp"
    assert not cell["methods"][other]["vs_best"]["distinguishable"]              # a planted tie
    assert cell["methods"][other]["vs_random_init"]["distinguishable"]           # a planted difference
    assert cell["methods"]["random_init"]["vs_best"]["distinguishable"]
    ci = cell["methods"]["etp"]["ci"]
    assert ci["lo"] < cell["methods"]["etp"]["value"] < ci["hi"]

    # a published checkpoint (one seed) that beats every row is compared with the best row trained here, and is
    # never made the reference the others are tested against
    preds[("ext", 0)] = {k: informative(0.1) for k in ("scores_f1_d0", "scores_f0.5_d0", "scores_f0.5_d1")}
    _write_predictions(cfg, "linear", "t", {("ext", 0): preds[("ext", 0)]}, y)
    with_ext = compare_linear(cfg, "t", {**{m: [0, 1] for m in methods}, "ext": [0]}, external=["ext"])["1"]["auc"]
    assert with_ext["best"] in ("etp", "twin") and with_ext["methods"]["ext"]["value"] > with_ext["methods"]["etp"]["value"]
    assert with_ext["methods"]["ext"]["vs_best"]["distinguishable"] and "vs_best" not in with_ext["methods"][with_ext["best"]]

    zs = {(m, s): {"scores": preds[(m, s)]["scores_f1_d0"]} for m in ("random_init", "etp") for s in (0, 1)}
    _write_predictions(cfg, "zeroshot", "t", zs, y)
    z = compare_zeroshot(cfg, "t", {"random_init": [0, 1], "etp": [0, 1]}, ["a", "b", "c"])
    assert z["average"]["auc"]["best"] == "etp" and z["classes_evaluated"] == 3
    assert z["per_class"]["a"]["auc"]["methods"]["etp"]["vs_random_init"]["distinguishable"]
    # predictions of another test set cannot be paired
    _write_predictions(cfg, "zeroshot", "t", {("etp", 1): {"scores": zs[("etp", 1)]["scores"][:-1]}}, y[:-1])
    with pytest.raises(Exception, match="other test labels"):
        compare_zeroshot(cfg, "t", {"random_init": [0, 1], "etp": [0, 1]}, ["a", "b", "c"])


def _task(multi=False, n=400, seed=0):
    rng = np.random.default_rng(seed)
    split = np.array(["train"] * 300 + ["val"] * 50 + ["test"] * 50)
    if multi:
        y = (rng.random((n, 4)) < [0.5, 0.2, 0.05, 0.01]).astype(int)
        y[np.arange(n), rng.integers(0, 4, n)] |= 1
        y[:300][:2, 3] = 1  # the rare class has a couple of train positives
    else:
        y = rng.choice(4, n, p=[0.6, 0.3, 0.08, 0.02])
    return TaskData(np.arange(n), y, split, ["a", "b", "c", "d"], multi, np.array([f"r{i}" for i in range(n)]))


@pytest.mark.parametrize("multi", [False, True])
def test_label_subsets_are_stratified_keep_every_class_and_are_the_same_for_every_run(multi):
    data = _task(multi)
    table = label_subsets(data, "task", [0.01, 0.1, 1.0], draws=3, seed=0)
    assert table.equals(label_subsets(data, "task", [1.0, 0.1, 0.01], draws=3, seed=0))  # same rows, any order
    assert set(map(tuple, table[["fraction", "draw"]].drop_duplicates().to_numpy())) == \
        {(0.01, 0), (0.01, 1), (0.01, 2), (0.1, 0), (0.1, 1), (0.1, 2), (1.0, 0)}
    train = data.split == "train"
    y_train = data.y[train]
    for (f, d), part in table.groupby(["fraction", "draw"]):
        pos = subset_positions(data, table, f, d, "subsets.csv")
        y = data.y[pos]
        if multi:
            assert (y.sum(0) >= 1).all() and ((1 - y).sum(0) >= 1).all()  # a positive and a negative per class
        else:
            assert set(y.tolist()) == {0, 1, 2, 3}                         # every class kept
            share = np.bincount(y, minlength=4) / len(y)
            if f == 0.1:  # proportions follow the train split's (stratified)
                assert share == pytest.approx(np.bincount(y_train, minlength=4) / len(y_train), abs=0.04)
        assert len(pos) == pytest.approx(f * train.sum(), abs=4 + (4 if multi else 0))
    draws = [set(table[(table["fraction"] == 0.1) & (table["draw"] == d)]["ecg_id"]) for d in range(3)]
    assert draws[0] != draws[1] != draws[2]
    assert label_subsets(data, "task", [0.1], 1, seed=1)["ecg_id"].tolist() != \
        table[(table["fraction"] == 0.1) & (table["draw"] == 0)]["ecg_id"].tolist()


def test_subset_file_listing_foreign_or_non_train_records_is_refused():
    data = _task()
    bad = pd.DataFrame({"fraction": [0.1, 0.1], "draw": [0, 0], "ecg_id": ["r1", "r399"]})  # r399 is a test record
    with pytest.raises(Exception, match="outside the train split"):
        subset_positions(data, bad, 0.1, 0, "subsets.csv")
    with pytest.raises(Exception, match="does not hold"):
        subset_positions(data, bad.assign(ecg_id=["zz", "r1"]), 0.1, 0, "subsets.csv")


def _table1(ps: dict[str, float], fraction: str = "1") -> dict:
    """A task's statistics whose column (linear AUC at `fraction`) holds one test against random init per method,
    each with the uncorrected p given and an interval that excludes 0."""
    methods = {m: {"vs_random_init": {"diff_lo": 0.01, "diff_hi": 0.2, "p": p, "distinguishable": True}}
               for m, p in ps.items()}
    return {"task": "t", "linear": {fraction: {"auc": {"methods": methods}, "f1": {"methods": {}}}}}


def test_marks_are_benjamini_hochberg_over_a_table_with_the_uncorrected_p_kept():
    from benchmark.evaluate.multiplicity import correct

    # p 0.01, 0.04, 0.5 in one table: BH-adjusted 0.03, 0.06, 0.5 (by hand: p_(k) m / k, then the running minimum
    # from the largest), so at alpha 0.05 only the first stays an arrow
    stats = {"a": _table1({"x": 0.01, "y": 0.04}), "b": _table1({"z": 0.5})}
    out = correct(stats, 0.95)
    x, y = (out["a"]["linear"]["1"]["auc"]["methods"][m]["vs_random_init"] for m in ("x", "y"))
    assert x["p_adjusted"] == pytest.approx(0.03) and x["distinguishable"]
    assert y["p_adjusted"] == pytest.approx(0.06) and not y["distinguishable"] and y["distinguishable_uncorrected"]
    assert y["p"] == 0.04 and y["family"] == "Table 1 (linear, 100 % of the labels)"
    assert out["a"]["correction"]["method"] == "Benjamini-Hochberg" and out["a"]["correction"]["families"] == {
        "Table 1 (linear, 100 % of the labels)": 3}
    assert stats["a"]["linear"]["1"]["auc"]["methods"]["y"]["vs_random_init"]["distinguishable"]  # input untouched
    # another table is another family: p 0.04 alone stays an arrow there
    alone = correct({"a": _table1({"y": 0.04}, fraction="0.1")}, 0.95)
    assert alone["a"]["linear"]["0.1"]["auc"]["methods"]["y"]["vs_random_init"]["distinguishable"]
