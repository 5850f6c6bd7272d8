"""What PTB-XL and CPSC2018 share: where the raw copy lives, reading and checking WFDB records, turning a
record into a fixed-size normalised array, and building the store in parallel.

A record is read once (WFDB header + digital samples), checked (file size against the header, the header's
per-signal checksums, 12 named leads, units), converted to millivolts, cleaned of NaN/inf, resampled to the
configured rate, cropped or padded to the configured length and normalised (benchmark.data.preprocess).
Anything wrong with a record raises BadRecord naming it; the dataset modules then stop with a clear error or,
when the preset allows it (`bad_records: skip`), leave it out and list it in meta.json.
"""
from __future__ import annotations

import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from benchmark.data.download import PHYSIONET  # noqa: F401  (re-exported for the workflow)
from benchmark.data.preprocess import fit_length, normalise, resample
from benchmark.data.store import LEADS, adopt_store, create_npy, write_rows, write_store
from benchmark.errors import BenchmarkError, ConfigError
from benchmark.io import read_json, stable_hash

# Bytes per sample of the WFDB formats whose file size follows from the header alone.
_BYTES_PER_SAMPLE = {"8": 1, "80": 1, "16": 2, "61": 2, "160": 2, "24": 3, "32": 4}
# The digital value WFDB reserves for "no sample" (becomes NaN).
_INVALID = {"8": -128, "80": -128, "16": -32768, "61": -32768, "160": -32768, "212": -2048, "310": -512,
            "311": -512, "24": -(2 ** 23), "32": -(2 ** 31)}
_UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "μv": 1e-3, "µv": 1e-3, "v": 1e3}
_LEAD_INDEX = {name.upper(): i for i, name in enumerate(LEADS)}


class BadRecord(BenchmarkError):
    def __init__(self, record: str, reason: str):
        super().__init__(f"record {record}: {reason}")
        self.record, self.reason = record, reason


# ------------------------------------------------------------------------------------------------ locations
def raw_root(config: dict, source: str) -> Path:
    """The folder holding a source's files in PhysioNet's layout: the preset's `<source>_dir`, else the
    download folder under `raw_dir`."""
    key = PHYSIONET[source].config_key
    return Path(config[key]) if config.get(key) else Path(config["raw_dir"]) / source


def download_marker(config: dict, source: str, part: str) -> Path:
    return Path(config["raw_dir"]) / source / ".downloads" / f"{part}.json"


def ptbxl_folder(ds: dict, sampling_rate: int) -> str:
    """records100 or records500: the configured one, or (auto) the lowest native rate >= the target rate."""
    choice = ds.get("records", "auto")
    if choice == "auto":
        return "records100" if sampling_rate <= 100 else "records500"
    return f"records{choice}"


def needed_parts(config: dict, name: str) -> list[str]:
    ds = config["datasets"][name]
    if ds["source"] == "ptbxl":
        return ["metadata", ptbxl_folder(ds, config["data"]["sampling_rate"])]
    if ds["source"] in ("cpsc2018", "csn"):
        return ["records"]
    if ds["source"] == "mimic_ecg":
        return ["metadata", "records"]
    return []


def downloaded_tables(config: dict, source: str, part: str) -> list[Path]:
    """The metadata tables a downloaded part holds (PTB-XL's ptbxl_database.csv and scp_statements.csv): outputs of
    the workflow's download rule and inputs of the preparation, so an edited table (newer than the store)
    re-runs the preparation."""
    return [raw_root({**config, PHYSIONET[source].config_key: None}, source) / name
            for name in PHYSIONET[source].required.get(part, ()) if name.endswith(".csv")]


def download_inputs(config: dict, name: str) -> list[Path]:
    """Download markers (and downloaded metadata tables) a dataset waits for; none when the preset points at a
    local copy, whose files the prepare rule fingerprints instead (raw_fingerprint)."""
    source = config["datasets"][name]["source"]
    if source not in PHYSIONET or config.get(PHYSIONET[source].config_key):
        return []
    return [p for part in needed_parts(config, name)
            for p in [download_marker(config, source, part)] + downloaded_tables(config, source, part)]


