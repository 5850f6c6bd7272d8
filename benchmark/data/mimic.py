"""MIMIC-IV-ECG (PhysioNet `mimic-iv-ecg` 1.0, open access): about 800,000 12-lead ECGs (500 Hz, 10 s) with the
machine's report lines, the pre-training source of MERL (Liu et al., ICML 2024) and its successors.

Layout: `record_list.csv` (subject_id, study_id, file_name, ecg_time, path), `machine_measurements.csv`
(subject_id, study_id, ..., report_0 ... report_17, ...) and WFDB records `files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN`
(.hea/.dat; leads I, II, III, aVR, aVF, aVL, V1-V6: read by name, so aVF/aVL land in the store's order).

Too large for one process, so the preparation is three steps Snakemake schedules (workflow/rules/data.smk):
1. `index` (one job): joins the two tables on study_id (never by row position), assembles each report, counts and
   skips what cannot pre-train (no measurements row, a report of fewer than `min_report_words` words), assigns the
   split by patient and each record's row in the store: the rows are in a random order (a hash of study_id), so
   shuffled runs of consecutive rows are random draws of records, not one patient's ECGs (benchmark.pretrain.
   epoch_batches, `read_block`). It writes `index.csv` and creates the store's build file, sparse, at full size.
2. `shard` k of K (K jobs, any order, in parallel, on any machine that sees the folder): preprocesses the records
   of rows [k N / K, (k + 1) N / K) and writes them at their rows of the build file (positional writes to disjoint
   ranges), then its marker `shard-k.json` (last). A killed shard is re-run alone; finished shards are not redone.
3. `finish` (the dataset's usual prepare job): reads the markers, and turns the build file into the store's
   signals.npy (renamed, not copied, when no record was bad), records.csv and meta.json; then removes the
   `<name>.shards` folder (index and markers), whose counts meta.json keeps.
Memory: the index holds the study_id -> report table (a few hundred MB at full size); a shard reads only its
rows of index.csv, in chunks; peak RSS is measured by scripts/rehearse.py (docs/data.md).

Reports (MERL's pretrain/preprocess.ipynb, followed): the non-empty lines report_0 ... report_17 in order, joined
with ". ", EKG -> ECG, MERL's chain of strips at the two ends (spaces and asterisks, then '=' and '-'), lower-cased,
each newline, return and tab a space, a final "."; kept when at least `min_report_words` (MERL: 4) words remain.
Not followed: MERL joins a line that already ends in "." into "..", and keeps a line's own leading and trailing
spaces; here each line is stripped and one period ends it (the text model's tokens are the same but for the
doubled period). MERL splits train/val 98/2 by record, here by patient (`val_fraction`), so no patient's ECGs are
on both sides.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from benchmark import provenance
from benchmark.data import physionet as pn
from benchmark.data.store import LEADS, check_dtype, create_npy, npy_data_offset
from benchmark.errors import BenchmarkError
from benchmark.io import atomic_path, read_json, stable_hash, write_json

REPORT_LINES = [f"report_{i}" for i in range(18)]
RECORD_LIST, MEASUREMENTS = "record_list.csv", "machine_measurements.csv"
BUILD = "signals-build.npy"
INDEX_CHUNK = 100_000   # rows of a table read at once


# ------------------------------------------------------------------------------------------------ reports
def assemble_report(lines) -> str:
    """One report from the machine's report lines (MERL's assembly, but for the '..' of lines ending in '.')."""
    parts = []
    for line in lines:
        if line is None or (isinstance(line, float) and math.isnan(line)):
            continue
        text = str(line).strip()
        text = text[:-1].rstrip() if text.endswith(".") else text
        if text:
            parts.append(text)
    text = ". ".join(parts).replace("EKG", "ECG").replace("ekg", "ecg")
    # MERL's chain, .strip(' ***').strip('*** ').strip('***').strip('=-').strip('='), is these two strips (a
    # strip's argument is a set of characters; the others strip nothing more): a space or '*' uncovered by the
    # second stays, as in MERL
    text = text.strip(" *").strip("=-").lower()
    if not text.split():
        return ""
    return re.sub(r"[\n\r\t]", " ", text) + "."   # MERL: each newline, return, tab a space


def word_count(report: str) -> int:
    return len(report.rstrip(".").split())


# ------------------------------------------------------------------------------------------------ where things go
def shards_dir(out_dir: str | Path) -> Path:
    """The index, the build file and the shard markers of dataset folder `out_dir` (results/<preset>/data/<name>)."""
    out_dir = Path(out_dir)
    return out_dir.parent / f"{out_dir.name}.shards"


def _unit(key: str, salt: str) -> float:
    """A uniform number in [0, 1) fixed by `key`: the same on every machine and run."""
    return int.from_bytes(hashlib.sha256(f"{salt}:{key}".encode()).digest()[:8], "big") / 2 ** 64


def shard_rows(n: int, shards: int, k: int) -> tuple[int, int]:
    return k * n // shards, (k + 1) * n // shards


def _settings(config: dict, name: str) -> dict:
    ds, data = config["datasets"][name], config["data"]
    return {"min_report_words": int(ds.get("min_report_words", 4)), "val_fraction": float(ds.get("val_fraction", 0.02)),
            "shards": int(ds.get("shards", 64)), "store_dtype": check_dtype(ds.get("store_dtype", "float32")),
            "data": data}


def _root(config: dict, name: str) -> Path:
    root = pn.raw_root(config, "mimic_ecg")
    for table in (RECORD_LIST, MEASUREMENTS):
        if not (root / table).exists():
            raise BenchmarkError(f"{name}: {root / table} is missing; set mimic_ecg_dir to a copy of PhysioNet's "
                                 "mimic-iv-ecg 1.0 (record_list.csv, machine_measurements.csv, files/), or leave it "
                                 "null and let snakemake download it")
    return root


# ------------------------------------------------------------------------------------------------ 1. index
def _read_table(path: Path, columns: list[str]):
    try:
        head = pd.read_csv(path, nrows=0).columns
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise BenchmarkError(f"cannot read {path}: {e}") from None
    missing = [c for c in columns if c not in head]
    if missing:
        raise BenchmarkError(f"{path} lacks the columns {missing} (MIMIC-IV-ECG 1.0's {path.name})")
    return pd.read_csv(path, usecols=columns, chunksize=INDEX_CHUNK, dtype={c: str for c in columns})


def build_index(config: dict, name: str, out_dir: str | Path) -> dict:
    """Step 1: index.csv (study_id, subject_id, path, report, split; one row per pre-training record, in store
    order), the sparse build file, and index.json (counts, settings; written last)."""
    t0 = time.time()
    s, root = _settings(config, name), _root(config, name)
    folder = shards_dir(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.json").unlink(missing_ok=True)
    reports: dict[str, str] = {}
    for chunk in _read_table(root / MEASUREMENTS, ["study_id"] + REPORT_LINES):
        lines = chunk[REPORT_LINES].to_numpy(dtype=object)
        for study, row in zip(chunk["study_id"].str.strip(), lines):
            reports[study] = assemble_report(row)
    counts = {"listed": 0, "duplicate_study": 0, "no_measurements_row": 0, "empty_report": 0, "short_report": 0,
              "kept": 0}
    kept, seen = [], set()
    for chunk in _read_table(root / RECORD_LIST, ["subject_id", "study_id", "path"]):
        for subject, study, path in zip(chunk["subject_id"].str.strip(), chunk["study_id"].str.strip(),
                                        chunk["path"].str.strip()):
            counts["listed"] += 1
            if study in seen:
                counts["duplicate_study"] += 1
                continue
            seen.add(study)
            report = reports.get(study)
            if report is None:
                counts["no_measurements_row"] += 1
                continue
            words = word_count(report)
            if words == 0:
                counts["empty_report"] += 1
            elif words < s["min_report_words"]:
                counts["short_report"] += 1
            else:
                kept.append((_unit(study, "order"), study, subject, path, report))
    del reports, seen
    kept.sort()
    counts["kept"] = len(kept)
    if not kept:
        raise BenchmarkError(f"{name}: no record of {root / RECORD_LIST} has a report of at least "
                             f"{s['min_report_words']} words in {root / MEASUREMENTS}; is this MIMIC-IV-ECG?")
    with atomic_path(folder / "index.csv") as tmp:
        pd.DataFrame({"study_id": [k[1] for k in kept], "subject_id": [k[2] for k in kept],
                      "path": [k[3] for k in kept], "report": [k[4] for k in kept],
                      "split": ["val" if _unit(k[2], "split") < s["val_fraction"] else "train" for k in kept],
                      }).to_csv(tmp, index=False)
    n_samples = int(round(s["data"]["seconds"] * s["data"]["sampling_rate"]))
    (folder / BUILD).unlink(missing_ok=True)
    create_npy(folder / BUILD, (len(kept), len(LEADS), n_samples), s["store_dtype"])
    for old in folder.glob("shard-*.json"):   # markers of an earlier index: their rows are gone
        old.unlink()
    index = {"dataset": name, "settings": s, "counts": counts, "n_records": len(kept), "raw_dir": str(root),
             "key": stable_hash({"s": s, "raw": pn.prepared_hash(config, name)}), "seconds": round(time.time() - t0, 1),
             "code": provenance.step_record("prepare-index", source="mimic_ecg", dataset=name)}
    write_json(folder / "index.json", index)
    print(f"{name}: {counts['listed']} records listed; {len(kept)} kept for pre-training (no measurements row "
          f"{counts['no_measurements_row']}, empty report {counts['empty_report']}, fewer than "
          f"{s['min_report_words']} words {counts['short_report']}, repeated study {counts['duplicate_study']}); "
          f"{s['shards']} shards", file=sys.stderr)
    return index


def _index(out_dir: Path) -> dict:
    path = shards_dir(out_dir) / "index.json"
    if not path.exists():
        raise BenchmarkError(f"{path} is missing: the index step of this dataset has not finished (run snakemake)")
    return read_json(path)


def _spec(config: dict, name: str, s: dict) -> pn.SignalSpec:
    ds, data = config["datasets"][name], s["data"]
    return pn.SignalSpec(sampling_rate=data["sampling_rate"], n_samples=int(round(data["seconds"] * data["sampling_rate"])),
                         normalisation=data["normalisation"], crop=ds.get("crop", "start"), pad=ds.get("pad", "zero"),
                         max_nonfinite=ds.get("max_nonfinite", 0.01), dtype=s["store_dtype"])


# ------------------------------------------------------------------------------------------------ 2. shards
def prepare_shard(config: dict, name: str, shard: int, out_dir: str | Path, threads: int | None = None) -> dict:
    """Step 2: preprocess shard `shard`'s rows into the build file at their rows; its marker goes last."""
    t0 = time.time()
    out_dir = Path(out_dir)
    folder, index = shards_dir(out_dir), _index(out_dir)
    s, root = index["settings"], Path(index["raw_dir"])
    if not 0 <= shard < s["shards"]:
        raise BenchmarkError(f"{name}: shard {shard} does not exist (datasets.{name}.shards is {s['shards']})")
    marker = folder / f"shard-{shard}.json"
    marker.unlink(missing_ok=True)
    if not (folder / BUILD).exists():
        raise BenchmarkError(f"{name}: {folder / BUILD} is missing (its store was finished, or the folder was "
                             f"edited); delete {folder} and re-run: the index step starts the preparation again")
    lo, hi = shard_rows(index["n_records"], s["shards"], shard)
    rows = []
    for start, chunk in enumerate(pd.read_csv(folder / "index.csv", usecols=["study_id", "path"], dtype=str,
                                              chunksize=INDEX_CHUNK)):
        first = start * INDEX_CHUNK
        if first + len(chunk) <= lo or first >= hi:
            continue
        part = chunk.iloc[max(lo - first, 0):hi - first]
        rows += list(zip(part["study_id"], part["path"]))
    spec = _spec(config, name, s)
    build = folder / BUILD
    offset = npy_data_offset(build)
    results = pn.build_rows([(root / path, study) for study, path in rows], build, offset, lo, spec, threads,
                            f"{name} shard {shard}")
    out = {"shard": shard, "rows": [lo, hi], "key": index["key"],
           "bad": [[r, res[0]] for (r, _), res in zip(rows, results) if res[0] is not None],
           "fixed": int(sum(res[1] for res in results)), "seconds": round(time.time() - t0, 2),
           "code": provenance.step_record("prepare-shard", source="mimic_ecg", dataset=name)}
    fd = os.open(build, os.O_RDONLY)
    try:
        os.fsync(fd)   # this shard's rows are on disk before its marker says so
    finally:
        os.close(fd)
    write_json(marker, out)
    print(f"{name} shard {shard}: rows {lo}-{hi - 1}, {len(out['bad'])} bad, {out['seconds']} s", file=sys.stderr)
    return out


