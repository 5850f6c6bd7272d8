#!/usr/bin/env python
"""Random batch reads from an on-disk store larger than RAM: can pre-training read MIMIC-IV-ECG's scale from disk?
(issue 22, point 3: 800,000 records do not fit in memory.)

Writes a synthetic store in the benchmark's layout (signals.npy, (N, 12, T), float32 as benchmark.data.store
writes it, float16 as the MIMIC-IV-ECG store keeps it, or int16 as MERL's), then reads training batches from it the
way pre-training does: benchmark.pretrain.epoch_batches' shuffled positions through benchmark.batches.BatchReader
(a background thread, `depth` batches ahead, --io-threads copying each batch: `pretrain.read_threads`). Per access pattern it reports the read rate (MB/s, ms per batch)
and, with --step-ms, the data wait as a share of the wall time when each batch is followed by a training step
of that length (the reader reads ahead while the step runs):

    random   every batch 128 rows drawn from the whole store (epoch_batches, `read_block: 1`)
    blocks   every batch made of runs of --block consecutive rows in a shuffled order of the runs (epoch_batches
             with `read_block`: the rows of a run are neighbours on disk, so a read serves several)

Cold cache: the file's pages are dropped first (posix_fadvise DONTNEED, no privilege needed); warm: the same
batches read again. With a store larger than RAM, "warm" is only as warm as the page cache can be.

    python scripts/bench_store_read.py --dir /tmp/store --records 200000 --rate 500 --dtype float32
    python scripts/bench_store_read.py --dir /tmp/store --records 200000 --rate 100 --step-ms 50

--keep leaves the store for the next run (one file per records, rate and dtype). Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.batches import BatchReader  # noqa: E402
from benchmark.pretrain import epoch_batches  # noqa: E402

LEADS, SECONDS = 12, 10


def write_store(path: Path, n: int, samples: int, dtype: np.dtype, chunk_rows: int = 1024) -> float:
    """signals.npy of n synthetic records (three random chunks tiled: content does not matter to the disk, but
    every byte is written, no sparse file), by positional writes whose pages are dropped as they go, so the page
    cache is free for the reads. Returns seconds."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    chunks = [(rng.normal(size=(chunk_rows, LEADS, samples)) * 300).astype(dtype) for _ in range(3)]
    header = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n, LEADS, samples))  # rows: below
    offset = header.offset
    del header
    row_bytes = chunks[0][0].nbytes
    fd = os.open(path, os.O_WRONLY)
    try:
        for i, start in enumerate(range(0, n, chunk_rows)):
            view = memoryview(chunks[i % 3][:min(n, start + chunk_rows) - start]).cast("B")
            pos = offset + start * row_bytes
            while view:
                written = os.pwrite(fd, view, pos)
                view, pos = view[written:], pos + written
            if i % 64 == 63:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - t0


def drop_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def read(path: Path, batches: list[np.ndarray], step_s: float, depth: int, threads: int = 1) -> dict:
    """Iterate the batches through BatchReader, sleeping step_s after each (a training step). The store is mapped
    for this read only: pages still mapped by a process are not dropped by drop_cache."""
    import torch

    signals = np.load(path, mmap_mode="r")
    reader = BatchReader(signals, np.arange(len(signals)), torch.zeros(len(signals), dtype=torch.long), batches,
                         torch.device("cpu"), depth=depth, io_threads=threads)
    t0, nbytes = time.perf_counter(), 0
    try:
        for item in reader:
            nbytes += item["ecg"].numel() * signals.dtype.itemsize   # bytes read from the store (batches are float32)
            if step_s:
                time.sleep(step_s)
    finally:
        reader.close()                       # one pool per read: its threads end with it
    return {"wall": time.perf_counter() - t0, "wait": reader.wait_seconds, "mb": nbytes / 1e6, "n": len(batches)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, required=True, help="folder for the store (needs N x 12 x T x bytes free)")
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--rate", type=int, default=500, help="stored sampling rate, Hz (10 s records)")
    p.add_argument("--dtype", choices=["float32", "float16", "int16"], default="float32",
                   help="float16: the MIMIC-IV-ECG store's (benchmark/data/store.py); int16: MERL's")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--batches", type=int, default=200, help="batches timed per pattern")
    p.add_argument("--block", type=int, default=16, help="consecutive rows per block in the `blocks` pattern")
    p.add_argument("--step-ms", type=float, default=0.0, help="also time reads beside a simulated training step")
    p.add_argument("--depth", type=int, default=2, help="batches read ahead (BatchReader's default: 2)")
    p.add_argument("--io-threads", type=int, default=1,
                   help="threads copying each batch's rows (1: BatchReader as pre-training uses it)")
    p.add_argument("--keep", action="store_true", help="keep the store for the next run")
    args = p.parse_args()

    dtype = np.dtype(args.dtype)
    samples = args.rate * SECONDS
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"signals_{args.records}_{args.rate}hz_{args.dtype}.npy"
    size_gb = args.records * LEADS * samples * dtype.itemsize / 1e9
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    if not path.exists():
        print(f"writing {path} ({size_gb:.1f} GB) ...", file=sys.stderr, flush=True)
        print(f"written in {write_store(path, args.records, samples, dtype):.0f} s", file=sys.stderr)
    patterns = {"random": epoch_batches(args.records, args.batch, 0, 0)[:args.batches],
                # pre-training's own shuffled runs (pretrain.read_block)
                f"blocks ({args.block} rows)": epoch_batches(args.records, args.batch, 0, 0, args.block)[:args.batches]}
    print(f"\nStore: {args.records:,} records x 12 x {samples} {args.dtype} = {size_gb:.1f} GB (RAM {ram_gb:.0f} GB); "
          f"batch {args.batch}, {args.batches} batches per pattern, read-ahead {args.depth}, "
          f"{args.io_threads} reading thread(s)"
          + (f", training step {args.step_ms:g} ms" if args.step_ms else "") + "\n")
    print("| pattern | cache | MB/s | ms per batch | data wait beside the step, % of wall |")
    print("|---|---|---:|---:|---:|")
    try:
        for name, batches in patterns.items():
            drop_cache(path)
            for cache in ("cold", "warm"):
                r = read(path, batches, 0.0, args.depth, args.io_threads)
                stepped = "-"
                if args.step_ms:
                    if cache == "cold":
                        drop_cache(path)
                    s = read(path, batches, args.step_ms / 1e3, args.depth, args.io_threads)
                    stepped = f"{100 * s['wait'] / s['wall']:.1f}"
                print(f"| {name} | {cache} | {r['mb'] / r['wall']:.0f} | {1e3 * r['wall'] / r['n']:.1f} | {stepped} |",
                      flush=True)
    finally:
        if not args.keep:
            path.unlink()


if __name__ == "__main__":
    main()