def check_local_copies(config: dict) -> None:
    """A configured local copy must exist (checked when the workflow is built, before anything runs)."""
    for name, ds in config["datasets"].items():
        remote = PHYSIONET.get(ds["source"])
        if remote and config.get(remote.config_key) and not Path(config[remote.config_key]).is_dir():
            raise ConfigError(
                f"{remote.config_key} is {config[remote.config_key]!r} (dataset {name!r}), which is not a folder "
                f"(relative paths count from {Path.cwd()}). Point it at a copy of {remote.title} in PhysioNet's layout, "
                f"or set it to null to download the data from {remote.base_url}")


def find_headers(base: Path, root: Path) -> dict[str, Path]:
    """Record name -> path without extension, for every WFDB header under `base` (any depth); a name found twice
    stops the preparation, naming both files (`root`: the copy, for the message)."""
    out: dict[str, Path] = {}
    for hea in sorted(base.rglob("*.hea")):
        if hea.stem in out:
            raise BenchmarkError(f"record {hea.stem} appears twice under {root}: {out[hea.stem]}.hea and {hea}")
        out[hea.stem] = hea.with_suffix("")
    return out


def raw_fingerprint(config: dict, name: str) -> str | None:
    """What the raw files dataset `name` is prepared from hold (None for a generated dataset): every file's content
    and name, not where the copy lies nor when its files were written (benchmark.data.content; a cache keyed by
    path, size and modification time spares reading unchanged files). An edited label or record changes it, so
    the store is rebuilt; a content-identical copy (`cp` without -p, a restored backup) changes nothing. PTB-XL:
    the top-level files and the records folder in use; the other sources: the whole copy."""
    from benchmark.data import content

    ds = config["datasets"][name]
    if ds["source"] not in PHYSIONET:
        return None
    root = raw_root(config, ds["source"])
    if not root.is_dir():
        return None
    used = ptbxl_folder(ds, config["data"]["sampling_rate"]) if ds["source"] == "ptbxl" else None
    skip = {p.name for p in root.iterdir() if used and p.is_dir() and p.name.startswith("records") and p.name != used}
    return content.fingerprint(root, Path(config["cache_dir"]) / "raw_files", skip)


def prepared_hash(config: dict, name: str) -> str:
    """What a finished store depends on: its settings, what its raw files hold (an edited label or record rebuilds
    the store; a copy of the same files elsewhere does not) and the code of its preparation step (a fix there
    rebuilds it). Equal hashes mean re-running the preparation would change nothing."""
    from benchmark import stepcode

    ds = config["datasets"][name]
    return stable_hash({"dataset": ds, "data": config["data"], "raw_files": raw_fingerprint(config, name),
                        "code": stepcode.fingerprint("prepare", source=ds["source"]),
                        "format": 2})  # 2: label-set columns (sub, form, rhythm, all)


def up_to_date(out_dir: Path, key: str) -> bool:
    meta = out_dir / "meta.json"
    if meta.exists() and (out_dir / "signals.npy").exists() and (out_dir / "records.csv").exists():
        try:
            same = read_json(meta).get("prepared_hash") == key
        except BenchmarkError:
            return False
        if not same:
            print(f"{out_dir} was prepared from other settings or other raw files (an edited label, report or "
                  "record); rebuilding it", file=sys.stderr)
        return same
    return False


# ------------------------------------------------------------------------------------------------ one record
@dataclass
class Header:
    """The parts of a WFDB header (.hea) the benchmark uses."""
    n_sig: int
    fs: float
    sig_len: int
    file_name: list
    fmt: list
    byte_offset: list
    adc_gain: list
    baseline: list
    units: list
    checksum: list
    sig_name: list
    comments: list
    simple: bool = True  # single segment, no skew / samples-per-frame: the fast reader applies