# ------------------------------------------------------------------------------------------------ 3. finish
def prepare_mimic(config: dict, name: str, out_dir: Path, threads: int | None = None) -> None:
    """Step 3: the store from the build file and every shard's marker."""
    t0 = time.time()
    out_dir = Path(out_dir)
    folder, index = shards_dir(out_dir), _index(out_dir)
    s = index["settings"]
    markers = [folder / f"shard-{k}.json" for k in range(s["shards"])]
    absent = [m.name for m in markers if not m.exists()]
    if absent:
        raise BenchmarkError(f"{name}: shards {absent[:10]}{' ...' if len(absent) > 10 else ''} have not finished "
                             f"(no marker in {folder}); run snakemake, which prepares the missing ones")
    shards = [json.loads(m.read_text()) for m in markers]
    stale = [sh["shard"] for sh in shards if sh["key"] != index["key"]]
    if stale:
        raise BenchmarkError(f"{name}: shards {stale[:10]} were prepared from another index; delete {folder} and re-run")
    shard_code = {json.dumps(sh.get("code"), sort_keys=True) for sh in shards}
    if len(shard_code) > 1:
        raise BenchmarkError(f"{name}: its shards were prepared by different code (an edit while they ran); delete "
                             f"{folder} and re-run")
    bad = [tuple(b) for sh in shards for b in sh["bad"]]
    policy = config["datasets"][name].get("bad_records", "error")
    pn.report_problems(name, bad, policy, f"datasets.{name}.bad_records")
    records = pd.read_csv(folder / "index.csv", dtype=str, keep_default_na=False)
    bad_ids = {b[0] for b in bad}
    keep = ~records["study_id"].isin(bad_ids).to_numpy()
    table = pd.DataFrame({"ecg_id": records["study_id"], "patient_id": records["subject_id"],
                          "split": records["split"], "labels": "", "report": records["report"]})
    c = index["counts"]
    meta = {"dataset": name, "source": "mimic_ecg", "title": config["datasets"][name].get("title", "MIMIC-IV-ECG"),
            "raw_dir": index["raw_dir"], "sampling_rate": s["data"]["sampling_rate"], "seconds": s["data"]["seconds"],
            "normalisation": s["data"]["normalisation"], "store_dtype": s["store_dtype"], "classes": [],
            "text_source": "machine report lines report_0..report_17 (benchmark.data.mimic.assemble_report)",
            "report_filter": f"at least {s['min_report_words']} words (MERL)",
            "split_rule": f"by patient: val when a hash of subject_id < {s['val_fraction']} (no test split: "
                          "pre-training only)",
            "row_order": "random (a hash of study_id), for shuffled-block reading",
            "shards": s["shards"],
            "counts": {**c, "bad_skipped": len(bad), "nonfinite_samples_fixed": sum(sh["fixed"] for sh in shards)},
            "skipped_bad_records": [{"record": r, "reason": w} for r, w in bad[:1000]],
            "prepared_hash": pn.prepared_hash(config, name),
            "preprocess_seconds": round(sum(sh["seconds"] for sh in shards), 2),
            "summary": f"{name}: {c['listed']} listed, {c['kept']} with a report, {len(bad)} bad (skipped), "
                       f"{int(keep.sum())} in the store",
            "code": provenance.chain(index.get("code"), shards[0].get("code"))}
    meta["wall_seconds"] = round(time.time() - t0, 2)
    print(meta["summary"], file=sys.stderr)
    if not (folder / BUILD).exists():
        raise BenchmarkError(f"{name}: {folder / BUILD} is missing; delete {folder} and re-run (the index step "
                             "starts the preparation again)")
    pn.finish(out_dir, folder / BUILD, keep, table, meta)
    # the parts are spent (the build file is now signals.npy): without them, a store deleted later is prepared
    # again from the index step, never from markers of rows that are gone
    shutil.rmtree(folder, ignore_errors=True)
