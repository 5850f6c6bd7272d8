#!/usr/bin/env python
"""Run one workflow step and record what it cost: `timed_job.py ARGS...` runs `$REHEARSAL_PYTHON ARGS...` (the
interpreter that would have run the step) and writes one JSON line per job into $REHEARSAL_TIMES/.

scripts/rehearse.py points the workflow's BENCHMARK_PYTHON at a two-line shell script that execs this file, so
every rule's `"$BENCHMARK_PYTHON" -m benchmark <step> ...` is measured as it runs, with no edit to the workflow.
Recorded per job: argv, start and end (epoch seconds), wall seconds, CPU seconds (user + system, of the step and of
every process it waited for: os.wait4's rusage), the largest process's peak RSS (ru_maxrss) and the peak of the
RSS summed over the step's process tree (sampled every 0.2 s with psutil; memory-mapped store pages a step reads
count as resident, as they do for the kernel). Exit status and signals pass through unchanged.

Standard library and psutil only: the wrapper's own start-up (tens of milliseconds) is not in the job's numbers.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

SAMPLE_SECONDS = 0.2


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants (0 if it is gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def main(argv: list[str]) -> int:
    python = os.environ.get("REHEARSAL_PYTHON") or sys.executable
    out_dir = os.environ.get("REHEARSAL_TIMES")
    start = time.time()
    t0 = time.perf_counter()
    proc = subprocess.Popen([python, *argv])
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda n, _f: proc.send_signal(n))
    peak_tree = 0
    while True:
        # wait4 with WNOHANG: reaps the child only once it has ended, and returns its rusage then
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak_tree = max(peak_tree, tree_rss(proc.pid))
        time.sleep(SAMPLE_SECONDS)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if out_dir:
        record = {"argv": argv, "start": start, "end": start + wall, "wall_s": round(wall, 3),
                  "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
                  "user_s": round(usage.ru_utime, 3), "sys_s": round(usage.ru_stime, 3),
                  "max_rss_mb": round(usage.ru_maxrss / 1024, 1),           # Linux: kilobytes
                  "tree_rss_peak_mb": round(peak_tree / 2 ** 20, 1), "returncode": proc.returncode}
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, f"{uuid.uuid4().hex}.json"), "w") as f:
            json.dump(record, f)
    return proc.returncode if proc.returncode >= 0 else 128 - proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