def _num(text: str, kind=float):
    return kind(float(text)) if kind is int else kind(text)


def parse_header(path: Path, record: str) -> Header:
    """A WFDB header (PhysioNet's format spec: record line, one line per signal, '#' comments).

    Written here because wfdb.rdheader spends ~10 ms per header in pandas look-ups, which dominated the
    preprocessing time; records using features this parser does not handle (multi-segment records, skew,
    several samples per frame) are marked not `simple` and read by wfdb instead.
    """
    try:
        text = path.with_suffix(".hea").read_text(encoding="latin-1")
    except OSError as e:
        raise BadRecord(record, f"unreadable header {path}.hea ({e.strerror or e})") from None
    lines = [ln.strip() for ln in text.splitlines()]
    comments = [ln[1:].strip() for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    try:
        head = body[0].split()
        simple = "/" not in head[0]
        n_sig = int(head[1])
        fs = float(head[2].split("/")[0].split("(")[0]) if len(head) > 2 else 250.0
        sig_len = int(head[3]) if len(head) > 3 else 0
        fields = {k: [] for k in ("file_name", "fmt", "byte_offset", "adc_gain", "baseline", "units", "checksum",
                                  "sig_name")}
        for ln in body[1:1 + n_sig]:
            f = ln.split(None, 8)
            fmt = f[1]
            simple &= "x" not in fmt and ":" not in fmt
            fmt, _, offset = fmt.partition("+")
            fmt = fmt.split("x")[0].split(":")[0]
            gain_field = f[2] if len(f) > 2 else "200"
            gain_text, _, units = gain_field.partition("/")
            baseline = None
            if "(" in gain_text:
                gain_text, baseline = gain_text.rstrip(")").split("(")
            adc_zero = int(f[4]) if len(f) > 4 else 0
            gain = float(gain_text) or 200.0
            fields["file_name"].append(f[0])
            fields["fmt"].append(fmt)
            fields["byte_offset"].append(int(offset) if offset else 0)
            fields["adc_gain"].append(gain)
            fields["baseline"].append(int(baseline) if baseline is not None else adc_zero)
            fields["units"].append(units or "mV")
            fields["checksum"].append(int(f[6]) if len(f) > 6 else None)
            fields["sig_name"].append(f[8].strip() if len(f) > 8 else "")
        if len(fields["fmt"]) != n_sig:
            raise ValueError(f"{n_sig} signals announced, {len(fields['fmt'])} described")
    except (IndexError, ValueError) as e:
        raise BadRecord(record, f"unreadable header {path}.hea ({e or 'too few fields'})") from None
    return Header(n_sig, fs, sig_len, comments=comments, simple=simple, **fields)


def _digital(path: Path, header: Header, record: str) -> np.ndarray:
    """(sig_len, n_sig) digital samples: format 16 straight from the file, anything else through wfdb."""
    if header.simple and set(header.fmt) == {"16"} and len(set(header.file_name)) == 1 \
            and len(set(header.byte_offset)) == 1:
        with open(path.parent / header.file_name[0], "rb") as f:
            f.seek(header.byte_offset[0])
            d = np.fromfile(f, dtype="<i2", count=header.sig_len * header.n_sig)
        if d.size != header.sig_len * header.n_sig:
            raise BadRecord(record, f"truncated signal: {d.size} samples in the data file, header says "
                                    f"{header.sig_len * header.n_sig}")
        return d.reshape(header.sig_len, header.n_sig)
    import wfdb

    try:
        rec = wfdb.rdrecord(str(path), physical=False)
    except Exception as e:  # wfdb raises many types for malformed input
        raise BadRecord(record, f"unreadable signal ({type(e).__name__}: {str(e)[:200]})") from None
    if rec.d_signal is None:
        raise BadRecord(record, "unreadable signal (wfdb returned no samples)")
    return rec.d_signal


def read_wfdb(path: str | Path, record: str) -> tuple[np.ndarray, float, list[str]]:
    """(12, T) float32 millivolts in LEADS order, sampling rate, header comments. Raises BadRecord."""
    path = Path(path)
    header = parse_header(path, record)
    if header.n_sig != 12:
        raise BadRecord(record, f"header {path}.hea describes {header.n_sig} signals; expected 12 leads")
    if not header.sig_len:
        raise BadRecord(record, f"header {path}.hea gives no signal length")
    for fname in sorted(set(header.file_name)):
        data_file = path.parent / fname
        if not data_file.exists():
            raise BadRecord(record, f"data file {data_file} named by the header is missing")
        idx = [i for i in range(header.n_sig) if header.file_name[i] == fname]
        fmts = {header.fmt[i] for i in idx}
        if header.simple and len(fmts) == 1 and next(iter(fmts)) in _BYTES_PER_SAMPLE:
            expected = max(header.byte_offset[i] for i in idx) + header.sig_len * len(idx) * \
                _BYTES_PER_SAMPLE[next(iter(fmts))]
            actual = data_file.stat().st_size
            if actual < expected:
                raise BadRecord(record, f"truncated signal: {data_file} has {actual} bytes, the header promises "
                                        f"{expected} ({header.sig_len} samples x {len(idx)} signals)")
            if actual > expected:
                raise BadRecord(record, f"header/data mismatch: {data_file} has {actual} bytes, more than the "
                                        f"{expected} the header describes")
    d = _digital(path, header, record)
    if d.shape != (header.sig_len, 12):
        raise BadRecord(record, f"header/data mismatch: read {d.shape} samples, header says ({header.sig_len}, 12)")
    for i, expected in enumerate(header.checksum):
        if expected is not None and int(d[:, i].astype(np.int64).sum()) % 65536 != expected % 65536:
            raise BadRecord(record, f"header/data mismatch: the checksum of lead {header.sig_name[i]} does not "
                                    f"match {path}.hea (corrupt or altered data file)")
    order = [_LEAD_INDEX.get(str(name).strip().upper()) for name in header.sig_name]
    if sorted(o for o in order if o is not None) != list(range(12)):
        raise BadRecord(record, f"leads {header.sig_name} in {path}.hea are not the 12 standard leads "
                                f"({', '.join(LEADS)}) once each")
    x = np.empty((12, header.sig_len), dtype=np.float32)
    for i in range(12):
        unit = header.units[i].strip().lower()
        if unit not in _UNIT_TO_MV:
            raise BadRecord(record, f"lead {header.sig_name[i]}: unknown unit {header.units[i]!r} in {path}.hea")
        lead = (d[:, i].astype(np.float64) - header.baseline[i]) / header.adc_gain[i] * _UNIT_TO_MV[unit]
        invalid = _INVALID.get(header.fmt[i])
        if invalid is not None:
            lead[d[:, i] == invalid] = np.nan
        x[order[i]] = lead
    return x, header.fs, header.comments


def dx_codes(comments: list[str]) -> list[str]:
    """The SNOMED-CT codes of a header's `#Dx:` comment (CinC 2020 copies, CSN), in order."""
    for line in comments:
        key, _, value = line.partition(":")
        if key.strip().lower() == "dx":
            return [c.strip() for c in value.replace(";", ",").split(",") if c.strip()]
    return []


def clean_nonfinite(x: np.ndarray, record: str, max_fraction: float) -> int:
    """Replace NaN/inf in place by linear interpolation within each lead; return how many were replaced.
    More than `max_fraction` of the samples non-finite (or a whole lead) makes the record bad."""
    bad = ~np.isfinite(x)
    n = int(bad.sum())
    if n == 0:
        return 0
    if n > max_fraction * x.size:
        raise BadRecord(record, f"{n} of {x.size} samples are NaN/inf (more than max_nonfinite={max_fraction})")
    t = np.arange(x.shape[1])
    for i in np.flatnonzero(bad.any(axis=1)):
        ok = ~bad[i]
        if not ok.any():
            raise BadRecord(record, f"lead {LEADS[i]} has no finite sample")
        x[i, ~ok] = np.interp(t[~ok], t[ok], x[i, ok])
    return n


@dataclass(frozen=True)
class SignalSpec:
    sampling_rate: int
    n_samples: int
    normalisation: str
    crop: str = "start"
    pad: str = "zero"
    max_nonfinite: float = 0.01
    expect_fs: tuple = ()          # native rates a record may have (empty: any)
    expect_seconds: float | None = None  # exact native duration a record must have (None: any)
    dtype: str = "float32"         # the store's (benchmark.data.store.STORE_DTYPES)
    # how a record is read: (path without extension, record id) -> ((12, T) mV, rate, header comments); a
    # source with another layout passes its own (CPSC2018's original .mat files: cpsc2018.read_record)
    read: Callable = read_wfdb


def process_record(path: str | Path, record: str, spec: SignalSpec) -> tuple[np.ndarray, int, float]:
    """Read and preprocess one record: ((12, n_samples) float32, non-finite samples fixed, native seconds)."""
    x, fs, _ = spec.read(Path(path), record)
    if spec.expect_fs and fs not in spec.expect_fs:
        raise BadRecord(record, f"header/data mismatch: sampling rate {fs:g} Hz, expected {spec.expect_fs}")
    if spec.expect_seconds is not None and x.shape[1] != round(spec.expect_seconds * fs):
        raise BadRecord(record, f"header/data mismatch: {x.shape[1]} samples at {fs:g} Hz, expected "
                                f"{spec.expect_seconds:g} s")
    fixed = clean_nonfinite(x, record, spec.max_nonfinite)
    native = x.shape[1] / fs
    x = resample(x, fs, spec.sampling_rate)
    x = fit_length(x, spec.n_samples, spec.crop, spec.pad)
    x = normalise(x, spec.normalisation)
    if not np.isfinite(x).all():
        raise BadRecord(record, "non-finite values after preprocessing")
    return np.ascontiguousarray(x, dtype=np.float32), fixed, native


# ------------------------------------------------------------------------------------------------ many records
_WORKER: dict = {}


def _init_worker(build_path: str, offset: int, spec: SignalSpec) -> None:
    _WORKER["fd"] = os.open(build_path, os.O_WRONLY)
    _WORKER["offset"] = offset
    _WORKER["spec"] = spec


def _work(chunk: list[tuple[int, str, str]]) -> list[tuple[int, str | None, int, float]]:
    out = []
    fd, offset, spec = _WORKER["fd"], _WORKER["offset"], _WORKER["spec"]
    for row, path, record in chunk:
        try:
            x, fixed, native = process_record(path, record, spec)
            write_rows(fd, offset, row, x[None], spec.dtype)   # positional write: the process never maps the file
            out.append((row, None, fixed, native))
        except BadRecord as e:
            out.append((row, e.reason, 0, float("nan")))
    return out


def build_signals(jobs: list[tuple[str, str]], build_path: Path, spec: SignalSpec, threads: int | None,
                  label: str) -> list[tuple[str | None, int, float]]:
    """Preprocess records [(path without extension, record id)] into a (N, 12, T) array file at `build_path`,
    in `threads` processes. Returns (problem or None, non-finite samples fixed, native seconds) per job."""
    offset = create_npy(build_path, (len(jobs), 12, spec.n_samples), spec.dtype)
    return build_rows(jobs, build_path, offset, 0, spec, threads, label)


def build_rows(jobs: list[tuple[str, str]], build_path: Path, offset: int, first_row: int, spec: SignalSpec,
               threads: int | None, label: str) -> list[tuple[str | None, int, float]]:
    """Preprocess records into rows first_row, first_row + 1, ... of an existing array file (data at byte
    `offset`): build_signals, or one shard of a dataset prepared in parts (benchmark.data.mimic)."""
    n = len(jobs)
    workers = max(1, min(threads or 1, os.cpu_count() or 1))
    size = max(1, min(256, math.ceil(n / (workers * 4)) if n else 1))
    chunks = [[(first_row + i, str(jobs[i][0]), jobs[i][1]) for i in range(s, min(n, s + size))]
              for s in range(0, n, size)]
    results: list = [None] * n
    t0, last = time.time(), time.time()
    done = 0
    if workers == 1:
        _init_worker(str(build_path), offset, spec)
        outputs = map(_work, chunks)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(str(build_path), offset, spec))
        outputs = pool.map(_work, chunks)
    try:
        for chunk_out in outputs:
            for row, problem, fixed, native in chunk_out:
                results[row - first_row] = (problem, fixed, native)
            done += len(chunk_out)
            if time.time() - last > 10:
                last = time.time()
                print(f"{label}: {done}/{n} records preprocessed ({done / (time.time() - t0):.0f}/s)",
                      file=sys.stderr, flush=True)
    finally:
        if pool is not None:
            pool.shutdown()
        if "fd" in _WORKER:
            os.close(_WORKER["fd"])
        _WORKER.clear()
    return results


