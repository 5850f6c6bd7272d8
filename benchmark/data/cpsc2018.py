"""CPSC2018 (China Physiological Signal Challenge 2018), in either of its two layouts:
- the CinC Challenge 2020 copy PhysioNet serves (`training/cpsc_2018/g*/A*.hea/.mat`, WFDB, 500 Hz, 6-60 s);
- the original challenge layout (`A0001.mat` ... with a MATLAB struct `ECG` whose field `data` holds the 12
  leads x samples in mV at 500 Hz, plus `REFERENCE.csv`), as most users still have it since the challenge site
  closed; the PTB-XL benchmark's converter and MERL's preprocessing notebook read it (`loadmat(f)["ECG"]`)
  before writing WFDB copies.
A record with a .hea file is read as WFDB; a lone A*.mat as the original struct. Both give the same store.

Labels. From the header's `#Dx` line (SNOMED-CT codes, mapped by SNOMED_TO_CLASS) when it has any, else from
the original REFERENCE.csv (First/Second/Third_label, 1-9) found anywhere in the copy. A record with neither, or
with a code outside the map, is a bad record. Multi-label records are kept in the store; the paper's task takes
the single-label ones (benchmark.evaluate.task_data).

Split. MERL's random 70/10/20 split (train_test_split, test 0.2 then val 0.1 of the rest, random_state 42),
shipped as benchmark/splits/cpsc2018_split.csv. The permutation only depends on the number of records and their
order, and MERL's order was its os.listdir order (its `ecg_id`); the file keeps that order (`merl_ecg_id`), so
merl_split() regenerates the split exactly (tests/test_data_cpsc2018.py checks both against MERL's files).

Length. Records are cropped to the configured length (`crop: start` keeps the first seconds, `center` the
middle) and shorter ones padded (`pad: zero` appends 0 mV, `repeat` tiles the record), before normalisation.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.data import physionet as pn
from benchmark.errors import BenchmarkError

CLASSES = ("Normal", "AF", "I-AVB", "LBBB", "RBBB", "PAC", "PVC", "STD", "STE")
REFERENCE_CODES = {i + 1: c for i, c in enumerate(CLASSES)}  # REFERENCE.csv: 1 Normal, 2 AF, ..., 9 STE
# SNOMED-CT codes of the CinC 2020 copy of CPSC2018, with the synonyms the Challenge treats as equivalent.
SNOMED_TO_CLASS = {
    "426783006": "Normal",   # sinus rhythm
    "164889003": "AF",       # atrial fibrillation
    "270492004": "I-AVB",    # first degree atrioventricular block
    "164909002": "LBBB",     # left bundle branch block
    "733534002": "LBBB",     # complete left bundle branch block
    "59118001": "RBBB",      # right bundle branch block
    "713427006": "RBBB",     # complete right bundle branch block
    "284470004": "PAC",      # premature atrial contraction
    "63593006": "PAC",       # supraventricular premature beats
    "164884008": "PVC",      # ventricular ectopics (the code the CPSC part uses for PVC)
    "427172004": "PVC",      # premature ventricular contractions
    "17338001": "PVC",       # ventricular premature beats
    "429622005": "STD",      # ST depression
    "164931005": "STE",      # ST elevation
}
SPLIT_FILE = Path(__file__).resolve().parent.parent / "splits" / "cpsc2018_split.csv"
MERL_SPLIT = {"test_size": 0.2, "val_size": 0.1, "random_state": 42}


# ------------------------------------------------------------------------------------------------ split
def merl_split(order: list[str], test_size: float = 0.2, val_size: float = 0.1, seed: int = 42) -> dict[str, str]:
    """record -> split, for records in MERL's order: two sklearn train_test_split calls (test, then val out of
    the rest), both with random_state=seed. Only len(order) and the order matter."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(order))
    rest, test = train_test_split(idx, test_size=test_size, random_state=seed)
    train, val = train_test_split(rest, test_size=val_size, random_state=seed)
    out = {}
    for split, rows in (("train", train), ("val", val), ("test", test)):
        out.update({order[i]: split for i in rows})
    return out


def load_split(path: str | Path = SPLIT_FILE) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise BenchmarkError(f"the CPSC2018 split file {path} is missing; restore it from git")
    split = pd.read_csv(path, dtype={"record": str, "merl_ecg_id": int, "split": str})
    if {"record", "merl_ecg_id", "split"} - set(split.columns) or split["record"].duplicated().any():
        raise BenchmarkError(f"{path} must have unique records and columns record, merl_ecg_id, split")
    return split


def read_merl_reference(folder: str | Path) -> pd.DataFrame:
    """MERL's icbeb_{train,val,test}.csv as one table: record (their `filename`), merl_ecg_id, split, and the
    label columns, selected by name."""
    folder = Path(folder)
    parts = []
    for split in ("train", "val", "test"):
        df = pd.read_csv(folder / f"icbeb_{split}.csv")
        parts.append(df.rename(columns={"filename": "record", "ecg_id": "merl_ecg_id"}).assign(split=split))
    return pd.concat(parts, ignore_index=True)


