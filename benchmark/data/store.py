"""The preprocessed dataset format every dataset is written in (synthetic, PTB-XL, CPSC2018).

A dataset folder holds
  signals.npy   float32 (N, 12, T), read as a memory map, already resampled, cut to length and normalised; a
                dataset may be stored as float16 (`store_dtype`, STORE_DTYPES: half the bytes, for stores larger
                than RAM such as MIMIC-IV-ECG's), which readers turn into float32 batch by batch
  records.csv   one row per signal row: ecg_id, patient_id, split (train/val/test), labels (';'-joined), report
  meta.json     sampling rate, length, leads, normalisation, class vocabulary, provenance; written last

meta.json is the completion marker: it is only written (atomically) after the other two files are
complete, so a folder without it is an interrupted run and is rebuilt, never read.
"""
from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.io import atomic_path, read_arrays, read_json, stable_hash, write_json
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


# float16: an 11-bit mantissa, so a min-max normalised sample in [0, 1] is kept within 2.4e-4 (MERL's int16 store of
# 0..1000 keeps 1e-3), any normalisation's range fits (|x| < 65504), and no scale has to be stored beside it
STORE_DTYPES = ("float32", "float16")
CHUNK = 256  # records per chunk: the memory a streamed write holds at once (256 x 12 x 5000 float32 = 61 MB)


def create_npy(path: Path, shape: tuple, dtype: str = "float32") -> int:
    """Create a .npy file of `shape` and `dtype` (sparse: no data written yet); return the byte offset of its data."""
    from numpy.lib.format import open_memmap

    open_memmap(path, mode="w+", dtype=np.dtype(dtype), shape=shape).flush()
    return npy_data_offset(path)


def npy_data_offset(path: Path) -> int:
    """The byte offset at which an .npy file's data start (after its header)."""
    with open(path, "rb") as f:
        major, _ = np.lib.format.read_magic(f)
        (np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0)(f)
        return f.tell()


def write_rows(fd: int, offset: int, start: int, rows: np.ndarray, dtype: str = "float32") -> None:
    """Write rows (as `dtype`, the file's) at row `start` of an .npy file (data at byte `offset`) with positional
    writes: the written pages go to the page cache without being mapped into (and counted in) this process's
    memory, as writing through a memory map would."""
    data = np.ascontiguousarray(rows, dtype=np.dtype(dtype))
    row_bytes = data[0].nbytes if len(data) else 0
    view, pos = memoryview(data).cast("B"), offset + start * row_bytes
    while view:
        n = os.pwrite(fd, view, pos)
        view, pos = view[n:], pos + n


def release(array: np.ndarray) -> None:
    """Drop the pages a memory-mapped array has brought into this process (they stay in the page cache, and
    a shared file mapping keeps what was written): reading a large store chunk by chunk then holds one chunk."""
    mm = getattr(array, "_mmap", None)
    if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        mm.madvise(mmap.MADV_DONTNEED)


def _check_records(root: Path, records: pd.DataFrame, n: int) -> None:
    missing = [c for c in RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise BenchmarkError(f"records table for {root} lacks columns {missing}")
    if len(records) != n:
        raise BenchmarkError(f"records table for {root} has {len(records)} rows for {n} signals")
    bad = set(records["split"]) - set(SPLITS)
    if bad:
        raise BenchmarkError(f"records table for {root} has unknown splits {sorted(bad)}")


def _check_chunk(root: Path, chunk: np.ndarray, start: int, n_samples: int) -> None:
    if chunk.ndim != 3 or chunk.shape[1:] != (len(LEADS), n_samples):
        raise BenchmarkError(f"signals for {root} have shape {chunk.shape[1:]} per chunk; expected (12, {n_samples})")
    finite = np.isfinite(chunk).all(axis=(1, 2))
    if not finite.all():
        rows = (start + np.flatnonzero(~finite)).tolist()
        raise BenchmarkError(f"signals for {root} contain NaN or inf (signal rows {rows[:10]}); clean them "
                             "before writing the store")


class StoreWriter:
    """A dataset folder written chunk by chunk, so memory is bounded by a chunk, not by the dataset.

    Rows go straight into `.signals.npy.partial` with positional writes (checked for shape and finiteness as
    they arrive); `finish` moves it into place as signals.npy, writes records.csv, then meta.json, the completion
    marker. An exception inside the `with` block removes the partial file and leaves no meta.json.

        with StoreWriter(root, n_records, n_samples) as out:
            out.write(start, chunk)            # (k, 12, n_samples) rows start .. start + k - 1
            out.finish(records, meta)
    """

    def __init__(self, root: str | Path, n_records: int, n_samples: int, dtype: str = "float32"):
        self.root, self.n, self.n_samples = Path(root), int(n_records), int(n_samples)
        self.dtype = check_dtype(dtype)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "meta.json").unlink(missing_ok=True)
        self.partial = self.root / ".signals.npy.partial"
        self.offset = create_npy(self.partial, (self.n, len(LEADS), self.n_samples), self.dtype)
        self.fd = os.open(self.partial, os.O_WRONLY)
        self.written = np.zeros(self.n, dtype=bool)
        self.finished = False

    def __enter__(self) -> "StoreWriter":
        return self

    def __exit__(self, kind, *_) -> None:
        self._close()
        self.partial.unlink(missing_ok=True)   # after finish() it has been moved away already
        if kind is None and not self.finished:
            raise BenchmarkError(f"{self.root}: the store writer was left without finish(); nothing was written")

    def _close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def write(self, start: int, chunk: np.ndarray) -> None:
        with np.errstate(over="ignore"):   # checked as stored: a value beyond the dtype's range is inf, named below
            chunk = np.asarray(chunk, dtype=self.dtype)
        _check_chunk(self.root, chunk, start, self.n_samples)
        if start < 0 or start + len(chunk) > self.n:
            raise BenchmarkError(f"{self.root}: rows {start}..{start + len(chunk) - 1} are outside 0..{self.n - 1}")
        write_rows(self.fd, self.offset, start, chunk, self.dtype)
        self.written[start:start + len(chunk)] = True

    def finish(self, records: pd.DataFrame, meta: dict) -> None:
        _check_records(self.root, records, self.n)
        if not self.written.all():
            raise BenchmarkError(f"{self.root}: {int((~self.written).sum())} of {self.n} signal rows were never "
                                 "written; the preparation is incomplete")
        os.fsync(self.fd)
        self._close()
        os.replace(self.partial, self.root / "signals.npy")
        self.finished = True
        _finish_tables(self.root, records, meta, (self.n, len(LEADS), self.n_samples))


