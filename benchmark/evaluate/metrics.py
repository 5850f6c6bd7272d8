"""The metrics of the paper (Sec. 3.3-3.4), computed on weighted records so that a point estimate and every
bootstrap resample go through the same code.

A resample of n test records is a row of multiplicities w (how often each record was drawn); the point
estimate is the row of ones. All functions take W of shape (B, n) and return one value per row (and class).
- Macro averages run over the *evaluable* classes: those with a positive and a negative among the test
  records (benchmark.evaluate.stats.evaluable; every bootstrap resample keeps them), the same classes for AUC,
  F1 and ACC. A class of the task absent from the test records is reported per class but not averaged.
- AUC: one-vs-rest ROC-AUC per class, the Mann-Whitney statistic with ties counted one half (equal to
  sklearn's roc_auc_score); NaN for a class without positives or without negatives.
- F1: per class 2TP / (2TP + FP + FN), 0 when a class is never true and never predicted (sklearn's
  zero_division=0). Single-label tasks: the prediction is the argmax; multi-label: probability >= 0.5.
- Zero-shot per class: AUC of the cosine, ACC and F1 of the binary "predicted class == c".
"""
from __future__ import annotations

import warnings

import numpy as np



def _weights(W, n: int) -> np.ndarray:
    return np.ones((1, n)) if W is None else np.asarray(W, dtype=float)


def onehot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, C) 0/1 labels from class indices (single-label) or as given (multi-label)."""
    return y.astype(int) if y.ndim == 2 else np.eye(n_classes, dtype=int)[y]


def auc_per_class(y1h: np.ndarray, scores: np.ndarray, W=None) -> np.ndarray:
    """(B, C) one-vs-rest AUC of `scores` (n, C) against 0/1 labels `y1h` (n, C) under weights W (B, n).

    Per class: sum over positives i of w_i x (the negative weight scored below s_i + half the negative weight
    tied with it), over (positive weight x negative weight). The negatives' weights are summed cumulatively in
    score order once, and each positive looks its two sums up (searchsorted, left and right of its score): one
    pass over B x n, vectorised across the resamples. Bootstrap weights are small integers (multiplicities), so
    the sums are exact integers (int16 where they fit): a quarter of float64's memory traffic, and the same
    result; the division is float64."""
    W = _weights(W, len(scores))
    if W.size and W.min() >= 0 and W.max() <= 255 and np.array_equal(W, np.round(W)):
        # sums of a row stay below n x 255; their pair counts below n^2 x 255^2 / 2
        total = np.int16 if W.sum(1).max() <= np.iinfo(np.int16).max else np.int64
        pair = np.int32 if 2.0 * W.sum(1).max() ** 2 < np.iinfo(np.int32).max else np.int64
    else:
        total = pair = np.float64
    WT = np.ascontiguousarray(W.T, dtype=total)          # records as rows: the sums run across resamples at once
    out = np.full((W.shape[0], scores.shape[1]), np.nan)
    for c in range(scores.shape[1]):
        pos = y1h[:, c].astype(bool)
        if pos.all() or not pos.any():
            continue
        s, neg_idx, pos_idx = scores[:, c], np.flatnonzero(~pos), np.flatnonzero(pos)
        order = neg_idx[np.argsort(s[neg_idx], kind="stable")]
        below = np.zeros((len(order) + 1, W.shape[0]), dtype=total)     # below[q]: weight of the q lowest negatives
        np.cumsum(np.take(WT, order, axis=0), axis=0, out=below[1:])
        lo = np.searchsorted(s[order], s[pos_idx], side="left")
        hi = np.searchsorted(s[order], s[pos_idx], side="right")
        twice = np.take(below, lo, axis=0).astype(pair) + np.take(below, hi, axis=0)   # 2 x (below + half tied)
        count = (np.take(WT, pos_idx, axis=0).astype(pair) * twice).sum(0) / 2
        denom = below[-1].astype(np.float64) * WT[pos_idx].sum(0, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, c] = np.where(denom > 0, count / denom, np.nan)
    return out


def nanmean_rows(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN (NaN when a row has no value)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=-1)


def evaluable(y1h: np.ndarray) -> np.ndarray:
    """Classes with at least one positive and one negative among the records (the ones a macro average uses)."""
    pos = y1h.sum(0)
    return (pos > 0) & (pos < len(y1h))


def macro(per_class: np.ndarray, y1h: np.ndarray) -> np.ndarray:
    """(B,) mean of (B, C) per-class values over the evaluable classes of y1h (NaN where a value is undefined)."""
    return nanmean_rows(per_class[:, evaluable(y1h)])


def macro_auc(y: np.ndarray, scores: np.ndarray, W=None) -> np.ndarray:
    y1h = onehot(y, scores.shape[1])
    return macro(auc_per_class(y1h, scores, W), y1h)


def _f1(tp, fp, fn) -> np.ndarray:
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / denom, 0.0)


def f1_per_class(y1h: np.ndarray, pred1h: np.ndarray, W=None) -> np.ndarray:
    """(B, C) F1 of binary predictions `pred1h` (n, C) against `y1h` (n, C) under weights W (B, n)."""
    W = _weights(W, len(y1h))
    t, p = y1h.astype(float), pred1h.astype(float)
    tp, fp, fn = W @ (t * p), W @ ((1 - t) * p), W @ (t * (1 - p))
    return _f1(tp, fp, fn)


def macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int, W=None) -> np.ndarray:
    y1h = onehot(y, n_classes)
    return macro(f1_per_class(y1h, onehot(pred, n_classes), W), y1h)


def accuracy_per_class(y1h: np.ndarray, pred1h: np.ndarray, W=None) -> np.ndarray:
    """(B, C) accuracy of each class's binary decision."""
    W = _weights(W, len(y1h))
    return (W @ (y1h == pred1h).astype(float)) / W.sum(1, keepdims=True)


def predictions(scores: np.ndarray, multi_label: bool) -> np.ndarray:
    """Argmax class (single-label) or scores >= 0.5 (multi-label, probabilities)."""
    return (scores >= 0.5).astype(int) if multi_label else scores.argmax(1)
