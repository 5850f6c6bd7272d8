#!/usr/bin/env python
"""Data-path benchmark on the real PhysioNet subsets (../shared/data by default).

1. Preprocessing throughput (records/s): WFDB files -> the preprocessed store, for PTB-XL at 100 Hz (records100)
   and 500 Hz (records500) and CPSC2018, with 1 and N worker processes.
2. Training-batch reads: a batch of B records as the pre-training loop reads it (sorted random rows of the
   memory-mapped signals.npy), against reading the same B records with wfdb.rdrecord one by one (raw millivolts,
   no preprocessing at all, so the comparison favours wfdb). Reported side by side with their ratio; the target
   is a cache at least 50x faster.

Both sides are measured warm (the files are in the page cache after an untimed first pass), which is how an
epoch after the first one reads. Timings on a shared CPU are noisy: the script reports medians.

3. Peak memory (`--memory`): the peak resident set size of preparing a store, each case in its own child
   process (os.wait4's ru_maxrss): the shared PTB-XL subset (records100 at 100 Hz, records500 at 500 Hz), and
   a synthetic 20,000-record cohort at 500 Hz, 10 s (4.5 GiB of signals, more than a small machine's memory
   should have to hold). Target: under 2 GB for all, i.e. bounded by the chunk size, not the dataset.

    python scripts/bench_data.py                      # prints a Markdown table
    python scripts/bench_data.py --json results/bench_data.json
    python scripts/bench_data.py --memory [--synthetic-records 20000]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.config import load_config  # noqa: E402
from benchmark.data import prepare  # noqa: E402
from benchmark.data.store import load_store  # noqa: E402


def preset(data: Path, results: Path, rate: int, folder: int, seconds: float = 10) -> dict:
    overrides = {"results_dir": str(results), "ptbxl_dir": str(data / "ptbxl"), "cpsc2018_dir": str(data / "cpsc2018"),
                 "data": {"sampling_rate": rate, "seconds": seconds, "normalisation": "minmax"},
                 "datasets": {"ptbxl": {"source": "ptbxl", "records": folder, "allow_partial": True},
                              "cpsc2018": {"source": "cpsc2018", "allow_partial": True}}}  # the shared subsets
    return load_config(REPO / "config" / "local.yaml", overrides)


def bench_prepare(cfg: dict, name: str, out: Path, threads: int) -> dict:
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    prepare(cfg, name, out, threads)
    wall = time.perf_counter() - t0
    meta = load_store(out).meta
    n = meta["counts"]["kept"] + meta["counts"]["bad_skipped"]
    return {"records": n, "threads": threads, "preprocess_s": meta["preprocess_seconds"],
            "records_per_s": round(n / meta["preprocess_seconds"], 1), "wall_s": round(wall, 2),
            "records_per_s_wall": round(n / wall, 1)}


def bench_reads(store_dir: Path, raw_root: Path, batch: int, batches: int, seed: int = 0) -> dict:
    import wfdb

    store = load_store(store_dir)
    paths = [str(raw_root / f) for f in store.records["filename"]]
    rng = np.random.default_rng(seed)
    picks = [np.sort(rng.choice(len(store), size=min(batch, len(store)), replace=False)) for _ in range(batches)]

    def cache(rows):
        return np.ascontiguousarray(store.signals[rows])

    def per_record(rows):
        return [wfdb.rdrecord(paths[i]).p_signal for i in rows]

    for rows in picks:  # untimed warm-up pass for both (page cache)
        cache(rows)
        per_record(rows)
    t_cache, t_wfdb = [], []
    for rows in picks:
        t0 = time.perf_counter()
        x = cache(rows)
        t_cache.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        per_record(rows)
        t_wfdb.append(time.perf_counter() - t0)
    c, w = statistics.median(t_cache), statistics.median(t_wfdb)
    return {"batch": len(picks[0]), "batches": batches, "shape": list(x.shape),
            "cache_ms": round(1e3 * c, 3), "wfdb_ms": round(1e3 * w, 2), "ratio": round(w / c, 1)}


def synthetic_preset(results: Path, n_records: int, rate: int = 500, seconds: float = 10) -> dict:
    import yaml

    datasets = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())["datasets"]
    datasets["synth_ptbxl"].update(n_records=n_records)
    raw = {"results_dir": str(results), "data": {"sampling_rate": rate, "seconds": seconds, "normalisation": "minmax"},
           "datasets": datasets}
    return load_config(REPO / "config" / "demo.yaml", raw)


def prepare_in_child(case: str, out: Path, data: Path, n_records: int) -> None:
    """Run in the child process of `peak_rss`: prepare one case's store at `out`."""
    if case.startswith("ptbxl"):   # ptbxl100 / ptbxl500: records100 at 100 Hz, records500 at 500 Hz
        rate = int(case.removeprefix("ptbxl"))
        prepare(preset(data, out.parent, rate, rate), "ptbxl", out, 1)
    else:
        prepare(synthetic_preset(out.parent, n_records), "synth_ptbxl", out)


