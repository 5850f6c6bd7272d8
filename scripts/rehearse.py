#!/usr/bin/env python
"""Rehearse the paper preset (config/config.yaml, unchanged) end to end on a synthetic PhysioNet mirror, time every
stage, and project the full preset's wall time from the measured rates.

    python scripts/rehearse.py [--records N] [--cpsc M] [--csn K] [--epochs E] [--methods ...] [--seeds ...]
                               [--workdir DIR] [--cores C] [--text-layers L] [--gpu-bench FILE] [--json FILE]

What it does, in the work folder (default: a new temporary folder, printed):
1. writes a mirror of N PTB-XL v1.0.3, M CPSC2018 and K CSN records in PhysioNet's layouts (benchmark.data.mirror) into
   mirror-<N>-<M>/ (reused when already there) and serves it on loopback (benchmark.data.serve);
2. builds a BERT-architecture text model of Bio_ClinicalBERT's kind: a transformers BertConfig with its shape
   (hidden 768, 12 layers, 12 heads, intermediate 3072, 512 positions; --text-layers makes it shallower) and random
   weights, with a cased WordPiece tokenizer trained (`tokenizers`) on the mirror's report texts and wrapped as a
   transformers BertTokenizerFast, both saved with save_pretrained into text/<name>/; the preset then loads it by
   folder path exactly as it loads emilyalsentzer/Bio_ClinicalBERT by Hub id (benchmark.text);
3. runs `snakemake --cores C --configfile config/config.yaml` with the work folder as Snakemake's working
   directory, so the preset's own relative paths (results/paper, results/raw, results/cache) land inside it, and
   overrides on the command line (--config) only what must change: `download.mirror` (the loopback URL),
   `pretrain.text_model` (the folder above) and `pretrain.epochs`; `methods` and `seeds` when given; and
   `datasets.{cpsc2018,csn}.allow_partial: true` when M (K) is below CPSC2018's 6,877 (CSN's 23,026) records (the preset refuses a partial
   copy, and a mirror of M records is one); and, when MERL runs, `evaluation.method_prompts.merl: names` (its
   CKEPE prompt file comes from GitHub, out of a loopback rehearsal's reach). Record counts change only through the
   mirror's size;
4. times every job: the workflow's steps run as `"$BENCHMARK_PYTHON" -m benchmark <step>`, and BENCHMARK_PYTHON is
   set to a wrapper (scripts/timed_job.py) that records each step's wall time, CPU time and peak RSS; no workflow
   file is edited. The downloaded files' checksums are verified inside the download jobs as the bytes arrive; the
   `checksum` stage is a separate second verification of the whole downloaded tree (what a re-run pays);
5. prints one table per stage (download, checksum, prepare, embed, pretrain per method, features, subsets,
   linear, zero-shot, compare, plots, board: jobs, wall, CPU, peak RSS) and the projection of the full preset
   (21,799 PTB-XL and 6,877 CPSC2018 records, the preset's epochs, methods, seeds, tasks and subsets) on this
   machine and on one GPU with 16 cores. Each projected figure says what it rests on: a rate measured here, or an
   assumption (marked "assumed"): no GPU was measured unless --gpu-bench names a bench_pretrain.py --json file
   made on one.

The board ends in <workdir>/results/paper/leaderboard.md (the preset's results_dir under the work folder). Every run
starts from an empty results/ (a rehearsal measures every stage), unless --resume.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.config import load_config  # noqa: E402
from benchmark.data import mirror_plan  # noqa: E402

PRESETS = {"paper": REPO / "config" / "config.yaml", "mimic": REPO / "config" / "mimic.yaml"}
PRESET = PRESETS["paper"]
MARKER = ".rehearsal"
# Bio_ClinicalBERT's architecture (bert-base-cased): what the text model is built like
BERT_SHAPE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
              "max_position_embeddings": 512, "type_vocab_size": 2}
BERT_VOCAB = 28996
# The real datasets' sizes (v1.0.3: 21,799 records; CPSC2018: 6,877) and the classes the PTB-XL benchmark's label
# sets have on the real data (Strodthoff et al. 2021: sub 23, form 19, rhythm 12, all 71); a mirror's synthetic
# findings use fewer statements, so linear-probe and statistics costs are scaled to these counts
FULL_RECORDS = {"ptbxl": mirror_plan.PTBXL_RECORDS, "cpsc2018": mirror_plan.CPSC_RECORDS,
                "csn": mirror_plan.CSN_RECORDS}
REAL_CLASSES = {"ptbxl_super": 5, "ptbxl_super_multi": 5, "ptbxl_sub": 23, "ptbxl_form": 19, "ptbxl_rhythm": 12,
                "ptbxl_all": 71, "cpsc2018": 9, "csn": 38}
# Assumptions of the GPU projection (used only where no measured GPU file is given), stated with the figures
GPU_NAME = "one H100/H200 SXM with 16 CPU cores"
GPU_PEAK_FLOPS = 989.4e12        # dense bf16 tensor-core peak of H100 SXM (H200: the same), vendor data sheet
# Assumed share of that peak a ResNet18-1D training step reaches under bf16 autocast. Not measured (no GPU here):
# well-tuned 2D ResNet-50 training reaches on the order of 10% of a recent GPU's dense bf16 peak; a 1D ResNet-18 with
# 64-512 channels, batch norm after every convolution and deterministic kernels is assumed to reach half that. Every
# GPU figure below is proportional to 1 / this value (UTILISATION_RANGE: the bounds printed beside the total).
GPU_UTILISATION = 0.05
UTILISATION_RANGE = (0.025, 0.10)
GPU_CORES = 16
GPU_JOB_LOAD = 3.0               # assumed seconds a GPU job spends loading weights and moving them to the device
ASSUMED_BANDWIDTH = 20e6         # assumed bytes/s from physionet.org (not measured here)
GPU_STAGES = ("embed", "pretrain", "features", "zero-shot")   # on the GPU, one job at a time (local-gpu profile)
STAGES = ["download", "checksum", "prepare", "embed", "pretrain", "features", "subsets", "linear", "zero-shot",
          "compare", "plots", "board"]
STEP_STAGE = {"download": "download", "prepare": "prepare", "prepare-index": "prepare index",
              "prepare-shard": "prepare shards", "embed-reports": "embed", "pretrain": "pretrain",
              "features": "features", "subsets": "subsets", "linear": "linear", "zeroshot": "zero-shot",
              "compare": "compare", "plots": "plots", "leaderboard": "board", "fetch-weights": "fetch weights"}


# ------------------------------------------------------------------------------------------------ helpers
def log(msg: str) -> None:
    print(f"[rehearse] {msg}", file=sys.stderr, flush=True)


def arg_of(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv and argv.index(flag) + 1 < len(argv) else None


def fmt_s(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "n/a"
    if seconds < 90:
        return f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def fmt_mb(mb: float | None) -> str:
    return "n/a" if not mb else (f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB")


def table(header: list[str], rows: list[list], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------ work folder
def prepare_workdir(workdir: Path, resume: bool) -> None:
    """The work folder is the rehearsal's own: created with a marker, and only then are its results ever deleted."""
    if workdir.exists() and any(workdir.iterdir()) and not (workdir / MARKER).exists():
        raise SystemExit(f"--workdir {workdir} is not empty and was not made by this script; give a new folder")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by scripts/rehearse.py; results/ and .snakemake/ are deleted on each run\n")
    for sub in ("times",) if resume else ("results", ".snakemake", "times"):
        shutil.rmtree(workdir / sub, ignore_errors=True)
    (workdir / "times").mkdir(exist_ok=True)