def write_split_file(reference_dir: str | Path, out: str | Path = SPLIT_FILE) -> pd.DataFrame:
    """Rebuild the shipped split file from MERL's files: their order, our regeneration of their split (checked
    to agree record for record before anything is written)."""
    ref = read_merl_reference(reference_dir).sort_values("merl_ecg_id")
    order = ref["record"].tolist()
    ours = merl_split(order)
    differ = [r for r, s in zip(ref["record"], ref["split"]) if ours[r] != s]
    if differ:
        raise BenchmarkError(f"the seed-42 rule does not reproduce MERL's split for {len(differ)} records "
                             f"(e.g. {differ[:5]}); not writing {out}")
    table = pd.DataFrame({"record": order, "merl_ecg_id": ref["merl_ecg_id"].to_numpy(),
                          "split": [ours[r] for r in order]}).sort_values("record")
    table.to_csv(out, index=False)
    return table


# ------------------------------------------------------------------------------------------------ labels
def read_reference(root: Path) -> tuple[dict[str, list[int]], Path | None]:
    """Original REFERENCE.csv (anywhere under the copy): record -> label numbers."""
    found = sorted(root.rglob("REFERENCE.csv"))
    if not found:
        return {}, None
    df = pd.read_csv(found[0], dtype={"Recording": str})
    cols = [c for c in ("First_label", "Second_label", "Third_label") if c in df.columns]
    if "Recording" not in df.columns or not cols:
        raise BenchmarkError(f"{found[0]} lacks the columns Recording, First_label (the CPSC2018 REFERENCE.csv format)")
    out = {}
    for rec, values in zip(df["Recording"], df[cols].to_numpy(dtype=float)):
        out[rec.strip()] = [int(v) if float(v).is_integer() else v for v in values if not np.isnan(v)]
    return out, found[0]


def record_labels(record: str, comments: list[str], reference: dict) -> tuple[tuple[str, ...], str, tuple | None]:
    """(classes, where from: 'dx' or 'reference', REFERENCE classes for comparison or None). Raises BadRecord."""
    ref_classes = None
    if record in reference:
        unknown = [v for v in reference[record] if v not in REFERENCE_CODES]
        if unknown:
            raise pn.BadRecord(record, f"unknown label code(s) {unknown} in REFERENCE.csv (expected 1-9)")
        ref_classes = tuple(c for c in CLASSES if c in {REFERENCE_CODES[v] for v in reference[record]})
    codes = pn.dx_codes(comments)
    if codes:
        unknown = [c for c in codes if c not in SNOMED_TO_CLASS]
        if unknown:
            raise pn.BadRecord(record, f"unknown label code(s) {unknown} in #Dx (SNOMED-CT codes known for "
                                       "CPSC2018: benchmark.data.cpsc2018.SNOMED_TO_CLASS)")
        found = {SNOMED_TO_CLASS[c] for c in codes}
        return tuple(c for c in CLASSES if c in found), "dx", ref_classes
    if ref_classes:
        return ref_classes, "reference", ref_classes
    raise pn.BadRecord(record, "no label: the #Dx header line is empty and REFERENCE.csv has no row for it "
                               "(put the original REFERENCE.csv into cpsc2018_dir)")


# ------------------------------------------------------------------------------------------------ prepare
ORIGINAL_SAMPLING_RATE = 500.0  # the challenge's rate; the original .mat files do not store it


def find_records(root: Path) -> dict[str, Path]:
    """Record name -> path without extension, for every record under the copy (any depth): a WFDB header
    (CinC 2020 copy), or an A*.mat file without one (original layout)."""
    base = root / "training" / "cpsc_2018" if (root / "training" / "cpsc_2018").is_dir() else root
    out = pn.find_headers(base, root)
    original: dict[str, Path] = {}
    for mat in sorted(base.rglob("A*.mat")):
        if mat.with_suffix(".hea").exists() or mat.stem in out:
            continue  # a WFDB record's signal file, or a record already found as WFDB
        if mat.stem in original:
            raise BenchmarkError(f"record {mat.stem} appears twice under {root}: {original[mat.stem]}.mat and {mat}")
        original[mat.stem] = mat.with_suffix("")
    out.update(original)
    return out


def read_original(path: Path, record: str) -> tuple[np.ndarray, float, list[str]]:
    """An original-layout record: (12, T) float32 mV in the standard lead order, 500 Hz, no header comments."""
    from scipy.io import loadmat

    try:
        ecg = loadmat(str(path.with_suffix(".mat")))["ECG"][0, 0]
        data = np.asarray(ecg["data"], dtype=np.float64)
    except (KeyError, ValueError, IndexError, TypeError, OSError) as e:
        raise pn.BadRecord(record, f"{path}.mat is not a CPSC2018 record (a MATLAB struct ECG with a field data): "
                                   f"{type(e).__name__}: {str(e)[:120]}") from None
    if data.ndim != 2 or data.shape[0] != 12:
        raise pn.BadRecord(record, f"{path}.mat: ECG.data has shape {data.shape}; expected 12 leads x samples")
    return data.astype(np.float32), ORIGINAL_SAMPLING_RATE, []


