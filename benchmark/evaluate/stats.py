"""Bootstrap confidence intervals and paired comparisons over test records.

Resamples are drawn once per task from a generator seeded by (bootstrap seed, task), and are the same for
every method, seed, fraction and draw of the task, so differences between methods are paired (Efron &
Tibshirani, 1993, ch. 16). As in the PTB-XL benchmark's bootstrap on its test fold (Strodthoff et al. 2021,
`get_appropriate_bootstrap_samples`), a resample is kept only if every evaluable class (one with a positive
and a negative among the test records) still has a positive and a negative in it, so every resample averages
over the same classes (on very small test splits, where rejection would take too long, the last resamples are
repaired instead; see bootstrap_resamples). A resample is a row of multiplicities over the test records
(benchmark.evaluate.metrics).

- CI: the percentile interval of the resampled metric (95 %: the 2.5th and 97.5th percentiles).
- Seeds: with several pre-training seeds, each resample also draws the seeds with replacement and averages the
  drawn ones (a two-level bootstrap), so CIs and tests include the spread between seeds, not only the sampling
  of test records. Draws of a label fraction are shared by all methods and are averaged, not resampled.
- Paired test of A against B: d_b = metric_A(b) - metric_B(b) on the same resamples; A and B are "not
  distinguishable" when the percentile interval of d contains 0; the two-sided p-value is
  2 min(P(d <= 0), P(d >= 0)), with the +1 correction of a finite number of resamples. The board corrects the
  marks of each table together (benchmark.evaluate.multiplicity: Benjamini-Hochberg); this module's tests are
  the uncorrected ones.
"""
from __future__ import annotations

import zlib

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.evaluate.metrics import evaluable

MAX_ROUNDS = 50  # batches of resamples drawn by rejection before the rest are repaired


def task_seed(seed: int, task: str) -> int:
    """The resampling seed of a task: the configured seed mixed with the task name (stable across runs)."""
    return int(seed) * 1_000_003 + zlib.crc32(task.encode())


def bootstrap_resamples(n: int, resamples: int, seed: int, y1h: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """((resamples, n) multiplicities of n records drawn with replacement, number repaired), reproducible from
    the seed. Given the 0/1 labels y1h (n, C), only resamples that keep a positive and a negative of every
    evaluable class: drawn by rejection (MAX_ROUNDS batches at most); if a class is so rare that too few
    resamples keep it (a test split of a hundred records), the remaining resamples are repaired instead: a
    record drawn twice is swapped for a record of the missing kind (counted, and reported by the caller)."""
    rng = np.random.default_rng(seed)
    need = None if y1h is None else y1h[:, evaluable(y1h)].astype(float)

    def draw(k: int) -> np.ndarray:
        idx = rng.integers(0, n, size=(k, n))
        flat = (np.arange(k)[:, None] * n + idx).ravel()
        return np.bincount(flat, minlength=k * n).reshape(k, n).astype(float)

    def complete(W: np.ndarray) -> np.ndarray:
        pos = W @ need
        return ((pos > 0) & (pos < W.sum(1, keepdims=True))).all(1)

    if need is None or need.shape[1] == 0:
        return draw(resamples), 0
    kept, total = [], 0
    for _ in range(MAX_ROUNDS):
        W = draw(resamples)
        W = W[complete(W)]
        kept.append(W)
        total += len(W)
        if total >= resamples:
            return np.concatenate(kept)[:resamples], 0
    rest = draw(resamples - total)
    for row in rest:
        for _ in range(4 * need.shape[1]):
            pos = row @ need
            lacking = np.flatnonzero((pos == 0) | (pos == row.sum()))
            if not len(lacking):
                break
            c = lacking[0]
            pool = np.flatnonzero(need[:, c] == (1.0 if pos[c] == 0 else 0.0))
            row[rng.choice(np.flatnonzero(row >= 2))] -= 1   # a duplicate: no record drops out
            row[rng.choice(pool)] += 1
        else:
            raise BenchmarkError("could not complete a bootstrap resample with every class; report this as a bug")
    return np.concatenate(kept + [rest]), len(rest)


def bootstrap_weights(n: int, resamples: int, seed: int, y1h: np.ndarray | None = None) -> np.ndarray:
    """The multiplicities of bootstrap_resamples (see there)."""
    return bootstrap_resamples(n, resamples, seed, y1h)[0]


def seed_draws(n_seeds: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n_seeds) seed indices drawn with replacement per resample (identity for one seed)."""
    if n_seeds == 1:
        return np.zeros((resamples, 1), dtype=int)
    return np.random.default_rng([seed, n_seeds]).integers(0, n_seeds, size=(resamples, n_seeds))


def seed_mean(per_seed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Mean over each resample's drawn seeds: per_seed (n_seeds, resamples, ...) -> (resamples, ...)."""
    return per_seed[draws.T, np.arange(per_seed.shape[1])].mean(0)


def interval(values: np.ndarray, level: float = 0.95) -> dict:
    """Percentile interval of resampled values, ignoring NaN resamples."""
    v = np.asarray(values, dtype=float)
    ok = v[~np.isnan(v)]
    if ok.size == 0:
        return {"lo": None, "hi": None, "valid": 0}
    a = (1 - level) / 2
    lo, hi = np.quantile(ok, [a, 1 - a])
    return {"lo": float(lo), "hi": float(hi), "valid": int(ok.size)}


def paired(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> dict:
    """Paired bootstrap comparison of two metrics on the same resamples (a - b)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return {"diff_lo": None, "diff_hi": None, "p": None, "distinguishable": False}
    ci = interval(d, level)
    p = min(1.0, 2 * min((np.sum(d <= 0) + 1) / (d.size + 1), (np.sum(d >= 0) + 1) / (d.size + 1)))
    return {"diff_lo": ci["lo"], "diff_hi": ci["hi"], "p": float(p),
            "distinguishable": bool(ci["lo"] > 0 or ci["hi"] < 0)}