def write_or_reuse_mirror(workdir: Path, n: int, m: int, k: int, seed: int, cores: int,
                          j: int = 0) -> tuple[Path, dict]:
    from benchmark.data.mirror import write_mirror

    folder = workdir / f"mirror-{n}-{m}-{k}-{j}-s{seed}"
    done = folder / "mirror.json"
    if done.exists():
        log(f"reusing the mirror in {folder}")
        return folder, json.loads(done.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.time()
    summary = write_mirror(folder, n, m, seed=seed, workers=cores, log=log, n_csn=k, n_mimic=j)
    summary["wall_s"] = round(time.time() - t0, 1)
    return folder, summary


# ------------------------------------------------------------------------------------------------ text model
def mirror_reports(mirror: Path) -> list[str]:
    import pandas as pd

    from benchmark.data.mirror import ptbxl_root

    return pd.read_csv(ptbxl_root(mirror) / "ptbxl_database.csv", usecols=["report"])["report"].fillna("").tolist()


def build_text_model(reports: list[str], out_root: Path, layers: int, seed: int = 0) -> Path:
    """A BERT of Bio_ClinicalBERT's shape (`layers` deep) with random weights and a cased WordPiece tokenizer trained on
    `reports`, saved with save_pretrained into a folder named by what it holds (a changed build never reuses a path)."""
    shape = dict(BERT_SHAPE, num_hidden_layers=layers)
    key = hashlib.sha256(json.dumps({"reports": reports, "shape": shape, "seed": seed}).encode()).hexdigest()[:10]
    folder = out_root / f"bert-L{layers}-H{shape['hidden_size']}-{key}"
    if (folder / "config.json").exists():
        return folder
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    # bert-base-cased's normalisation (Bio_ClinicalBERT is cased): no lower-casing, accents kept
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False,
                                                lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(reports, trainers.WordPieceTrainer(vocab_size=BERT_VOCAB, special_tokens=specials,
                                                               continuing_subword_prefix="##"))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = BertTokenizerFast(tokenizer_object=tok, do_lower_case=False, model_max_length=shape["max_position_embeddings"],
                             unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]",
                             mask_token="[MASK]")
    torch.manual_seed(seed)
    model = BertModel(BertConfig(vocab_size=tok.get_vocab_size(), pad_token_id=tok.token_to_id("[PAD]"), **shape))
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    fast.save_pretrained(tmp)
    model.save_pretrained(tmp)
    os.replace(tmp, folder)
    return folder