def build_and_write(name: str, out_dir: Path, jobs: list[tuple[str, str]], spec: "SignalSpec", threads: int | None,
                    policy: str, listed: int, missing: int, problems: list[tuple[str, str]], key: str, t0: float,
                    tables) -> None:
    """The part every PhysioNet source shares once its records are chosen: preprocess `jobs` [(path without
    extension, record id)] in worker processes straight into a build file (positional writes), stop or skip the bad
    ones per `policy`, and write the store (the build file becomes signals.npy; memory stays bounded by a chunk).
    `tables(results, keep)` returns the source's records table (one row per job) and meta; the counts, timings,
    summary and hash every source records are added here. `problems`: records already rejected before
    preprocessing (label or header problems), counted as skipped."""
    out_dir.mkdir(parents=True, exist_ok=True)
    build = out_dir / ".signals-build.npy"
    try:
        t1 = time.time()
        results = build_signals(jobs, build, spec, threads, name)
        seconds = time.time() - t1
        bad = [(rid, r[0]) for (_, rid), r in zip(jobs, results) if r[0] is not None]
        report_problems(name, bad, policy, f"datasets.{name}.bad_records")
        keep = np.array([r[0] is None for r in results], dtype=bool)
        records, meta = tables(results, keep)
        kept = int(keep.sum())
        summary = summary_line(name, listed, missing, len(problems) + len(bad), kept)
        print(summary, file=sys.stderr, flush=True)
        meta["counts"] = {"listed": listed, "not_on_disk": missing, "bad_skipped": len(problems) + len(bad),
                          "kept": kept, "nonfinite_samples_fixed": int(sum(r[1] for r in results)),
                          **meta.get("counts", {})}
        meta.update({"skipped_bad_records": [{"record": r, "reason": w} for r, w in problems + bad],
                     "summary": summary, "preprocess_seconds": round(seconds, 2),
                     "records_per_second": round(len(jobs) / max(seconds, 1e-9), 1), "prepared_hash": key,
                     "wall_seconds": round(time.time() - t0, 2)})
        finish(out_dir, build, keep, records, meta)
    finally:
        build.unlink(missing_ok=True)


