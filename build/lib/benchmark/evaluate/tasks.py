"""What a task evaluates: its records, labels and splits, and the label-fraction subsets of its train split.

A task (a preset's `tasks.<name>`) reads one label column of a dataset's store: the dataset's default labels
(`labels`: PTB-XL superclasses, CPSC2018 classes, synthetic classes) or a named label set of the store
(`label_set`: PTB-XL sub, form, rhythm, all; see benchmark/data/ptbxl.py). `classes` lists the classes, or says
`all`: every class of the label set with at least one positive in the task's train split.
`single_label` keeps the records with exactly one of the classes (the paper, Sec. 3.1); `multi_label` every
record with at least one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchmark.data.store import ECGStore
from benchmark.errors import BenchmarkError
from benchmark.io import stable_hash


@dataclass
class TaskData:
    """The records of a task: row indices into the store, labels, and split of each row."""
    rows: np.ndarray
    y: np.ndarray        # (n,) class index for single-label tasks, (n, C) 0/1 for multi-label tasks
    split: np.ndarray
    classes: list[str]
    multi_label: bool
    ids: np.ndarray = field(default=None)   # ecg_id of each row (what subset files list)
    names: dict = field(default_factory=dict)  # class -> readable name from the store (zero-shot prompts)


def label_set_info(store: ECGStore, label_set: str | None) -> dict:
    """{"column", "classes", "names"} of a label set of the store (None: its default `labels` column)."""
    sets = store.meta.get("label_sets", {})
    if label_set is None:
        return {"column": "labels", "classes": store.meta.get("classes", []), "names": {}}
    if label_set not in sets:
        raise BenchmarkError(f"dataset {store.meta.get('dataset', store.root)} has no label set {label_set!r} "
                             f"(it has: {sorted(sets) or 'only its default labels'}); fix the task's label_set")
    return sets[label_set]


def task_data(store: ECGStore, task: dict, name: str) -> TaskData:
    info = label_set_info(store, task.get("label_set"))
    sets = store.label_sets(info["column"])
    split = store.records["split"].to_numpy()
    if task["classes"] == "all":  # the classes the task's own train records have (after its selection)
        train = split == "train"
        single = task["selection"] == "single_label"
        present = {c for s, tr in zip(sets, train) if tr and (len(s) == 1 or not single) for c in s}
        classes = [c for c in info["classes"] if c in present]
    else:
        classes = list(task["classes"])
    if len(classes) < 2:
        raise BenchmarkError(f"task {name}: {len(classes)} class(es) with training records; a task needs two")
    index = {c: i for i, c in enumerate(classes)}
    if task["selection"] == "single_label":  # the paper: records of exactly one category (Sec. 3.1)
        rows = np.array([i for i, s in enumerate(sets) if len(s) == 1 and next(iter(s)) in index], dtype=int)
        y = np.array([index[next(iter(sets[i]))] for i in rows], dtype=int)
    else:  # multi-label: every record with at least one of the classes
        rows = np.array([i for i, s in enumerate(sets) if s & index.keys()], dtype=int)
        y = np.zeros((len(rows), len(classes)), dtype=int)
        for r, i in enumerate(rows):
            y[r, [index[c] for c in sets[i] if c in index]] = 1
    data = TaskData(rows, y, split[rows], classes, task["selection"] == "multi_label",
                    store.records["ecg_id"].to_numpy()[rows], {c: info["names"].get(c, c) for c in classes})
    for s in ("train", "val", "test"):
        if not (data.split == s).any():
            raise BenchmarkError(f"task {name}: no records in the {s} split of dataset {task['dataset']}")
    return data


def split_sizes(data: TaskData) -> dict:
    return {s: int((data.split == s).sum()) for s in ("train", "val", "test")}


# ------------------------------------------------------------------------------------------------ label fractions
def draw_subset(data: TaskData, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Positions (into the task's rows) of a class-stratified draw of `fraction` of the train records.

    Single-label: round(fraction x n_c) records of every class c, at least one. Multi-label: classes are
    visited from the rarest; each gets round(fraction x its train positives) positives, at least one, then
    random train records fill the draw up to round(fraction x n_train); a class all of whose drawn records
    are positive gets one negative. Every class thus keeps a positive (and a negative) to fit."""
    train = np.flatnonzero(data.split == "train")
    if fraction >= 1:
        return train
    if not data.multi_label:
        chosen = [rng.choice(members, max(1, round(fraction * len(members))), replace=False)
                  for c in range(len(data.classes)) if len(members := train[data.y[train] == c])]
        return np.sort(np.concatenate(chosen))
    y = data.y[train]
    chosen = np.zeros(len(train), dtype=bool)
    for c in np.argsort(y.sum(0), kind="stable"):
        positives = np.flatnonzero(y[:, c] == 1)
        need = max(1, round(fraction * len(positives))) - int(chosen[positives].sum())
        free = positives[~chosen[positives]]
        if need > 0 and len(free):
            chosen[rng.choice(free, min(need, len(free)), replace=False)] = True
    fill = round(fraction * len(train)) - int(chosen.sum())
    if fill > 0:
        chosen[rng.choice(np.flatnonzero(~chosen), fill, replace=False)] = True
    for c in range(y.shape[1]):
        if y[chosen, c].all() and (~y[:, c].astype(bool)).any():
            chosen[rng.choice(np.flatnonzero((y[:, c] == 0) & ~chosen))] = True
    return train[np.flatnonzero(chosen)]


def label_subsets(data: TaskData, task_name: str, fractions: list[float], draws: int, seed: int) -> pd.DataFrame:
    """Every (fraction, draw) subset of a task's train records, as rows (fraction, draw, ecg_id). Drawn from
    the task's records only, with a generator seeded by (seed, task, fraction, draw): identical for every
    method, and the same on every machine."""
    parts = []
    for fraction in sorted(fractions):
        for draw in range(1 if fraction >= 1 else draws):
            key = int(stable_hash([seed, task_name, fraction, draw], length=8), 16)
            pos = draw_subset(data, fraction, np.random.default_rng(key))
            parts.append(pd.DataFrame({"fraction": fraction, "draw": draw, "ecg_id": data.ids[pos]}))
    return pd.concat(parts, ignore_index=True)


def subset_positions(data: TaskData, subsets: pd.DataFrame, fraction: float, draw: int, where: str) -> np.ndarray:
    """Positions into the task's rows of one subset read back from its file, checked against the task."""
    ids = subsets.loc[np.isclose(subsets["fraction"], fraction) & (subsets["draw"] == draw), "ecg_id"].astype(str)
    if ids.empty:
        raise BenchmarkError(f"{where} has no subset for fraction {fraction:g}, draw {draw}; delete it and re-run")
    position = {e: i for i, e in enumerate(data.ids.astype(str))}
    missing = [e for e in ids if e not in position]
    if missing:
        raise BenchmarkError(f"{where} lists records the task does not hold (e.g. {missing[:3]}); delete it and re-run")
    pos = np.array([position[e] for e in ids], dtype=int)
    if not (data.split[pos] == "train").all():
        raise BenchmarkError(f"{where} lists records outside the train split; delete it and re-run")
    return pos
