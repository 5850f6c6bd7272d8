#!/usr/bin/env python
"""The paper preset's data path at full size, end to end on this machine: mirror -> serve -> download -> prepare.

1. mirror    `python -m benchmark mirror`: synthetic PTB-XL v1.0.3 and CPSC2018 in PhysioNet's layouts
             (benchmark.data.mirror; 21,799 and 6,877 records by default, the real counts);
2. serve     `python -m benchmark serve` on 127.0.0.1 (benchmark.data.serve), for the whole run;
3. download  `python -m benchmark download` for every part the paper preset needs (PTB-XL metadata and
             records500, CPSC2018's records), with `download.mirror` pointing at the server: each file is
             hashed as it arrives and renamed into place only when it matches SHA256SUMS.txt;
4. checksum  the same commands again on the finished copy: every file is hashed and found present, none fetched
             (what a re-run after an interruption costs);
5. prepare   `python -m benchmark prepare` for ptbxl and cpsc2018 (500 Hz, 10 s, min-max), as the workflow's
             prepare rule calls it (--threads = CPUs).

Each stage is a child process; the table gives its wall time, CPU time (user + system of the stage and every
process it started, from getrusage) and peak RSS (the sum over the stage's process tree, polled every 0.1 s: pages
shared between a parent and its forked workers count once per process, so this overstates the memory in use).
The preset is config/config.yaml with only raw_dir, results_dir and download.mirror changed (and, for a CPSC2018
mirror smaller than the real one, datasets.cpsc2018.allow_partial). With --snakemake, the download and prepare
steps run instead as `snakemake --until prepare_dataset` with those values given by --config, as one row.

    python scripts/bench_data_path.py                          # full size, in /tmp/bench_data_path
    python scripts/bench_data_path.py --ptbxl 500 --cpsc 200   # smaller
    python scripts/bench_data_path.py --mirror /tmp/fullmirror # reuse a mirror written before
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml
from timed_job import tree_rss  # scripts/: the one process-tree RSS sum

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def measure(label: str, cmd: list[str], log: Path, env: dict | None = None) -> dict:
    """Run one stage; its wall and CPU seconds and the peak RSS (MB) of its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = psutil.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.1)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"{label} failed (exit {proc.returncode}); see {log}:\n" + log.read_text()[-3000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"stage": label, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_rss_mb": round(peak / 2 ** 20)}


def size_gb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e9, 2)


def preset(work: Path, url: str, n_cpsc: int) -> Path:
    """config/config.yaml with where files go and where they come from changed; nothing else."""
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg.update(raw_dir=str(work / "raw"), results_dir=str(work / "results"),
               download={**cfg.get("download", {}), "mirror": url})
    if n_cpsc < 6877:
        cfg["datasets"]["cpsc2018"]["allow_partial"] = True
    path = work / "preset.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ptbxl", type=int, default=21799)
    p.add_argument("--cpsc", type=int, default=6877)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/bench_data_path"),
                   help="emptied first (except a --mirror inside it); holds the mirror, the download and the stores")
    p.add_argument("--mirror", type=Path, help="an existing mirror to serve instead of writing one")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--snakemake", action="store_true", help="download and prepare through snakemake --until")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)

    work = args.workdir
    for child in (work.iterdir() if work.exists() else []):
        if args.mirror is None or child.resolve() != args.mirror.resolve():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    work.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    logs.mkdir()
    py = [sys.executable, "-m", "benchmark"]
    rows = []
    mirror = args.mirror or work / "mirror"
    if args.mirror is None:
        rows.append(measure("mirror", py + ["mirror", "--out", str(mirror), "--ptbxl", str(args.ptbxl), "--cpsc",
                                            str(args.cpsc), "--seed", str(args.seed)], logs / "mirror.log"))
    made = json.loads((mirror / "mirror.json").read_text())
    n_ptbxl, n_cpsc = made["ptbxl_records"], made["cpsc2018_records"]

    env = {**os.environ, "no_proxy": "127.0.0.1,localhost"}
    server = psutil.Popen(py + ["serve", str(mirror)], cwd=REPO, stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = server.stdout.readline().split(" at ")[1].split()[0]
        cfg_path = preset(work, url, n_cpsc)
        from benchmark.config import load_config
        from benchmark.data.physionet import download_marker, needed_parts

        cfg = load_config(cfg_path)
        parts = [(cfg["datasets"][name]["source"], part) for name in ("ptbxl", "cpsc2018")
                 for part in needed_parts(cfg, name)]
        store = Path(cfg["results_dir"]) / "data"
        if args.snakemake:
            sm = [sys.executable, "-m", "snakemake", "--cores", str(args.threads), "--until", "prepare_dataset"]
            if n_cpsc < 6877:   # --config passes nested values as strings (allow_partial: 'true'): the preset file
                sm += ["--configfile", str(cfg_path)]
            else:               # the unchanged paper preset, three values given on the command line
                sm += ["--config", f"raw_dir={work / 'raw'}", f"results_dir={work / 'results'}",
                       f"download={{mirror: '{url}'}}"]
            rows.append(measure("snakemake --until prepare_dataset", sm, logs / "snakemake.log", env))
        else:
            for stage in ("download", "checksum"):
                for source, part in parts:
                    marker = download_marker(cfg, source, part)
                    marker.unlink(missing_ok=True)
                    rows.append(measure(f"{stage} {source} {part}", py + [
                        "download", "--config", str(cfg_path), "--source", source, "--part", part, "--out", str(marker)],
                        logs / f"{stage}_{source}_{part}.log", env))
            for name in ("ptbxl", "cpsc2018"):
                rows.append(measure(f"prepare {name}", py + [
                    "prepare", "--config", str(cfg_path), "--dataset", name, "--threads", str(args.threads),
                    "--out", str(store / name)], logs / f"prepare_{name}.log"))
        served = server.cpu_times()
        rows.append({"stage": "(server, during the downloads)", "wall_s": None,
                     "cpu_s": round(served.user + served.system, 1), "peak_rss_mb": round(server.memory_info().rss / 2 ** 20)})
    finally:
        server.terminate()
        server.wait(timeout=30)

    sizes = {"mirror_gb": size_gb(mirror), "download_gb": size_gb(work / "raw"), "stores_gb": size_gb(store)}
    machine = f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2 ** 30:.0f} GiB"
    print(f"# Data path: {n_ptbxl} PTB-XL + {n_cpsc} CPSC2018 records ({machine}; "
          f"mirror {sizes['mirror_gb']} GB, download {sizes['download_gb']} GB, stores {sizes['stores_gb']} GB)\n")
    print("| stage | wall s | CPU s | peak RSS MB |\n|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['stage']} | {'' if r['wall_s'] is None else r['wall_s']} | {r['cpu_s']} | {r['peak_rss_mb']} |")
    prep = [r for r in rows if r["stage"].startswith("prepare")]
    if prep:
        print(f"\nprepare, both datasets: {sum(r['wall_s'] for r in prep):.0f} s wall; largest peak RSS of any stage: "
              f"{max(r['peak_rss_mb'] for r in rows)} MB")
    if args.json:
        args.json.write_text(json.dumps({"records": {"ptbxl": n_ptbxl, "cpsc2018": n_cpsc}, "machine": machine,
                                         "sizes": sizes, "stages": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