def _finish_tables(root: Path, records: pd.DataFrame, meta: dict, shape: tuple) -> None:
    with atomic_path(root / "records.csv") as tmp:
        records.to_csv(tmp, index=False)
    meta = dict(meta, n_records=int(len(records)), shape=list(shape), leads=list(LEADS),
                split_sizes={s: int((records["split"] == s).sum()) for s in SPLITS})
    write_json(root / "meta.json", meta)


def check_dtype(dtype: str) -> str:
    if str(dtype) not in STORE_DTYPES:
        raise BenchmarkError(f"store_dtype {dtype!r} is not one of {STORE_DTYPES}")
    return str(dtype)


def write_store(root: str | Path, signals: np.ndarray, records: pd.DataFrame, meta: dict,
                rows: np.ndarray | None = None) -> None:
    """Write a complete dataset folder from an array or a memory map (only `rows` of it, if given), chunk by
    chunk, in the array's dtype (float32 or float16); meta.json goes last and marks it finished."""
    root = Path(root)
    if signals.ndim != 3 or signals.shape[1] != len(LEADS):
        raise BenchmarkError(f"signals for {root} have shape {signals.shape}; expected (N, 12, T)")
    rows = np.arange(len(signals)) if rows is None else np.asarray(rows)
    _check_records(root, records, len(rows))  # before writing anything (finish() checks again, cheaply)
    dtype = str(signals.dtype) if str(signals.dtype) in STORE_DTYPES else "float32"
    with StoreWriter(root, len(rows), signals.shape[-1], dtype) as out:
        for s in range(0, len(rows), CHUNK):
            out.write(s, signals[rows[s:s + CHUNK]])
            release(signals)
        out.finish(records, meta)


def adopt_store(root: str | Path, built: Path, records: pd.DataFrame, meta: dict) -> None:
    """Make a finished (N, 12, T) .npy file, built in place by worker processes, the store's signals.npy
    without copying it: checked chunk by chunk, then renamed; records.csv and meta.json follow."""
    root = Path(root)
    signals = np.load(built, mmap_mode="r")
    _check_records(root, records, len(signals))
    for s in range(0, len(signals), CHUNK):
        _check_chunk(root, signals[s:s + CHUNK], s, signals.shape[-1])
        release(signals)
    shape = signals.shape
    del signals
    (root / "meta.json").unlink(missing_ok=True)
    fd = os.open(built, os.O_RDONLY)
    try:
        os.fsync(fd)  # the workers' writes are on disk before meta.json says the store is finished
    finally:
        os.close(fd)
    os.replace(built, root / "signals.npy")
    _finish_tables(root, records, meta, shape)


# meta.json entries that say how long a preparation took, not what the store holds
_TIMINGS = ("wall_seconds", "preprocess_seconds", "records_per_second", "summary")


def store_identity(meta: dict) -> str:
    """What a store holds, as far as a result depends on it: its preparation hash (settings and raw files,
    benchmark.data.physionet.prepared_hash) when it has one, else its meta.json without the timings."""
    return meta.get("prepared_hash") or stable_hash({k: v for k, v in meta.items() if k not in _TIMINGS})


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
    signals = read_arrays(root / "signals.npy", mmap_mode="r", output=root / "meta.json")
    if signals.shape[0] != len(records) or list(signals.shape) != meta["shape"]:
        raise BenchmarkError(f"{root}: signals.npy shape {signals.shape} does not match records.csv ({len(records)} rows)"
                         f" and meta.json {meta['shape']}; delete the folder and re-run")
    return ECGStore(root, meta, records, signals)
