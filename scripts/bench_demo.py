"""Run the demo DAG from a clean results folder and print its wall time and peak memory.

    python scripts/bench_demo.py [--cores N] [--keep DIR]

The demo preset is copied with every output path (results, caches, leaderboard) redirected to a fresh
temporary folder, so nothing is reused and the project's own results and leaderboard.md are untouched.
Peak memory is the largest sum of resident memory over snakemake and all its child processes, sampled
every 0.2 s. Target on a 2-core machine: <= 10 minutes and < 4 GB.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parent.parent


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc] + proc.children(recursive=True):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", default="all")
    ap.add_argument("--keep", help="write into this folder instead of a temporary one")
    ap.add_argument("--in-place", action="store_true",
                    help="run config/demo.yaml as it is (deletes results/demo first, rewrites leaderboard.md)")
    args = ap.parse_args()
    out = Path(args.keep or tempfile.mkdtemp(prefix="ecg-bench-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    if args.in_place:  # the text-embedding cache is kept: it is keyed by content and shared by presets
        shutil.rmtree(REPO / cfg["results_dir"], ignore_errors=True)
        cfg_path = REPO / "config" / "demo.yaml"
    else:
        cfg.update(results_dir=str(out / "results"), cache_dir=str(out / "cache"), leaderboard=str(out / "leaderboard.md"))
        cfg_path = out / "demo.yaml"
        cfg_path.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "snakemake", "--cores", args.cores, "--configfile", str(cfg_path), "--nolock",
           "--directory", str(REPO), "--snakefile", str(REPO / "workflow" / "Snakefile")]
    t0, peak = time.time(), 0
    with open(out / "snakemake.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        ps = psutil.Process(proc.pid)
        while proc.poll() is None:
            peak = max(peak, tree_rss(ps))
            time.sleep(0.2)
    wall = time.time() - t0
    print(f"demo DAG: exit {proc.returncode}, wall {wall:.0f} s ({wall / 60:.1f} min), "
          f"peak memory {peak / 2**30:.2f} GiB (sum over processes), {psutil.cpu_count()} CPUs")
    print(f"outputs and log: {out}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
