"""Zero-shot classification (paper, Sec. 3.4).

Prompt "this ECG indicates {class name}"; score = cosine(ECG, prompt) in the method's shared space; prediction
= the best-scoring prompt (argmax: no threshold is tuned, on test or anywhere; on a multi-label task this
predicts one class per record, which caps recall and F1 of records with several). Per class: AUC of the cosine
(one-vs-rest), ACC and F1 of the binary decision "predicted == class"; the averages are unweighted means over
the evaluable classes (benchmark.evaluate.metrics). Test split only; nothing is fitted.
"""
from __future__ import annotations

import numpy as np

from benchmark.evaluate import metrics as M

KEYS = ("auc", "acc", "f1")


def zero_shot_scores(ecg_emb: np.ndarray, prompt_emb: np.ndarray) -> np.ndarray:
    a = ecg_emb / np.maximum(np.linalg.norm(ecg_emb, axis=1, keepdims=True), 1e-12)
    b = prompt_emb / np.maximum(np.linalg.norm(prompt_emb, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def per_class(y: np.ndarray, scores: np.ndarray, W=None) -> dict[str, np.ndarray]:
    """(B, C) AUC, ACC and F1 of every class under bootstrap weights W (B, n) (None: the point estimate)."""
    n_classes = scores.shape[1]
    truth, hit = M.onehot(y, n_classes), M.onehot(scores.argmax(1), n_classes)
    return {"auc": M.auc_per_class(truth, scores, W), "acc": M.accuracy_per_class(truth, hit, W),
            "f1": M.f1_per_class(truth, hit, W)}


def zero_shot_metrics(y: np.ndarray, scores: np.ndarray, classes: list[str]) -> dict:
    """Per-class AUC / ACC / F1 and their means over the evaluable classes (CIs: benchmark.evaluate.compare)."""
    point = per_class(y, scores)
    y1h = M.onehot(y, len(classes))
    keep = M.evaluable(y1h)
    return {"per_class": {c: {k: float(point[k][0, i]) for k in KEYS} | {"evaluable": bool(keep[i])}
                          for i, c in enumerate(classes)},
            "average": {k: float(M.macro(point[k], y1h)[0]) for k in KEYS},
            "classes_evaluated": int(keep.sum())}