def token_lengths(folder: Path, reports: list[str], max_length: int = 128) -> list[int]:
    """Tokens per report as benchmark.text feeds them (truncated at its max_length)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder))
    return [len(ids) for ids in tok(reports, truncation=True, max_length=max_length)["input_ids"]]


# ------------------------------------------------------------------------------------------------ the run
def overrides(mirror_url: str, text_model: Path, args, n_cpsc: int, n_csn: int) -> list[str]:
    pre = {"text_model": str(text_model), "epochs": args.epochs}
    out = [f"download={json.dumps({'mirror': mirror_url})}", f"pretrain={json.dumps(pre)}"]
    if args.methods:
        out.append(f"methods=[{','.join(args.methods)}]")
    if args.seeds:
        out.append(f"seeds=[{','.join(map(str, args.seeds))}]")
    datasets = {name: {"allow_partial": True} for name, n in (("cpsc2018", n_cpsc), ("csn", n_csn))
                if n < FULL_RECORDS[name]}
    if args.preset == "mimic" and args.shards:
        # fewer preparation jobs for a small mirror: the store's rows and contents do not depend on the count
        datasets["mimic"] = {"shards": args.shards}
    if datasets:
        out.append(f"datasets={json.dumps(datasets)}")
    # MERL's CKEPE prompts come from GitHub, which a rehearsal (loopback only) cannot reach: its row uses class names
    if not args.methods or "merl" in args.methods:
        out.append('evaluation={"method_prompts": {"merl": "names"}}')
    return out


def timed_python(workdir: Path) -> Path:
    """The BENCHMARK_PYTHON of the rehearsal: runs each step through scripts/timed_job.py."""
    path = workdir / "bin" / "python-timed"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{REPO / "scripts" / "timed_job.py"}" "$@"\n')
    path.chmod(0o755)
    return path


def run_snakemake(workdir: Path, config_args: list[str], cores: int, preset: Path = PRESET) -> tuple[int, float, str]:
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--snakefile", str(REPO / "workflow" / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(preset), "--config", *config_args]
    env = dict(os.environ, BENCHMARK_PYTHON=str(timed_python(workdir)), REHEARSAL_TIMES=str(workdir / "times"),
               REHEARSAL_PYTHON=sys.executable, no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(var, None)
    env.pop("BENCHMARK_INVOCATION", None)
    log("running: " + " ".join(cmd))
    t0 = time.time()
    with open(workdir / "snakemake.log", "w") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    wall = time.time() - t0
    return proc.returncode, wall, (workdir / "snakemake.log").read_text()


def checksum_pass(raw: Path) -> dict:
    """A second verification of every downloaded file against its SHA256SUMS.txt (one process)."""
    from benchmark.data.download import SUMS_FILE, parse_sums, sha256_file

    t0, c0 = time.perf_counter(), time.process_time()
    files = nbytes = bad = 0
    for sums_path in sorted(raw.glob(f"*/{SUMS_FILE}")):
        for rel, digest in parse_sums(sums_path.read_text()).items():
            path = sums_path.parent / rel
            if path.is_file():
                files += 1
                nbytes += path.stat().st_size
                bad += sha256_file(path) != digest
    return {"files": files, "bytes": nbytes, "mismatches": bad, "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0}


def startup_cost() -> dict:
    """What every step pays before its work: an interpreter importing torch and the package (median of 3 runs):
    wall and CPU seconds."""
    import resource

    code = "import torch, numpy, pandas, benchmark.evaluate.steps, benchmark.pretrain"
    walls, cpus = [], []
    for _ in range(3):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
        walls.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    return {"wall_s": sorted(walls)[1], "cpu_s": sorted(cpus)[1]}


def embed_rate(folder: Path, reports: list[str], threads: int) -> dict:
    """benchmark.text's encoder over `reports`, timed in this process: loading, then seconds per report."""
    import torch

    from benchmark.text import FrozenTextEncoder

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    enc = FrozenTextEncoder(str(folder))
    t1 = time.perf_counter()
    enc.encode(reports)
    t2 = time.perf_counter()
    return {"load_s": t1 - t0, "per_report_s": (t2 - t1) / max(len(reports), 1), "reports": len(reports),
            "threads": threads}


def real_token_ratio(reports: list[str]) -> float | None:
    """Tokens per real PTB-XL report / tokens per mirror report, both cut by an English BERT WordPiece vocabulary (the
    packaged all-MiniLM-L6-v2's; Bio_ClinicalBERT's is not on this machine) at benchmark.text's 128: the real reports
    (mostly German) split into more pieces than the mirror's English templates. None without the real table
    (../shared/data/ptbxl/ptbxl_database.csv) or the packaged model."""
    import pandas as pd

    table = REPO.parent / "shared" / "data" / "ptbxl" / "ptbxl_database.csv"
    try:
        from transformers import AutoTokenizer

        from benchmark.text import resolve_model

        tok = AutoTokenizer.from_pretrained(resolve_model("all-MiniLM-L6-v2"))
        real = pd.read_csv(table, usecols=["report"])["report"].fillna("").tolist()
    except Exception:  # no real table, or no packaged model: the projection says it did not scale
        return None
    mean = lambda texts: sum(map(len, tok(texts, truncation=True, max_length=128)["input_ids"])) / len(texts)  # noqa: E731
    return mean(real) / mean(reports)


