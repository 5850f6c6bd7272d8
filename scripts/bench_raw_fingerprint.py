"""What fingerprinting a local raw copy by content costs (benchmark.data.content), at MIMIC-IV-ECG's size.

Builds (once) a stand-in with MIMIC-IV-ECG's layout and file count: files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN.hea
and .dat, two files per study (about 800,000 studies, 1.6 M files), each file small (the real .dat files are 240
kB: the first, cold fingerprint reads them all once, which this stand-in cannot show at scale; every later one
reads only what changed). Then times:
  cold     no cache: every file read and hashed
  warm     nothing changed: the tree listed, the cache's first line read
  edited   one file's bytes changed (same size): that file read again
  copied   (--copy N) a `cp -r` copy of about N studies (new modification times): all of its files read once
  dag      (--dag) `snakemake -n` of the mimic preset pointing mimic_ecg_dir at the stand-in, twice (the second
           with the cache written by the first): the whole DAG build, as a user waits for it

  python scripts/bench_raw_fingerprint.py --root /tmp/mimic_standin --studies 800000 --dag
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.data import content  # noqa: E402


def build(root: Path, studies: int) -> float:
    """The stand-in tree (skipped when its marker says it holds `studies` studies already); returns seconds."""
    marker = root / ".standin"
    if marker.exists() and marker.read_text().strip() == str(studies):
        return 0.0
    t0 = time.perf_counter()
    shutil.rmtree(root, ignore_errors=True)
    files = root / "files"
    header = b"%d 12 500 5000\n" + b"".join(b"%d.dat 16 200 16 0 0 0 0 %s\n" % (0, lead)
                                            for lead in (b"I", b"II", b"III"))
    root.mkdir(parents=True)
    with open(root / "record_list.csv", "w") as f:
        f.write("subject_id,study_id,file_name,ecg_time,path\n")
        for k in range(studies):
            subject, study = 10000000 + k // 4, 40000000 + k
            folder = files / f"p{subject // 10000}" / f"p{subject}" / f"s{study}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{study}.hea").write_bytes(header % study)
            (folder / f"{study}.dat").write_bytes(study.to_bytes(8, "little") * 8)
            f.write(f"{subject},{study},{study},2150-01-01 00:00:00,files/p{subject // 10000}/p{subject}/s{study}/"
                    f"{study}\n")
    (root / "machine_measurements.csv").write_text("subject_id,study_id,report_0\n")
    marker.write_text(f"{studies}\n")
    return time.perf_counter() - t0


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def dag_build(root: Path, workdir: Path) -> float:
    cmd = [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(REPO / "workflow" / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(REPO / "config" / "mimic.yaml"),
           "--config", f"mimic_ecg_dir={root}"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"snakemake -n failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "mimic_standin")
    p.add_argument("--studies", type=int, default=800_000, help="two files each (MIMIC-IV-ECG: about 800,000)")
    p.add_argument("--copy", type=int, default=0, help="also time a `cp -r` copy of this many studies' folders")
    p.add_argument("--dag", action="store_true", help="also time `snakemake -n` of the mimic preset on the stand-in")
    args = p.parse_args()
    seconds = build(args.root, args.studies)
    n = sum(len(files) for _, _, files in content.listing(args.root))
    print(f"stand-in: {args.root}, {n:,} files" + (f" (built in {seconds:.0f} s)" if seconds else " (existing)"))
    time.sleep(content.RACY_NS / 1e9)   # files written in the last seconds are read every time (benchmark.data.content)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        cold, fp = timed(lambda: content.fingerprint(args.root, cache))
        warm, fp2 = timed(lambda: content.fingerprint(args.root, cache))
        assert fp == fp2
        one = next((args.root / "files").rglob("*.dat"))
        raw = bytearray(one.read_bytes())
        raw[0] ^= 1
        one.write_bytes(bytes(raw))
        edited, fp3 = timed(lambda: content.fingerprint(args.root, cache))
        raw[0] ^= 1
        one.write_bytes(bytes(raw))
        assert fp3 != fp and content.fingerprint(args.root, cache) == fp
        print(f"cold {cold:.1f} s, warm (nothing changed) {warm:.1f} s, one file edited {edited:.1f} s")
        if args.copy:
            part = Path(tmp) / "part"
            part.mkdir()
            for folder in sorted((args.root / "files").iterdir()):
                subprocess.run(["cp", "-r", str(folder), str(part / folder.name)], check=True)
                if sum(1 for _ in part.rglob("*.dat")) >= args.copy:
                    break
            time.sleep(content.RACY_NS / 1e9)
            first, _ = timed(lambda: content.fingerprint(part, cache))
            again, _ = timed(lambda: content.fingerprint(part, cache))
            print(f"a `cp -r` copy of {sum(len(f) for _, _, f in content.listing(part)):,} files: first {first:.1f} s, "
                  f"then {again:.2f} s")
        if args.dag:
            work = Path(tmp) / "work"
            work.mkdir()
            first = dag_build(args.root, work)
            second = dag_build(args.root, work)
            print(f"snakemake -n (mimic preset, mimic_ecg_dir = the stand-in): first {first:.1f} s (fingerprints "
                  f"every file's content), then {second:.1f} s (nothing changed)")


if __name__ == "__main__":
    main()
