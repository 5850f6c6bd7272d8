"""Confidence intervals and paired comparisons between the methods of a task: what the leaderboard marks.

For every table cell (linear: AUC and F1 at each label fraction; zero-shot: each class's and the average AUC,
ACC and F1) it reads the saved test scores of every method and seed, and on the task's shared bootstrap
resamples (benchmark.evaluate.stats) computes each method's metric (draws of a fraction averaged, seeds drawn
with replacement and averaged), its percentile CI, and paired tests against random init and against the best
row (the highest point estimate). Point estimates are the plain means over seeds (and draws). A method's seeds
are its own (`seeds`: method -> seeds; a published checkpoint has one, benchmark.method.run_seeds).
"""
from __future__ import annotations

import numpy as np

from benchmark import paths
from benchmark.errors import BenchmarkError
from benchmark.evaluate import metrics as M
from benchmark.evaluate.linear import headline
from benchmark.evaluate.stats import bootstrap_resamples, interval, paired, seed_draws, seed_mean, task_seed
from benchmark.evaluate.zeroshot import KEYS, per_class
from benchmark.io import read_arrays

BASELINE = "random_init"
PAPER_ORDER = ["random_init", "cpc", "simclr", "byol", "simsiam", "tstcc", "clocs", "astcl", "etp"]


def method_order(methods) -> list[str]:
    """Rows in the paper's order (its Table 1), other methods after them by name."""
    return sorted(methods, key=lambda m: (PAPER_ORDER.index(m) if m in PAPER_ORDER else len(PAPER_ORDER), m))


def resamples(config: dict, task: str, y1h: np.ndarray) -> tuple[np.ndarray, int]:
    """The task's shared bootstrap resamples (and how many had to be repaired: benchmark.evaluate.stats)."""
    b = config["evaluation"]["bootstrap"]
    return bootstrap_resamples(len(y1h), b["resamples"], task_seed(b["seed"], task), y1h)


def load_predictions(config: dict, kind: str, task: str, seeds: dict[str, list[int]]) -> tuple[np.ndarray, dict]:
    """The test labels (checked identical in every file: the comparisons are paired) and each (method, seed)'s
    saved scores."""
    preds, y = {}, None
    for m, method_seeds in seeds.items():
        for s in method_seeds:
            path = paths.predictions(config, kind, m, s, task)
            preds[(m, s)] = read_arrays(path)
            if y is None:
                y = preds[(m, s)]["y"]
            elif not np.array_equal(y, preds[(m, s)]["y"]):
                raise BenchmarkError(f"{path} holds other test labels than the task's other methods (stale file?); "
                                     "delete it and re-run")
    return y, preds


def _cell(values: dict[str, np.ndarray], point: dict[str, float], level: float, external=()) -> dict:
    """CIs and paired tests of one table cell: values[method] = (B,) resampled metric. The best row is the best
    of the rows pre-trained here: a published checkpoint (`external`), trained elsewhere on other data, is
    compared with it but never becomes the reference the others are tested against."""
    candidates = [m for m in point if m not in external] or list(point)
    best = max(candidates, key=lambda m: np.nan_to_num(point[m], nan=-np.inf))
    out = {"best": best, "methods": {}}
    for m, v in values.items():
        entry = {"value": None if np.isnan(point[m]) else point[m], "ci": interval(v, level)}
        if m != best:
            entry["vs_best"] = paired(v, values[best], level)
        if BASELINE in values and m != BASELINE:
            entry["vs_random_init"] = paired(v, values[BASELINE], level)
        out["methods"][m] = entry
    return out


def _seed_draws(config: dict, seeds: dict[str, list[int]], resamples: int) -> dict[str, np.ndarray]:
    """Each method's seed draws per resample (methods with as many seeds share them)."""
    return {m: seed_draws(len(s), resamples, config["evaluation"]["bootstrap"]["seed"]) for m, s in seeds.items()}


def _map(fn, items: list, threads: int | None) -> list:
    """fn over items, on `threads` threads (the metrics spend their time in numpy, which releases the GIL)."""
    if not threads or threads < 2 or len(items) < 2:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, items))


def compare_linear(config: dict, task: str, seeds: dict[str, list[int]], external=(), threads: int | None = None) -> dict:
    ev = config["evaluation"]
    level, methods = ev["bootstrap"]["level"], list(seeds)
    y, preds = load_predictions(config, "linear", task, seeds)
    multi = y.ndim == 2
    n_classes = next(iter(preds.values()))["scores_f1_d0"].shape[1]
    W, repaired = resamples(config, task, M.onehot(y, n_classes))
    draws = _seed_draws(config, seeds, len(W))
    out = {"resamples_repaired": repaired}
    for fraction in sorted(ev["label_fractions"]):
        keys = [f"scores_f{fraction:g}_d{d}" for d in range(1 if fraction >= 1 else ev["fraction_draws"])]
        values, point = {"auc": {}, "f1": {}}, {"auc": {}, "f1": {}}
        runs = [(m, s) for m in methods for s in seeds[m]]
        resampled = dict(zip(runs, _map(lambda r: headline(y, [preds[r][k] for k in keys], multi, W), runs, threads)))
        for m in methods:
            boot = [resampled[(m, s)] for s in seeds[m]]
            once = [headline(y, [preds[(m, s)][k] for k in keys], multi) for s in seeds[m]]
            for metric in ("auc", "f1"):
                values[metric][m] = seed_mean(np.stack([b[metric] for b in boot]), draws[m])
                point[metric][m] = float(np.mean([o[metric][0] for o in once]))
        out[f"{fraction:g}"] = {metric: _cell(values[metric], point[metric], level, external)
                                for metric in ("auc", "f1")}
    return out


def compare_zeroshot(config: dict, task: str, seeds: dict[str, list[int]], classes: list[str], external=(),
                     threads: int | None = None) -> dict:
    ev = config["evaluation"]
    level, methods = ev["bootstrap"]["level"], list(seeds)
    y, preds = load_predictions(config, "zeroshot", task, seeds)
    y1h = M.onehot(y, len(classes))
    W, repaired = resamples(config, task, y1h)
    draws = _seed_draws(config, seeds, len(W))
    boot, once = {}, {}
    runs = [(m, s) for m in methods for s in seeds[m]]
    resampled = dict(zip(runs, _map(lambda r: per_class(y, preds[r]["scores"], W), runs, threads)))
    for m in methods:
        per_seed = [resampled[(m, s)] for s in seeds[m]]
        boot[m] = {k: seed_mean(np.stack([p[k] for p in per_seed]), draws[m]) for k in KEYS}       # (B, C)
        once[m] = {k: np.mean([per_class(y, preds[(m, s)]["scores"])[k] for s in seeds[m]], axis=0) for k in KEYS}
    out = {"average": {}, "per_class": {}, "classes_evaluated": int(M.evaluable(y1h).sum()),
           "resamples_repaired": repaired}
    for k in KEYS:
        out["average"][k] = _cell({m: M.macro(boot[m][k], y1h) for m in methods},
                                  {m: float(M.macro(once[m][k], y1h)[0]) for m in methods}, level, external)
    for i, c in enumerate(classes):
        out["per_class"][c] = {k: _cell({m: boot[m][k][:, i] for m in methods},
                                        {m: float(once[m][k][0, i]) for m in methods}, level, external)
                               for k in KEYS}
    return out