def linear_at_paper_shape() -> dict:
    """scripts/bench_linear.py's measurement: all probes of one (method, seed) at the paper preset's shape (7 tasks x
    7 subsets, real split sizes and class counts, synthetic 512-d features), and `compare` for ptbxl_all over 27 runs;
    2 threads, CPU seconds."""
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location("bench_linear", REPO / "scripts" / "bench_linear.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    torch.set_num_threads(2)
    rows = bench.bench_linear(list(bench.TASKS), "batched")
    cmp_wall, cmp_cpu = bench.bench_compare(threads=2)
    return {"tasks": {r[0]: {"classes": r[1], "subsets": r[2], "wall_s": r[3], "cpu_s": r[4]} for r in rows},
            "compare_ptbxl_all": {"wall_s": cmp_wall, "cpu_s": cmp_cpu, "classes": bench.TASKS["ptbxl_all"][1]}}


# ------------------------------------------------------------------------------------------------ measurements
def read_jobs(workdir: Path) -> list[dict]:
    jobs = []
    for path in sorted((workdir / "times").glob("*.json")):
        job = json.loads(path.read_text())
        argv = job["argv"]
        step = argv[2] if len(argv) > 2 and argv[:2] == ["-m", "benchmark"] else "?"
        job["step"] = step
        job["stage"] = STEP_STAGE.get(step, step)
        for flag in ("method", "seed", "task", "dataset", "source", "part", "out", "threads"):
            job[flag] = arg_of(argv, f"--{flag}")
        jobs.append(job)
    return sorted(jobs, key=lambda j: j["start"])


def stage_rows(jobs: list[dict], checksum: dict | None) -> list[dict]:
    """One row per stage (pre-training: one per method): jobs, summed wall, span, CPU, peak RSS."""
    rows = []
    keys = []
    for stage in STAGES:
        if stage == "pretrain":
            keys += [("pretrain", m) for m in sorted({j["method"] for j in jobs if j["stage"] == "pretrain"})]
        else:
            keys.append((stage, None))
    keys += [(s, None) for s in sorted({j["stage"] for j in jobs} - set(STAGES))]
    for stage, method in keys:
        if stage == "checksum":
            if checksum:
                rows.append({"stage": "checksum", "jobs": 1, "wall_s": checksum["wall_s"], "span_s": checksum["wall_s"],
                             "cpu_s": checksum["cpu_s"], "rss_mb": None, "max_rss_mb": None,
                             "note": f"{checksum['files']} files, {checksum['bytes'] / 1e6:.0f} MB re-verified"})
            continue
        sel = [j for j in jobs if j["stage"] == stage and (method is None or j["method"] == method)]
        if not sel:
            continue
        rows.append({"stage": stage + (f" {method}" if method else ""), "jobs": len(sel),
                     "wall_s": sum(j["wall_s"] for j in sel),
                     "span_s": max(j["end"] for j in sel) - min(j["start"] for j in sel),
                     "cpu_s": sum(j["cpu_s"] for j in sel),
                     "rss_mb": max(j["tree_rss_peak_mb"] for j in sel), "max_rss_mb": max(j["max_rss_mb"] for j in sel),
                     "failed": sum(j["returncode"] != 0 for j in sel)})
    return rows


def print_stage_table(rows: list[dict], cores: int, snakemake_wall: float) -> str:
    body = [[r["stage"], r["jobs"], fmt_s(r["wall_s"]), fmt_s(r["span_s"]), fmt_s(r["cpu_s"]), fmt_mb(r["rss_mb"]),
             fmt_mb(r["max_rss_mb"])] for r in rows]
    total_wall = sum(r["wall_s"] for r in rows if r["stage"] != "checksum")
    total_cpu = sum(r["cpu_s"] for r in rows if r["stage"] != "checksum")
    body.append(["**all steps**", sum(r["jobs"] for r in rows if r["stage"] != "checksum"), fmt_s(total_wall),
                 fmt_s(snakemake_wall), fmt_s(total_cpu), "", ""])
    text = table(["stage", "jobs", "wall (sum of jobs)", "span (first start to last end)", "CPU (user+sys)",
                  "peak RSS (process tree)", "peak RSS (largest process)"], body)
    return text + (f"\n\nsnakemake, start to finish: {fmt_s(snakemake_wall)} on {cores} cores (jobs run side by side; the "
                   "checksum row is a separate second verification of the downloaded tree, outside that time).")


# ------------------------------------------------------------------------------------------------ projection
def method_flops(config: dict, names: list[str], n_samples: int) -> dict[str, dict]:
    """FLOPs per training sample (forward + backward of one training_step) and per feature sample (encoder forward),
    counted by torch.utils.flop_counter at the preset's input shape, per method."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from benchmark.inputs import InputSpec
    from benchmark.method import discover
    from benchmark.pretrain import build_method

    specs = discover()
    out = {}
    batch = 4
    rate = config["data"]["sampling_rate"]
    for name in names:
        spec = specs[name]
        text_dim = BERT_SHAPE["hidden_size"] if spec.cls.needs_text else None
        try:
            torch.manual_seed(0)
            method = build_method(spec, config, InputSpec(rate, n_samples), text_dim, 1, 1)
            b = {"ecg": torch.rand(batch, 12, n_samples), "patient": torch.tensor([0, 0, 1, 1]),
                 "text_emb": torch.randn(batch, text_dim or 1)}
            train = 0.0
            if spec.config["trains"]:
                with FlopCounterMode(display=False) as counter:
                    loss = method.training_step(b)
                    loss = loss["loss"] if isinstance(loss, dict) else loss
                    loss.backward()
                train = counter.get_total_flops() / batch
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                method.features(b["ecg"])
            out[name] = {"train_flops_per_sample": train, "feature_flops_per_sample": counter.get_total_flops() / batch}
        except Exception as e:  # a method whose step needs more than this batch: said, and left to the fallback
            out[name] = {"error": f"{type(e).__name__}: {str(e)[:120]}"}
    return out


class Projection:
    """The full preset's wall time per stage, from the rehearsal's measurements.

    Each job costs a start-up (measured: an interpreter importing torch and the package) plus work proportional to
    what it processes (records, training samples, bytes, test records x classes), at the rate measured here: from the
    step's own timers where it logs them (preparation: meta.json; pre-training: train_log.json's epoch seconds), from
    a direct timing of the same code (report embedding; linear probes and `compare` at the paper's shape with
    --bench-linear: scripts/bench_linear.py), else from the job's CPU time beyond the start-up.
    This machine: jobs that are one process each share its cores (CPU time / cores); a preparation, a report
    embedding and a pre-training use every core themselves (their wall time). The GPU machine: report embedding,
    pre-training, features and zero-shot run on the GPU one job at a time (the local-gpu profile); the rest share
    16 cores at this machine's per-core speed (assumed)."""

    def __init__(self, config: dict, full: dict, jobs: list[dict], workdir: Path, startup: dict, cores: int,
                 flops: dict, gpu_bench: dict | None, text: dict, checksum: dict | None, linear_bench: dict | None):
        self.config, self.full, self.jobs, self.workdir = config, full, jobs, workdir
        self.a, self.a_cpu = startup["wall_s"], startup["cpu_s"]
        self.cores, self.flops, self.gpu_bench, self.text = cores, flops, gpu_bench, text
        self.checksum, self.linear_bench = checksum, linear_bench
        self.results = workdir / config["results_dir"]
        self.rows: list[dict] = []

    # what the rehearsal's jobs worked on --------------------------------------------------------------------------
    def store_meta(self, dataset: str) -> dict:
        return json.loads((self.results / "data" / dataset / "meta.json").read_text())

    def store_split(self, dataset: str) -> dict:
        import pandas as pd

        split = pd.read_csv(self.results / "data" / dataset / "records.csv", usecols=["split"])["split"]
        return split.value_counts().to_dict() | {"all": len(split)}

    def scale(self, dataset: str) -> float:
        """Full records / rehearsed records of a dataset."""
        return FULL_RECORDS[self.config["datasets"][dataset]["source"]] / self.store_split(dataset)["all"]

    def metrics(self, kind: str, task: str) -> dict | None:
        return next((json.loads(p.read_text()) for p in sorted((self.results / "metrics" / kind).glob(f"*/seed*/{task}.json"))),
                    None)

    def beyond_startup(self, job: dict) -> float:
        return max(0.0, job["cpu_s"] - self.a_cpu)

    def add(self, stage: str, work: str, here_s: float, gpu_s: float, basis: str) -> None:
        self.rows.append({"stage": stage, "work": work, "this_machine_s": here_s, "gpu_machine_s": gpu_s,
                          "basis": basis})

    # the stages -------------------------------------------------------------------------------------------------
    def build(self) -> list[dict]:
        cfg, full, util = self.config, self.full, f"{GPU_UTILISATION:.0%} of peak (assumed)"
        by = lambda stage: [j for j in self.jobs if j["stage"] == stage]  # noqa: E731
        runs = full["seeds"] * len(full["methods"])
        ds_names = list(cfg["datasets"])

        dl = by("download")
        full_bytes = 0.0
        if dl:
            nbytes: dict[str, float] = {}
            for j in dl:
                nbytes[j["source"]] = nbytes.get(j["source"], 0) + json.loads((self.workdir / j["out"]).read_text())["bytes"]
            full_bytes = sum(b * self.scale(s) for s, b in nbytes.items())   # the paper preset's datasets are its sources
            net = full_bytes / ASSUMED_BANDWIDTH
            self.add("download", f"{full_bytes / 1e9:.2f} GB", net, net,
                     f"bytes measured (scaled from the mirror's); the network is not measured: {ASSUMED_BANDWIDTH / 1e6:.0f}"
                     " MB/s from physionet.org assumed (the client's own work is the hashing, see checksum)")
        if self.checksum and self.checksum["bytes"] and full_bytes:
            per_gb = self.checksum["wall_s"] / self.checksum["bytes"] * 1e9
            t = per_gb * full_bytes / 1e9
            self.add("checksum", f"{full_bytes / 1e9:.2f} GB", t, t,
                     f"measured: {per_gb:.1f} s/GB in one process (inside download; once more on a re-run)")

        for j in by("prepare"):
            d, meta = j["dataset"], self.store_meta(j["dataset"])
            n, threads = meta["counts"]["kept"], int(j["threads"] or self.cores)
            per = meta["preprocess_seconds"] / n                      # wall per record with `threads` workers
            fixed = max(0.0, j["wall_s"] - meta["preprocess_seconds"])
            n_full = FULL_RECORDS[cfg["datasets"][d]["source"]]
            self.add(f"prepare {d}", f"{n_full:,} records", fixed + n_full * per,
                     fixed + n_full * per * threads / GPU_CORES,
                     f"measured {1 / per:.0f} records/s with {threads} workers; 16 cores: linear in workers (assumed)")

        for j in by("embed"):
            ds = cfg["pretrain"]["dataset"]
            n_full = self.store_split(ds).get("train", 0) * self.scale(ds)
            depth = BERT_SHAPE["num_hidden_layers"] / self.text["layers"]
            tokens = self.text.get("real_token_ratio") or 1.0     # real PTB-XL reports are longer than the mirror's
            per = self.text["rate"]["per_report_s"] * depth * tokens
            fixed = self.a + self.text["rate"]["load_s"] * depth
            flops = 2 * self.text["params_12_layers"] * self.text["mean_tokens"] * tokens * n_full
            self.add("embed", f"{n_full:,.0f} reports", fixed + n_full * per,
                     fixed + flops / (GPU_PEAK_FLOPS * GPU_UTILISATION),
                     f"CPU measured {1 / per:.1f} reports/s at 12 layers"
                     + (f" (scaled from {self.text['layers']})" if depth != 1 else "")
                     + f" on {self.text['rate']['threads']} threads"
                     + (f", x{tokens:.2f} for real reports' length (tokens per report, English BERT WordPiece: real "
                        "PTB-XL reports in ../shared/data vs the mirror's)" if tokens != 1 else
                        " (the mirror's report lengths: real ones not found to compare)")
                     + f"; GPU: FLOPs at {util}")

        ds = cfg["pretrain"]["dataset"]
        train_full = self.store_split(ds).get("train", 0) * self.scale(ds)
        batch = cfg["pretrain"]["batch_size"]
        samples_full = full["epochs"] * (int(train_full) // batch) * batch
        per_sample, fixed, export = {}, [], {}
        for j in by("pretrain"):
            info = json.loads((self.results / "pretrain" / j["method"] / f"seed{j['seed']}" / "train_log.json").read_text())
            seconds = sum(e["epoch_seconds"] for e in info["loss_log"])
            samples = info["steps"] * min(info["batch_size"], info["n_train_records"] or info["batch_size"])
            if samples:
                per_sample.setdefault(j["method"], []).append(seconds / samples)
                fixed.append(j["wall_s"] - seconds)
            else:
                export.setdefault(j["method"], []).append(j["wall_s"])
        fixed_s = sum(fixed) / len(fixed) if fixed else self.a
        mean = lambda v: sum(v) / len(v)  # noqa: E731
        gpu_rates = ({r["method"]: r["samples_per_s"] for r in self.gpu_bench.get("methods", [])}
                     if self.gpu_bench and self.gpu_bench.get("gpu") else {})
        rehearsed = [mean(v) for v in per_sample.values()]
        for m in full["methods"]:
            seeds = full["seeds"]
            if not full["trains"][m]:
                t = mean(export[m]) if m in export else self.a
                self.add(f"pretrain {m}", f"{seeds} seeds, export only", seeds * t, seeds * t,
                         "measured (exports its initialisation)")
                continue
            s = mean(per_sample[m]) if m in per_sample else (mean(rehearsed) if rehearsed else float("nan"))
            f = self.flops.get(m, {}).get("train_flops_per_sample")
            if m in gpu_rates:
                gpu, basis_gpu = seeds * (fixed_s + samples_full / gpu_rates[m]), "GPU: measured (bench_pretrain.py)"
            elif f:
                gpu = seeds * (fixed_s + samples_full * f / (GPU_PEAK_FLOPS * GPU_UTILISATION))
                basis_gpu = f"GPU: {f / 1e9:.1f} GFLOP per sample (counted) at {util}"
            else:
                gpu, basis_gpu = float("nan"), "GPU: no FLOP count"
            basis = (f"CPU measured {1 / s:.1f} samples/s" if m in per_sample else
                     "CPU: not rehearsed (mean of the rehearsed methods)")
            self.add(f"pretrain {m}", f"{seeds} x {samples_full:,} samples", seeds * (fixed_s + s * samples_full), gpu,
                     f"{basis}; {basis_gpu}")

        fe = by("features")
        if fe:
            b = sum(self.beyond_startup(j) for j in fe) / sum(self.store_split(j["dataset"])["all"] for j in fe)
            recs = sum(FULL_RECORDS[cfg["datasets"][d]["source"]] for d in ds_names)
            ff = [v["feature_flops_per_sample"] for v in self.flops.values() if "feature_flops_per_sample" in v]
            f = sum(ff) / len(ff) if ff else 0.0
            self.add("features", f"{runs} runs x {recs:,} records",
                     runs * (len(ds_names) * self.a_cpu + b * recs) / self.cores,
                     runs * (len(ds_names) * (self.a + GPU_JOB_LOAD) + recs * f / (GPU_PEAK_FLOPS * GPU_UTILISATION)),
                     f"CPU measured {1 / max(b, 1e-12):.0f} records per CPU-s; GPU: FLOPs at {util} + "
                     f"{GPU_JOB_LOAD:.0f} s loading per job (assumed)")

        sb = by("subsets")
        if sb:
            cpu = sum(self.a_cpu + self.beyond_startup(j) * self.scale(cfg["tasks"][j["task"]]["dataset"]) for j in sb)
            self.add("subsets", f"{len(sb)} tasks", cpu / self.cores, cpu / GPU_CORES,
                     "CPU measured, scaled in records")

        li = by("linear")
        if li and self.linear_bench:
            per_run = sum(t["cpu_s"] for t in self.linear_bench["tasks"].values()) + \
                len(cfg["evaluation"]["linear_tasks"]) * self.a_cpu
            self.add("linear", f"{runs} runs x {len(cfg['evaluation']['linear_tasks'])} tasks x 7 subsets",
                     runs * per_run / self.cores, runs * per_run / GPU_CORES,
                     f"measured at the paper's shape (scripts/bench_linear.py: {per_run:.0f} CPU-s per run with "
                     "start-ups); GPU machine: its CPU cores")
        elif li:
            cpu, notes = 0.0, []
            for task in sorted({j["task"] for j in li}):
                sel = [j for j in li if j["task"] == task]
                m = self.metrics("linear", task)
                n, k = sum(m["split_sizes"].values()), len(m["classes"])
                k_full = REAL_CLASSES.get(task, k)
                b = sum(self.beyond_startup(j) for j in sel) / (len(sel) * n * k)
                cpu += runs * (self.a_cpu + b * n * self.scale(cfg["tasks"][task]["dataset"]) * k_full)
                notes.append(f"{task} {k}->{k_full}")
            self.add("linear", f"{runs} runs x {len(cfg['evaluation']['linear_tasks'])} tasks x 7 subsets",
                     cpu / self.cores, cpu / GPU_CORES,
                     "CPU measured on small probes, scaled in records x classes (rough; --bench-linear measures the "
                     "paper's shape); classes " + ", ".join(notes))

        zs = by("zero-shot")
        if zs:
            cpu = 0.0
            for task in sorted({j["task"] for j in zs}):
                sel = [j for j in zs if j["task"] == task]
                n = self.metrics("zeroshot", task)["split_sizes"]["test"]
                b = sum(self.beyond_startup(j) for j in sel) / (len(sel) * n)
                cpu += full["zs_runs"] * (self.a_cpu + b * n * self.scale(cfg["tasks"][task]["dataset"]))
            jobs_full = full["zs_runs"] * len(cfg["evaluation"]["zeroshot_tasks"])
            self.add("zero-shot", f"{jobs_full} jobs", cpu / self.cores, jobs_full * (self.a + GPU_JOB_LOAD),
                     f"CPU measured per test record; GPU: start-up + {GPU_JOB_LOAD:.0f} s per job (assumed)")

        co = by("compare")
        if co:
            cpu, basis = 0.0, "CPU measured, scaled in test records x classes x runs"
            for j in co:
                task = j["task"]
                m = self.metrics("linear", task) or self.metrics("zeroshot", task)
                n, k = m["split_sizes"]["test"], len(m["classes"])
                n_full, k_full = n * self.scale(cfg["tasks"][task]["dataset"]), REAL_CLASSES.get(task, k)
                if self.linear_bench:
                    ref = self.linear_bench["compare_ptbxl_all"]
                    cpu += self.a_cpu + ref["cpu_s"] * (n_full * k_full) / (2203 * ref["classes"])
                    basis = "measured at the paper's shape for ptbxl_all (scripts/bench_linear.py), scaled in test x classes"
                else:
                    rehearsed = len({(x["method"], x["seed"]) for x in self.jobs if x["stage"] == "linear" and x["task"] == task})
                    cpu += self.a_cpu + self.beyond_startup(j) * (n_full * k_full * runs) / (n * k * max(rehearsed, 1))
            self.add("compare", f"{len(co)} tasks x {runs} runs", cpu / min(self.cores, len(co)),
                     cpu / min(GPU_CORES, len(co)), basis)

        for stage in ("plots", "board"):
            sel = by(stage)
            if sel:
                t = sum(j["wall_s"] for j in sel)
                self.add(stage, "1 job", t, t, "measured (not scaled)")
        return self.rows

    def text_(self) -> str:
        rows = [[r["stage"], r["work"], fmt_s(r["this_machine_s"]), fmt_s(r["gpu_machine_s"]), r["basis"]]
                for r in self.rows]
        total = lambda key: sum(r[key] for r in self.rows if not math.isnan(r[key]))  # noqa: E731
        rows.append(["**total**, stages one after another", "", fmt_s(total("this_machine_s")),
                     fmt_s(total("gpu_machine_s")), "(an upper bound: the workflow overlaps CPU and GPU stages)"])
        return table(["stage", "full preset", f"this machine ({self.cores} cores)", GPU_NAME, "rests on"], rows,
                     "llrrl")


def full_preset(config: dict) -> dict:
    """The unchanged preset's shape: methods it would run (folders that train or export; published checkpoints this
    machine cannot get are left out, as the workflow does), seeds, epochs."""
    from benchmark.method import discover

    preset = load_config(PRESET)
    specs = {n: s for n, s in discover().items() if not s.external}
    zs = [n for n, s in specs.items() if s.cls.zero_shot]
    seeds = len(preset["seeds"])
    return {"methods": sorted(specs), "trains": {n: bool(s.config["trains"]) for n, s in specs.items()},
            "seeds": seeds, "epochs": preset["pretrain"]["epochs"], "zs_runs": len(zs) * seeds}


# ------------------------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--records", type=int, default=1000, help="PTB-XL records in the mirror (default 1000; real: 21799)")
    p.add_argument("--cpsc", type=int, default=400, help="CPSC2018 records in the mirror (default 400; real: 6877)")
    p.add_argument("--csn", type=int, default=400,
                   help="Chapman-Shaoxing-Ningbo records of MERL's split in the mirror (default 400; real: 23026)")
    p.add_argument("--mimic", type=int, default=400,
                   help="MIMIC-IV-ECG studies in the mirror, for --preset mimic (default 400; real: about 800,000)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="paper",
                   help="paper (config/config.yaml, default) or mimic (config/mimic.yaml: pre-training on MIMIC-IV-ECG; "
                        "no projection)")
    p.add_argument("--shards", type=int, help="--preset mimic: datasets.mimic.shards (default: the preset's)")
    p.add_argument("--epochs", type=int, default=1, help="pretrain.epochs (the preset's: 50)")
    p.add_argument("--methods", nargs="+", help="methods (default: the preset's, all)")
    p.add_argument("--seeds", nargs="+", type=int, help="seeds (default: the preset's, 0 1 2)")
    p.add_argument("--workdir", type=Path, help="work folder (default: a new temporary folder)")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="snakemake --cores (default: all)")
    p.add_argument("--text-layers", type=int, default=BERT_SHAPE["num_hidden_layers"],
                   help="layers of the text model (Bio_ClinicalBERT: 12; fewer to save CPU time)")
    p.add_argument("--mirror-seed", type=int, default=0)
    p.add_argument("--gpu-bench", type=Path, help="a scripts/bench_pretrain.py --json file measured on a GPU")
    p.add_argument("--bench-linear", action="store_true",
                   help="time the linear probes and `compare` at the paper's shape (scripts/bench_linear.py) for the "
                        "projection, instead of scaling the rehearsal's small probes")
    p.add_argument("--resume", action="store_true",
                   help="keep results/ of an earlier run in the work folder (only the jobs that run again are timed)")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: print the tables and projection of the rehearsal already in --workdir")
    p.add_argument("--no-projection", action="store_true",
                   help="only the rehearsal and its stage table (the projection measures FLOPs of every method, the "
                        "text model's rate and the start-up: a minute more)")
    p.add_argument("--json", type=Path, help="also write the measurements and projection here")
    args = p.parse_args(argv)
    preset_path = PRESETS[args.preset]
    if args.preset != "paper":
        args.no_projection = True   # the projection models the paper preset's stages
    if args.preset != "mimic":
        args.mimic = 0

    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="rehearsal_"))).resolve()
    earlier: dict = {}
    if args.report_only:
        if not (workdir / "rehearsal.json").exists() and not (workdir / "times").is_dir():
            raise SystemExit(f"--report-only: no rehearsal in {workdir}")
        earlier = json.loads((workdir / "rehearsal.json").read_text()) if (workdir / "rehearsal.json").exists() else {}
        for key in ("records", "cpsc", "csn", "mimic", "preset", "epochs", "methods", "seeds", "cores", "text_layers"):
            setattr(args, key, earlier.get("args", {}).get(key, getattr(args, key)))
        wall, mirror_summary = earlier.get("snakemake_wall_s", float("nan")), earlier.get("mirror", {})
        config_args = earlier.get("config_overrides", [])
        mirror = Path(earlier.get("mirror_path", workdir / f"mirror-{args.records}-{args.cpsc}-{args.csn}-{args.mimic}-s{args.mirror_seed}"))
        reports = mirror_reports(mirror)
        text_model = Path(earlier["text_model"]["path"])
        text = {k: v for k, v in earlier["text_model"].items() if k != "rate"}
    else:
        prepare_workdir(workdir, args.resume)
        log(f"work folder: {workdir}")
        from benchmark.data.serve import serve

        mirror, mirror_summary = write_or_reuse_mirror(workdir, args.records, args.cpsc, args.csn, args.mirror_seed,
                                                         args.cores, args.mimic)
        reports = mirror_reports(mirror)
        t0 = time.time()
        text_model = build_text_model(reports, workdir / "text", args.text_layers)
        lengths = token_lengths(text_model, reports)
        text = {"path": str(text_model), "layers": args.text_layers, "build_s": round(time.time() - t0, 1),
                "mean_tokens": sum(lengths) / max(len(lengths), 1), "max_tokens": max(lengths, default=0),
                # weights of a 12-layer encoder without its embeddings: a forward costs 2 x these x tokens FLOPs
                "params_12_layers": 12 * (4 * 768 * 768 + 2 * 768 * 3072)}
        log(f"text model: {text_model} (built/reused in {text['build_s']} s; {text['mean_tokens']:.1f} tokens/report)")
        with serve(mirror) as url:
            config_args = overrides(url, text_model, args, args.cpsc, args.csn)
            rc, wall, output = run_snakemake(workdir, config_args, args.cores, preset_path)
        if rc != 0:
            print(output[-6000:])
            print(f"\nsnakemake failed (exit {rc}); its log: {workdir / 'snakemake.log'}; job logs: "
                  f"{workdir / 'results' / args.preset / 'logs'}")
            return rc
    jobs = read_jobs(workdir)
    checksum = checksum_pass(workdir / "results" / "raw")
    rows = stage_rows(jobs, checksum)
    stage_text = print_stage_table(rows, args.cores, wall)
    mimic = f" + {args.mimic} MIMIC-IV-ECG" if args.mimic else ""
    print(f"# Rehearsal of the {args.preset} preset: {args.records} PTB-XL + {args.cpsc} CPSC2018 + {args.csn} CSN{mimic} "
          "records, "
          f"{args.epochs} epoch(s), methods {args.methods or 'all'}, seeds {args.seeds or 'preset'}\n")
    print(f"Mirror: {mirror} ({mirror_summary.get('seconds')} s to write); text model: {text_model}\n")
    print(stage_text)

    config = load_config(preset_path)
    result = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "workdir": str(workdir), "mirror": mirror_summary, "mirror_path": str(mirror), "text_model": text,
              "snakemake_wall_s": wall, "config_overrides": config_args, "stages": rows, "jobs": jobs,
              "checksum": checksum, "leaderboard": str(workdir / config["results_dir"] / "leaderboard.md")}
    if not args.no_projection:
        kept = earlier.get("linear_bench") if args.report_only else None
        result.update(project(args, config, jobs, workdir, text, text_model, reports, checksum, kept))
    (workdir / "rehearsal.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nBoard: {result['leaderboard']}\nMeasurements: {workdir / 'rehearsal.json'}")
    return 0


