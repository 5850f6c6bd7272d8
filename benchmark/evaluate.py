"""Downstream evaluation (DESIGN.md, "Evaluation protocol").

Linear: the frozen encoder's 512-d features are extracted once per (method, seed, task); a logistic-
regression classifier (the paper's linear layer, solved exactly rather than by SGD) is fitted on the train
split for each inverse regularisation strength C of the config's grid, the C with the best macro AUC on the
val split is kept, and the test split is scored once. AUC = macro one-vs-rest ROC-AUC, F1 = macro F1 of
the argmax prediction (paper, Sec. 3.3).

Zero-shot (paper, Sec. 3.4): prompt "this ECG indicates {class}", score = cosine(ECG, prompt) in the shared
space, prediction = best-scoring prompt. Per class: AUC of the cosine (one-vs-rest), ACC and F1 of the binary
"predicted == class"; the average is the unweighted mean over classes. Test split only; nothing is tuned.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.preprocessing import StandardScaler

from benchmark.data.store import ECGStore
from benchmark.errors import BenchmarkError


@dataclass
class TaskData:
    """The records of a task: row indices into the store, labels, and split of each row."""
    rows: np.ndarray
    y: np.ndarray        # (n,) class index for single-label tasks, (n, C) 0/1 for multi-label tasks
    split: np.ndarray
    classes: list[str]
    multi_label: bool


def task_data(store: ECGStore, task: dict, name: str) -> TaskData:
    classes = list(task["classes"])
    sets = store.label_sets()
    split = store.records["split"].to_numpy()
    if task["selection"] == "single_label":  # the paper: records of exactly one category (Sec. 3.1)
        rows = np.array([i for i, s in enumerate(sets) if len(s) == 1 and next(iter(s)) in classes], dtype=int)
        y = np.array([classes.index(next(iter(sets[i]))) for i in rows], dtype=int)
    else:  # multi-label: every record with at least one of the classes
        rows = np.array([i for i, s in enumerate(sets) if s & set(classes)], dtype=int)
        y = np.array([[c in sets[i] for c in classes] for i in rows], dtype=int).reshape(len(rows), len(classes))
    data = TaskData(rows, y, split[rows], classes, task["selection"] == "multi_label")
    for s in ("train", "val", "test"):
        n = int((data.split == s).sum())
        if n == 0:
            raise BenchmarkError(f"task {name}: no records in the {s} split of dataset {task['dataset']}")
    return data


def split_sizes(data: TaskData) -> dict:
    return {s: int((data.split == s).sum()) for s in ("train", "val", "test")}


# torch is imported inside the two functions that need it: the linear probe (sklearn only) starts faster.
def embed(fn, signals, rows: np.ndarray, device, batch_size: int) -> np.ndarray:
    """Apply `fn` (an encoder or an ECG projection) to the given records in batches, in eval mode."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(signals[rows[i:i + batch_size]])).to(device)
            out.append(fn(x).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def load_weights(module, path, what: str) -> None:
    from safetensors.torch import load_file

    try:
        module.load_state_dict(load_file(str(path)))
    except (FileNotFoundError, RuntimeError) as e:
        raise BenchmarkError(f"cannot load {what} from {path}: {str(e).splitlines()[0]}; re-run its pre-training") from None
    module.eval()


# ------------------------------------------------------------------------------------------------ metrics
def macro_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Macro one-vs-rest ROC-AUC over the classes present (positive and negative) in `y`."""
    per_class = one_vs_rest_auc(y, scores)
    valid = [a for a in per_class if not np.isnan(a)]
    return float(np.mean(valid)) if valid else float("nan")


def one_vs_rest_auc(y: np.ndarray, scores: np.ndarray) -> list[float]:
    onehot = y if y.ndim == 2 else np.eye(scores.shape[1], dtype=int)[y]
    return [float(roc_auc_score(onehot[:, c], scores[:, c])) if 0 < onehot[:, c].sum() < len(onehot) else float("nan")
            for c in range(scores.shape[1])]


def macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    if y.ndim == 2:
        return float(f1_score(y, pred, average="macro", zero_division=0))
    return float(f1_score(y, pred, labels=list(range(n_classes)), average="macro", zero_division=0))


# ------------------------------------------------------------------------------------------------ linear
def linear_probe(features: np.ndarray, data: TaskData, c_grid: list[float], max_iter: int = 2000) -> dict:
    tr, va, te = (data.split == s for s in ("train", "val", "test"))
    scaler = StandardScaler().fit(features[tr])
    X = scaler.transform(features)
    n_classes = len(data.classes)
    if data.multi_label:
        present = data.y[tr].sum(0)
        if (present == 0).any() or (present == tr.sum()).any():
            raise BenchmarkError("multi-label linear probe: a class has no positive (or no negative) train record")

    def fit(C):
        if data.multi_label:
            models = [LogisticRegression(C=C, max_iter=max_iter).fit(X[tr], data.y[tr, c]) for c in range(n_classes)]
            return lambda Z: np.stack([m.predict_proba(Z)[:, 1] for m in models], 1)
        missing = sorted(set(range(n_classes)) - set(data.y[tr].tolist()))
        if missing:
            raise BenchmarkError(f"linear probe: classes {[data.classes[m] for m in missing]} have no train record")
        m = LogisticRegression(C=C, max_iter=max_iter).fit(X[tr], data.y[tr])
        return m.predict_proba

    search = []
    for C in c_grid:
        predict = fit(C)
        search.append({"C": C, "val_auc": macro_auc(data.y[va], predict(X[va]))})
    best = max(search, key=lambda r: (np.nan_to_num(r["val_auc"], nan=-1), -r["C"]))
    proba = fit(best["C"])(X[te])
    pred = (proba >= 0.5).astype(int) if data.multi_label else proba.argmax(1)
    return {"auc": macro_auc(data.y[te], proba), "f1": macro_f1(data.y[te], pred, n_classes),
            "per_class_auc": dict(zip(data.classes, one_vs_rest_auc(data.y[te], proba))),
            "selected_C": best["C"], "model_selection": search}


# ------------------------------------------------------------------------------------------------ zero-shot
def zero_shot_scores(ecg_emb: np.ndarray, prompt_emb: np.ndarray) -> np.ndarray:
    a = ecg_emb / np.maximum(np.linalg.norm(ecg_emb, axis=1, keepdims=True), 1e-12)
    b = prompt_emb / np.maximum(np.linalg.norm(prompt_emb, axis=1, keepdims=True), 1e-12)
    return a @ b.T


def zero_shot_metrics(y: np.ndarray, scores: np.ndarray, classes: list[str]) -> dict:
    """Per-class AUC / ACC / F1 of the argmax-prompt prediction, and their unweighted means."""
    pred = scores.argmax(1)
    onehot = y if y.ndim == 2 else np.eye(len(classes), dtype=int)[y]
    aucs = one_vs_rest_auc(onehot, scores)
    per_class = {}
    for c, name in enumerate(classes):
        truth, hit = onehot[:, c].astype(bool), pred == c
        per_class[name] = {"auc": aucs[c], "acc": float(accuracy_score(truth, hit)),
                           "f1": float(f1_score(truth, hit, zero_division=0))}
    average = {k: float(np.nanmean([v[k] for v in per_class.values()])) for k in ("auc", "acc", "f1")}
    return {"per_class": per_class, "average": average}