def finish(out_dir: Path, build_path: Path, keep: np.ndarray, records: pd.DataFrame, meta: dict) -> None:
    """Write the store from the build array, leaving out rows not in `keep`: the build file itself becomes
    signals.npy when every row is kept; otherwise the kept rows are copied chunk by chunk (never all in
    memory)."""
    if keep.all():
        adopt_store(out_dir, build_path, records.reset_index(drop=True), meta)
    else:
        rows = np.flatnonzero(keep)
        write_store(out_dir, np.load(build_path, mmap_mode="r"), records.iloc[rows].reset_index(drop=True), meta, rows)


def report_problems(dataset: str, problems: list[tuple[str, str]], policy: str, setting: str) -> None:
    """Bad records: stop with all of them named (policy error), or print them (policy skip)."""
    if not problems:
        return
    listing = "\n".join(f"  {rid}: {why}" for rid, why in problems[:25])
    more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
    if policy == "error":
        raise BenchmarkError(
            f"dataset {dataset}: {len(problems)} bad record(s):\n{listing}{more}\n"
            f"Fix or remove the files, or set `{setting}: skip` to leave such records out (they are then listed "
            "in meta.json)")
    print(f"{dataset}: skipping {len(problems)} bad record(s) ({setting}: skip):\n{listing}{more}",
          file=sys.stderr, flush=True)


