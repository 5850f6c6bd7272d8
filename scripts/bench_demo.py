"""Run the demo DAG the way a new user does and print its wall time and peak memory.

    python scripts/bench_demo.py [--cores N] [--keep DIR]     # fresh `git clone` of HEAD, then the demo there
    python scripts/bench_demo.py --in-place                   # this working tree, after deleting results/demo
    python scripts/bench_demo.py --in-place --seeds 0 1 2     # the three-seed run the published demo board comes from
    python scripts/bench_demo.py --config kernels=native      # the same with other settings (snakemake --config)

Default: the repository's HEAD is cloned into a new folder (committed leaderboard.md and all, nothing else:
uncommitted edits are not measured) and `snakemake --cores all --configfile config/demo.yaml` is run inside
it, exactly the README's command after its install step; every job runs, from data preparation to the board in
results/demo/, with a cold text-embedding cache. The run is then repeated with `--dry-run`, which must find
nothing to do. --in-place runs the same command in this working tree (results/demo/ deleted first, the
content-addressed text cache kept); that is how the board to publish is made (then: make publish PRESET=demo).

Peak memory is the largest sum of resident memory over snakemake and all its child processes, sampled every
0.2 s. Budget on an idle 2-core machine: at most 6 minutes and under 4 GB with the default single seed (three
seeds took 21.5 minutes and 2.13 GiB, which is why the demo's default stays one seed and the published demo board
comes from a three-seed run).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from timed_job import tree_rss  # noqa: E402  (scripts/: the one process-tree RSS sum)

REPO = Path(__file__).resolve().parent.parent
COMMAND = ["-m", "snakemake", "--cores", "all", "--configfile", "config/demo.yaml"]


def run(cmd: list[str], cwd: Path, log_path: Path) -> tuple[int, float, int]:
    t0, peak = time.time(), 0
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.2)
    return proc.returncode, time.time() - t0, peak


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", default="all")
    ap.add_argument("--keep", help="clone into this (new) folder instead of a temporary one")
    ap.add_argument("--in-place", action="store_true", help="run in this working tree (deletes results/demo first)")
    ap.add_argument("--seeds", type=int, nargs="+", help="pre-training seeds (the published demo board: 0 1 2)")
    ap.add_argument("--config", nargs="+", default=[], metavar="KEY=VALUE",
                    help="further settings for snakemake's --config, e.g. kernels=native (the portable/native ratio)")
    args = ap.parse_args()
    command = [sys.executable, *COMMAND]
    command[command.index("--cores") + 1] = args.cores
    settings = args.config + ([f"seeds=[{','.join(map(str, args.seeds))}]"] if args.seeds else [])
    if settings:
        command += ["--config", *settings]
    if args.in_place:
        where = REPO
        shutil.rmtree(REPO / "results" / "demo", ignore_errors=True)
        logs = REPO / "results"
        logs.mkdir(exist_ok=True)
    else:
        where = Path(args.keep or tempfile.mkdtemp(prefix="ecg-bench-demo-")) / "repo"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(where)], check=True)
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=where, capture_output=True,
                              text=True).stdout.strip()
        print(f"fresh clone of HEAD {head} in {where}")
        logs = where.parent
    load = os.getloadavg()[0]
    code, wall, peak = run(command, where, logs / "bench_demo.log")
    print(f"demo DAG: exit {code}, wall {wall:.0f} s ({wall / 60:.1f} min), peak memory {peak / 2**30:.2f} GiB "
          f"(sum over processes), {psutil.cpu_count()} CPUs, 1-min load average before the run {load:.2f}")
    again = subprocess.run(command + ["--dry-run"], cwd=where, capture_output=True, text=True)
    nothing = "Nothing to be done" in again.stdout + again.stderr
    print(f"second run (--dry-run): {'nothing to do' if nothing else 'WOULD RUN JOBS AGAIN'}")
    print(f"board: {where / 'results' / 'demo' / 'leaderboard.md'}; log: {logs / 'bench_demo.log'}")
    settings = sorted((where / "results" / "demo" / "settings").glob("*.json"), key=lambda p: p.stat().st_mtime)
    if settings:
        print(f"to publish it: python -m benchmark publish --config {settings[-1].relative_to(where)}")
    return code or (0 if nothing else 1)


if __name__ == "__main__":
    sys.exit(main())
