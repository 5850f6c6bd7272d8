"""The preprocessed dataset format every dataset is written in (synthetic, PTB-XL, CPSC2018).

A dataset folder holds
  signals.npy   float32 (N, 12, T), read as a memory map, already resampled, cut to length and normalised
  records.csv   one row per signal row: ecg_id, patient_id, split (train/val/test), labels (';'-joined), report
  meta.json     sampling rate, length, leads, normalisation, class vocabulary, provenance; written last

meta.json is the completion marker: it is only written (atomically) after the other two files are
complete, so a folder without it is an interrupted run and is rebuilt, never read.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.io import atomic_path, read_json, write_json
from benchmark.errors import BenchmarkError

LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
SPLITS = ("train", "val", "test")
RECORD_COLUMNS = ("ecg_id", "patient_id", "split", "labels", "report")


@dataclass
class ECGStore:
    root: Path
    meta: dict
    records: pd.DataFrame
    signals: np.ndarray  # memory map (N, 12, T)

    def __len__(self) -> int:
        return len(self.records)

    def indices(self, split: str) -> np.ndarray:
        if split not in SPLITS:
            raise BenchmarkError(f"unknown split {split!r}; expected one of {SPLITS}")
        return np.flatnonzero(self.records["split"].to_numpy() == split)

    def label_sets(self, column: str = "labels") -> list[frozenset[str]]:
        """Each record's labels in `column` (';'-joined codes): the default `labels`, or a label set's column."""
        if column not in self.records.columns:
            raise BenchmarkError(f"{self.root}/records.csv has no label column {column!r}; rebuild the dataset "
                                 "(delete the folder and re-run)")
        return [frozenset(s for s in str(v).split(";") if s) for v in self.records[column].fillna("")]


def write_store(root: str | Path, signals: np.ndarray, records: pd.DataFrame, meta: dict) -> None:
    """Write a complete dataset folder; meta.json goes last and marks it finished."""
    root = Path(root)
    missing = [c for c in RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise BenchmarkError(f"records table for {root} lacks columns {missing}")
    if signals.ndim != 3 or signals.shape[0] != len(records) or signals.shape[1] != len(LEADS):
        raise BenchmarkError(f"signals for {root} have shape {signals.shape}; expected ({len(records)}, 12, T)")
    bad = set(records["split"]) - set(SPLITS)
    if bad:
        raise BenchmarkError(f"records table for {root} has unknown splits {sorted(bad)}")
    if not np.isfinite(signals).all():
        raise BenchmarkError(f"signals for {root} contain NaN or inf; clean them before writing the store")
    (root / "meta.json").unlink(missing_ok=True)
    with atomic_path(root / "signals.npy") as tmp:
        with open(tmp, "wb") as f:  # np.save on a path would append .npy to the temporary name
            np.save(f, np.ascontiguousarray(signals, dtype=np.float32))
    with atomic_path(root / "records.csv") as tmp:
        records.to_csv(tmp, index=False)
    meta = dict(meta, n_records=int(len(records)), shape=list(signals.shape), leads=list(LEADS),
                split_sizes={s: int((records["split"] == s).sum()) for s in SPLITS})
    write_json(root / "meta.json", meta)


def load_store(root: str | Path) -> ECGStore:
    root = Path(root)
    if not (root / "meta.json").exists():
        raise BenchmarkError(
            f"{root} is not a finished dataset (no meta.json); run `snakemake` to (re)build it, "
            "an interrupted preparation leaves no meta.json on purpose")
    meta = read_json(root / "meta.json")
    columns = pd.read_csv(root / "records.csv", nrows=0).columns
    text = {c: str for c in columns if c in ("ecg_id", "patient_id", "report") or c.startswith("labels")}
    records = pd.read_csv(root / "records.csv", dtype=text, keep_default_na=False)
    signals = np.load(root / "signals.npy", mmap_mode="r")
    if signals.shape[0] != len(records) or list(signals.shape) != meta["shape"]:
        raise BenchmarkError(f"{root}: signals.npy shape {signals.shape} does not match records.csv ({len(records)} rows)"
                         f" and meta.json {meta['shape']}; delete the folder and re-run")
    return ECGStore(root, meta, records, signals)