def project(args, config: dict, jobs: list[dict], workdir: Path, text: dict, text_model: Path, reports: list[str],
            checksum: dict, linear_bench: dict | None = None) -> dict:
    """Measure the projection's own rates, print the projection, return what it rests on."""
    full = full_preset(config)
    log("measuring the projection's rates (start-up, report embedding, FLOPs per method"
        + (", linear probes at the paper's shape" if args.bench_linear else "") + ")")
    startup = startup_cost()
    text["rate"] = embed_rate(text_model, reports, args.cores)
    text["real_token_ratio"] = real_token_ratio(reports)
    flops = method_flops(config, full["methods"], int(config["data"]["seconds"] * config["data"]["sampling_rate"]))
    linear_bench = linear_at_paper_shape() if args.bench_linear else linear_bench   # (kept: --report-only)
    gpu_bench = json.loads(args.gpu_bench.read_text()) if args.gpu_bench else None
    proj = Projection(config, full, jobs, workdir, startup, args.cores, flops, gpu_bench, text, checksum, linear_bench)
    proj.build()
    print(f"\n# Projection of the full paper preset ({FULL_RECORDS['ptbxl']:,} PTB-XL + {FULL_RECORDS['cpsc2018']:,} "
          f"CPSC2018 + {FULL_RECORDS['csn']:,} CSN records, {full['epochs']} epochs, {len(full['methods'])} methods x {full['seeds']} seeds)\n")
    print(proj.text_())
    gpu_note = (f"GPU rates measured by bench_pretrain.py ({args.gpu_bench})" if gpu_bench and gpu_bench.get("gpu")
                else f"No GPU was measured: GPU figures take the FLOPs counted per method at {GPU_UTILISATION:.0%} of a "
                     f"{GPU_PEAK_FLOPS / 1e12:.0f} TFLOP/s dense bf16 peak (an assumption)")
    gpu_part = sum(r["gpu_machine_s"] for r in proj.rows if r["stage"].split()[0] in GPU_STAGES
                   and not math.isnan(r["gpu_machine_s"]))
    rest = sum(r["gpu_machine_s"] for r in proj.rows if not math.isnan(r["gpu_machine_s"])) - gpu_part
    if not (gpu_bench and gpu_bench.get("gpu")):
        lo, hi = UTILISATION_RANGE
        print(f"\nGPU stages (embed, pre-training, features, zero-shot): {fmt_s(gpu_part)} at {GPU_UTILISATION:.1%} of "
              f"peak; at {hi:.1%}: about {fmt_s(gpu_part * GPU_UTILISATION / hi)}, at {lo:.1%}: about "
              f"{fmt_s(gpu_part * GPU_UTILISATION / lo)} (start-ups included in the scaling: rough bounds). "
              f"The other stages: {fmt_s(rest)}.")
    print(f"\nPer-job start-up (interpreter + torch + package), measured: {startup['wall_s']:.1f} s wall, "
          f"{startup['cpu_s']:.1f} s CPU. {gpu_note}. The GPU machine's CPU stages assume this machine's per-core "
          "speed.")
    return {"startup": startup, "flops": flops, "linear_bench": linear_bench, "projection": proj.rows,
            "full_preset": full}


if __name__ == "__main__":
    sys.exit(main())
