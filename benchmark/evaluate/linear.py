"""Linear evaluation (paper, Sec. 3.3): a logistic-regression classifier on frozen features.

The paper's linear layer is solved to optimality (L-BFGS, every class and C of a task at once:
benchmark.evaluate.logistic) rather than by SGD. Features are standardised with the statistics of the records
the classifier is fitted on. For each inverse regularisation strength C of the
config's grid the classifier is fitted on the train records (all of them, or a label-fraction subset), and the
C with the best macro AUC on the *whole* val split is kept (ties: the smaller C); the test split is scored once,
with that C. No choice ever looks at a test label. Multi-label tasks fit one binary classifier per class.
"""
from __future__ import annotations

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.evaluate import metrics as M
from benchmark.evaluate.logistic import fit_logistic, reference_probabilities
from benchmark.evaluate.tasks import TaskData


def linear_probe(features: np.ndarray, data: TaskData, c_grid: list[float], train: np.ndarray | None = None,
                 device="cpu", solver: str = "batched") -> dict:
    """Fit on `train` (positions into the task's rows; default: the whole train split), select C on val, score
    test. Returns the test metrics, the model selection and the test scores (probabilities)."""
    train = np.flatnonzero(data.split == "train") if train is None else np.asarray(train)
    va, te = np.flatnonzero(data.split == "val"), np.flatnonzero(data.split == "test")
    n_classes = len(data.classes)
    if data.multi_label:
        present = data.y[train].sum(0)
        bad = [data.classes[c] for c in np.flatnonzero((present == 0) | (present == len(train)))]
        if bad:
            raise BenchmarkError(f"multi-label linear probe: classes {bad} have no positive (or no negative) "
                                 f"among the {len(train)} training records")
    else:
        missing = sorted(set(range(n_classes)) - set(data.y[train].tolist()))
        if missing:
            raise BenchmarkError(f"linear probe: classes {[data.classes[m] for m in missing]} have no train record")

    if solver == "batched":
        fit = fit_logistic(features[train], data.y[train], c_grid, data.multi_label, n_classes, device=device)
        val = fit.all_probabilities(features[va])
        test_scores = lambda i: fit.probabilities(features[te], i)  # noqa: E731
        solver_info = {"max_iterations": int(fit.iterations.max()), "not_converged": int((~fit.converged).sum())}
    elif solver == "sklearn":   # the reference: one scikit-learn fit per class and C (benchmark.evaluate.logistic)
        val = [reference_probabilities(features[train], data.y[train], C, data.multi_label, features[va])
               for C in c_grid]
        test_scores = lambda i: reference_probabilities(  # noqa: E731
            features[train], data.y[train], c_grid[i], data.multi_label, features[te])
        solver_info = {"reference": "scikit-learn"}
    else:
        raise BenchmarkError(f"linear probe: unknown solver {solver!r} (batched or sklearn)")
    search = [{"C": C, "val_auc": float(M.macro_auc(data.y[va], val[i])[0])} for i, C in enumerate(c_grid)]
    best = max(range(len(c_grid)), key=lambda i: (np.nan_to_num(search[i]["val_auc"], nan=-1), -c_grid[i]))
    scores = test_scores(best)
    y = data.y[te]
    pred = M.predictions(scores, data.multi_label)
    y1h = M.onehot(y, n_classes)
    per_class = M.auc_per_class(y1h, scores)
    return {"auc": float(M.macro(per_class, y1h)[0]), "f1": float(M.macro_f1(y, pred, n_classes)[0]),
            "classes_evaluated": int(M.evaluable(y1h).sum()),
            "per_class_auc": dict(zip(data.classes, map(float, per_class[0]))), "n_train": int(len(train)),
            "selected_C": c_grid[best], "model_selection": search,
            "solver": solver_info,
            "test_scores": scores}


def headline(y: np.ndarray, score_sets: list[np.ndarray], multi_label: bool, W=None) -> dict:
    """AUC and F1 averaged over a list of score matrices of the same test records (the draws of a label
    fraction), per bootstrap resample: (B,) arrays ((1,) for the point estimate, W=None)."""
    n_classes = score_sets[0].shape[1]
    auc = np.mean([M.macro_auc(y, s, W) for s in score_sets], axis=0)
    f1 = np.mean([M.macro_f1(y, M.predictions(s, multi_label), n_classes, W) for s in score_sets], axis=0)
    return {"auc": auc, "f1": f1}


def evaluate_fractions(features: np.ndarray, data: TaskData, subsets: dict[tuple[float, int], np.ndarray],
                       c_grid: list[float], device="cpu", solver: str = "batched") -> tuple[dict, dict]:
    """The linear probe on every label-fraction subset: (metrics per fraction, the draws' means and each draw;
    test scores per (fraction, draw)). CIs and tests: benchmark.evaluate.compare, from the saved scores."""
    out, scores = {}, {}
    for fraction in sorted({f for f, _ in subsets}):
        ids, draws = sorted(d for f, d in subsets if f == fraction), []
        for draw in ids:
            result = linear_probe(features, data, c_grid, subsets[(fraction, draw)], device, solver)
            scores[(fraction, draw)] = result.pop("test_scores")
            draws.append(result)
        out[f"{fraction:g}"] = {"fraction": fraction, "auc": float(np.mean([d["auc"] for d in draws])),
                                "f1": float(np.mean([d["f1"] for d in draws])), "draws": draws}
    return out, scores