def read_record(path: Path, record: str) -> tuple[np.ndarray, float, list[str]]:
    """A WFDB record (path.hea, the CinC 2020 copy), or a record of the challenge's original layout (a lone
    path.mat)."""
    if path.with_suffix(".hea").exists() or not path.with_suffix(".mat").exists():
        return pn.read_wfdb(path, record)
    return read_original(path, record)


def prepare_cpsc2018(config: dict, name: str, out_dir: Path, threads: int | None = None) -> None:
    t0 = time.time()
    ds, data = config["datasets"][name], config["data"]
    key = pn.prepared_hash(config, name)
    if pn.up_to_date(out_dir, key):
        print(f"{name}: {out_dir} is already prepared with this configuration; nothing to do", file=sys.stderr)
        return
    root = pn.raw_root(config, "cpsc2018")
    if not root.is_dir():
        raise BenchmarkError(f"{name}: no CPSC2018 copy at {root}; set cpsc2018_dir to a copy in PhysioNet's layout, "
                             "or leave it null and let snakemake download it")
    policy = ds.get("bad_records", "error")
    split = load_split()
    split_of = dict(zip(split["record"], split["split"]))
    headers = find_records(root)
    reference, reference_path = read_reference(root)
    unlisted = sorted(set(headers) - set(split_of))
    problems = [(r, "not in the shipped split (benchmark/splits/cpsc2018_split.csv): not a CPSC2018 recording?")
                for r in unlisted]
    listed_on_disk = [r for r in split["record"] if r in headers]
    missing = len(split) - len(listed_on_disk)
    if not listed_on_disk:
        raise BenchmarkError(f"{name}: no CPSC2018 record (A0001.hea + .mat of the CinC 2020 copy, or A0001.mat "
                             f"of the original layout) found under {root}; check cpsc2018_dir")
    absent = sorted(set(split["record"]) - set(headers))
    folder = "training/cpsc_2018" if (root / "training" / "cpsc_2018").is_dir() else "."
    pn.require_complete(name, ds, len(split), {folder: absent} if absent else {}, root, "cpsc2018_dir")

    labels, sources, disagree, candidates = {}, {"dx": 0, "reference": 0}, [], []
    for rec in listed_on_disk:
        try:
            comments = (pn.parse_header(headers[rec], rec).comments
                        if headers[rec].with_suffix(".hea").exists() else [])  # original layout: REFERENCE.csv
            labels[rec], src, ref_classes = record_labels(rec, comments, reference)
        except pn.BadRecord as e:
            problems.append((rec, e.reason))
            continue
        sources[src] += 1
        if src == "dx" and ref_classes is not None and ref_classes != labels[rec]:
            disagree.append({"record": rec, "dx": list(labels[rec]), "reference": list(ref_classes)})
        candidates.append(rec)
    pn.report_problems(name, problems, policy, f"datasets.{name}.bad_records")
    if disagree:
        print(f"{name}: #Dx and REFERENCE.csv disagree for {len(disagree)} records; #Dx is used "
              f"(listed in meta.json)", file=sys.stderr)

    spec = pn.SignalSpec(sampling_rate=data["sampling_rate"], n_samples=int(round(data["seconds"] * data["sampling_rate"])),
                         normalisation=data["normalisation"], crop=ds.get("crop", "start"), pad=ds.get("pad", "zero"),
                         max_nonfinite=ds.get("max_nonfinite", 0.01), read=read_record)
    def tables(results, keep):
        records = pd.DataFrame({
            "ecg_id": candidates, "patient_id": candidates,  # CPSC2018 gives no patient ids: one per recording
            "split": [split_of[r] for r in candidates],
            "labels": [";".join(labels[r]) for r in candidates],
            "report": [""] * len(candidates),
            "native_seconds": [round(res[2], 3) for res in results],
        })
        native = np.array([res[2] for res in results if res[0] is None], dtype=float)
        eps = 0.5 / data["sampling_rate"]
        meta = {
            "dataset": name, "source": "cpsc2018", "title": ds.get("title", "CPSC2018"), "raw_dir": str(root),
            "reference_csv": str(reference_path) if reference_path else None,
            "sampling_rate": data["sampling_rate"], "seconds": data["seconds"],
            "normalisation": data["normalisation"], "crop": spec.crop, "pad": spec.pad,
            "classes": list(CLASSES),
            "label_rule": "SNOMED-CT codes of the #Dx header line (benchmark.data.cpsc2018.SNOMED_TO_CLASS); "
                          "REFERENCE.csv where #Dx is empty",
            "label_sources": sources, "dx_reference_disagreements": disagree[:100],
            "split_rule": "MERL's random 70/10/20 (sklearn train_test_split, random_state 42) over MERL's record "
                          "order; shipped as benchmark/splits/cpsc2018_split.csv",
            "text_source": None,
            "counts": {"cropped": int((native > data["seconds"] + eps).sum()),
                       "padded": int((native < data["seconds"] - eps).sum())},
        }
        return records, meta

    pn.build_and_write(name, out_dir, [(headers[r], r) for r in candidates], spec, threads, policy, len(split),
                       missing, problems, key, t0, tables)