def peak_rss(case: str, out: Path, data: Path, n_records: int) -> dict:
    """Prepare one store in a fresh child process; its peak RSS (GiB), wall time and store size."""
    import shutil
    import subprocess

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--prepare-case", case, str(out), "--data", str(data),
                              "--synthetic-records", str(n_records)])
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit(f"preparing {case} failed (status {status})")
    size = (out / "signals.npy").stat().st_size
    return {"case": case, "records": len(load_store(out)), "store_gib": round(size / 2 ** 30, 2),
            "peak_rss_gib": round(usage.ru_maxrss / 2 ** 20, 2), "wall_s": round(time.perf_counter() - t0, 1)}


def main(argv=None) -> int:
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "--prepare-case":   # the child of peak_rss
        q = argparse.ArgumentParser()
        q.add_argument("--prepare-case", nargs=2)
        q.add_argument("--data", type=Path)
        q.add_argument("--synthetic-records", type=int)
        a = q.parse_args()
        prepare_in_child(a.prepare_case[0], Path(a.prepare_case[1]), a.data, a.synthetic_records)
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--memory", action="store_true", help="measure the peak RSS of preparing stores (part 3)")
    p.add_argument("--synthetic-records", type=int, default=20000)
    p.add_argument("--workdir", type=Path, help="where --memory writes its stores (default: a temporary folder)")
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 1])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    if args.memory:
        with tempfile.TemporaryDirectory(prefix="bench_mem_", dir=args.workdir) as tmp:
            real = (args.data / "ptbxl" / "ptbxl_database.csv").exists()
            cases = (["ptbxl100", "ptbxl500"] if real else []) + ["synthetic500"]
            rows = [peak_rss(c, Path(tmp) / c, args.data, args.synthetic_records) for c in cases]
        print("| case | records | store GiB | peak RSS GiB | wall s |\n|---|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['case']} | {r['records']} | {r['store_gib']} | {r['peak_rss_gib']} | {r['wall_s']} |")
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2) + "\n")
        return 0
    if not (args.data / "ptbxl" / "ptbxl_database.csv").exists():
        print(f"no PTB-XL copy under {args.data}; pass --data PATH (PhysioNet layout)", file=sys.stderr)
        return 2

    rows, reads = [], []
    with tempfile.TemporaryDirectory(prefix="bench_data_") as tmp:
        tmp = Path(tmp)
        cases = [("PTB-XL records100 -> 100 Hz", preset(args.data, tmp, 100, 100), "ptbxl", True),
                 ("PTB-XL records500 -> 500 Hz", preset(args.data, tmp, 500, 500), "ptbxl", True),
                 ("PTB-XL records500 -> 100 Hz (resampled)", preset(args.data, tmp, 100, 500), "ptbxl", False),
                 ("CPSC2018 500 Hz -> 500 Hz, 10 s crop", preset(args.data, tmp, 500, 500), "cpsc2018", False)]
        for label, cfg, name, read_bench in cases:
            for threads in sorted(set(args.threads)):
                out = tmp / f"{name}-{cfg['data']['sampling_rate']}-{cfg['datasets']['ptbxl']['records']}-{threads}"
                rows.append({"case": label, **bench_prepare(cfg, name, out, threads)})
            if read_bench:
                reads.append({"case": label, **bench_reads(out, args.data / "ptbxl", args.batch, args.batches)})

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    print(f"# Data benchmark ({machine})\n")
    print("## Preprocessing throughput (WFDB -> store)\n")
    print("| case | records | processes | preprocess s | records/s | wall s (incl. metadata) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['case']} | {r['records']} | {r['threads']} | {r['preprocess_s']} | {r['records_per_s']} | "
              f"{r['wall_s']} |")
    print(f"\n## Reading a training batch of {args.batch} records (median of {args.batches}, warm)\n")
    print("| store | batch shape | cache (memmap) ms | wfdb.rdrecord per record ms | ratio |")
    print("|---|---|---:|---:|---:|")
    for r in reads:
        print(f"| {r['case']} | {tuple(r['shape'])} | {r['cache_ms']} | {r['wfdb_ms']} | {r['ratio']}x |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine, "preprocess": rows, "reads": reads}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