def require_complete(dataset: str, ds: dict, listed: int, missing: dict[str, list[str]], root: Path,
                     config_key: str) -> None:
    """A copy lacking records its metadata lists stops the run before anything trains, unless the preset accepts
    a subset (`allow_partial: true`): numbers on part of a dataset are not comparable with the paper's.
    `missing` maps a folder of the copy (e.g. records500/01000) to the records missing there."""
    n_missing = sum(len(v) for v in missing.values())
    if not n_missing or ds.get("allow_partial", False):
        return
    folders = sorted(missing)
    shown = "\n".join(f"  {f}/: {len(missing[f])} missing (e.g. {', '.join(missing[f][:3])})" for f in folders[:12])
    more = f"\n  ... and {len(folders) - 12} more folders" if len(folders) > 12 else ""
    raise BenchmarkError(
        f"dataset {dataset}: {n_missing} of the {listed} records its metadata lists are not on disk under {root}:\n"
        f"{shown}{more}\n"
        f"Complete the copy (or set {config_key}: null to download the dataset), or, to run on this subset knowingly, "
        f"set `datasets.{dataset}.allow_partial: true` (the leaderboard then shows the record counts used)")


def summary_line(dataset: str, listed: int, missing: int, bad: int, kept: int) -> str:
    return (f"{dataset}: {listed} records listed, {missing} not on disk (skipped), {bad} bad (skipped), "
            f"{kept} preprocessed")


def download_part(config: dict, source: str, part: str, out: Path) -> None:
    """Download one part of a PhysioNet project (benchmark.data.download: verified, resumable), then write the
    marker `out` the workflow waits for."""
    from benchmark.data.download import download_tree, local_copy_hint
    from benchmark.io import write_json

    remote = PHYSIONET.get(source)
    if remote is None or part not in remote.parts:
        raise ConfigError(f"nothing to download for source {source!r} part {part!r}; known: "
                          + ", ".join(f"{s}: {sorted(r.parts)}" for s, r in PHYSIONET.items()))
    dl = config["download"]
    dest = raw_root({**config, remote.config_key: None}, source)
    base_url = remote.url(dl["mirror"])
    summary = download_tree(base_url, dest, remote.parts[part], required=remote.required.get(part, ()),
                            workers=dl["workers"], retries=dl["retries"], backoff=dl["backoff"], timeout=dl["timeout"],
                            hint=local_copy_hint(remote.config_key, remote.title))
    write_json(out, {"source": source, "part": part, "title": remote.title, "dest": str(dest),
                     **summary, "finished": time.strftime("%Y-%m-%d %H:%M:%S")})
    print(f"{remote.title} [{part}]: {summary['files']} files verified in {dest} "
          f"({summary['downloaded'] + summary['resumed']} fetched, {summary['present']} already there)",
          file=sys.stderr)
