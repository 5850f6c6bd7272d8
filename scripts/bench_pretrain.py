#!/usr/bin/env python
"""Pre-training throughput of every method with the real training loop, and the paper preset's projected time.

A synthetic store of the paper's shape (12 leads x 5000 samples = 10 s at 500 Hz; 4,096 records, random
signals in [0, 1] as after min-max normalisation; random 768-d "report embeddings" for ETP, the size of
Bio_ClinicalBERT's) is written once into --workdir and reused. Each method is then pre-trained by
`benchmark.pretrain.pretrain` itself (not a copy of the loop) for 2 epochs at batch 128: the first is warm-up
(cuDNN autotuning, allocator, page cache), the second is measured from the loop's own per-epoch log.

Printed per method: samples/s, ms per step split into data wait (the loop blocked on the batch reader) and
compute (the rest), peak GPU memory, and the projected paper-preset pre-training time (50 epochs over the
17,441 PTB-XL training records in full batches of 128). Then the feature-extraction rate and the projected time of the whole preset for
one seed (pre-training of every method + features of PTB-XL and CPSC2018 for every method; linear probes,
statistics and figures run on CPUs beside the GPU and are not included). Finally the FLOPs of one ETP step
(torch.utils.flop_counter.FlopCounterMode, forward and backward) and the achieved FLOP/s as a share of the
device's dense bf16 peak.

With --deterministic-cost, each method is trained a second time with `pretrain.deterministic: false` and the
table gains the step time without deterministic algorithms and the ratio (deterministic / not): what
`torch.use_deterministic_algorithms`, deterministic cuDNN and no autotuner cost on this device.

On a machine without a GPU it runs at a reduced shape (256 records x 12 x 1000, batch 32) and says so: the
numbers then describe the CPU path, not the paper preset.

    python scripts/bench_pretrain.py [--methods etp simclr] [--compile] [--deterministic-cost] [--workdir DIR]
                                     [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark import paths  # noqa: E402
from benchmark.config import load_config  # noqa: E402
from benchmark.data.store import CHUNK, StoreWriter, load_store  # noqa: E402
from benchmark.evaluate.encode import embed  # noqa: E402
from benchmark.method import discover  # noqa: E402
from benchmark.inputs import InputSpec  # noqa: E402
from benchmark.pretrain import build_method, pretrain  # noqa: E402

# The paper preset pre-trains on PTB-XL folds 1-8 (17,441 records, docs/data.md) for 50 epochs at batch 128,
# in full batches; every method's features cover PTB-XL (21,837 records) and CPSC2018 (6,877)
PAPER_TRAIN_RECORDS, PAPER_EPOCHS, PAPER_BATCH = 17441, 50, 128
PAPER_SAMPLES = PAPER_EPOCHS * (PAPER_TRAIN_RECORDS // PAPER_BATCH) * PAPER_BATCH
PAPER_EVAL_RECORDS = 21837 + 6877
TEXT_DIM = 768                               # Bio_ClinicalBERT's hidden size
# Dense (no sparsity) bf16 tensor-core peaks from the vendors' data sheets, FLOP/s; matched as whole words of
# the device name, most specific first ("L40S" is not "L4", "A10G" is not "A10")
BF16_PEAK = {"H100 PCIe": 756.5e12, "H100 NVL": 835.5e12, "H100": 989.4e12, "H200": 989.4e12, "A100": 312e12,
             "L40S": 362.05e12, "L4": 121e12, "A10": 125e12}


def bf16_peak(device_name: str) -> float | None:
    import re

    for key, peak in BF16_PEAK.items():
        if re.search(rf"(?<!\w){re.escape(key)}(?!\w)", device_name):
            return peak
    return None


def bench_config(workdir: Path, records: int, n_samples: int, batch: int, compile_: bool,
                 deterministic: bool = True) -> dict:
    base = load_config(REPO / "config" / "config.yaml")
    rate = base["data"]["sampling_rate"]
    datasets = dict(base["datasets"], bench={"source": "synthetic", "kind": "ptbxl_like", "n_records": records,
                                             "seed": 0})
    return load_config(REPO / "config" / "config.yaml", {
        "results_dir": str(workdir), "seeds": [0],
        "data": dict(base["data"], seconds=n_samples / rate),
        "datasets": datasets,
        "pretrain": dict(base["pretrain"], dataset="bench", epochs=2, batch_size=batch, compile=compile_,
                         deterministic=deterministic, text_model="bench-random-768")})


def make_store(config: dict, records: int, n_samples: int) -> None:
    """Random signals and report embeddings of the bench shape (reused when already there)."""
    root = paths.dataset_dir(config, "bench")
    emb = paths.report_embeddings(config)
    if (root / "meta.json").exists() and emb.exists() and load_store(root).signals.shape == (records, 12, n_samples):
        return
    rng = np.random.default_rng(0)
    recs = pd.DataFrame({"ecg_id": [str(i) for i in range(records)],
                         "patient_id": [str(int(i / 1.15)) for i in range(records)],  # PTB-XL's records per patient
                         "split": "train", "labels": "NORM", "report": "sinus rhythm"})
    with StoreWriter(root, records, n_samples) as out:
        for s in range(0, records, CHUNK):
            out.write(s, rng.random((min(CHUNK, records - s), 12, n_samples), dtype=np.float32))
        out.finish(recs, {"dataset": "bench", "source": "synthetic", "sampling_rate": config["data"]["sampling_rate"],
                          "seconds": config["data"]["seconds"], "normalisation": "minmax"})
    emb.parent.mkdir(parents=True, exist_ok=True)
    np.save(emb, rng.standard_normal((records, TEXT_DIM), dtype=np.float32))


def bench_method(config: dict, spec, workdir: Path) -> dict:
    out = workdir / "runs" / f"{spec.name}_det{int(config['pretrain']['deterministic'])}"
    # a fresh folder: a checkpoint would resume, and a finished run of the same key would be put back untimed
    shutil.rmtree(out, ignore_errors=True)
    info = pretrain(config, spec, seed=0, out_dir=out)
    e = info["loss_log"][-1]                         # the second epoch: after warm-up
    steps = info["steps_per_epoch"]
    step_ms = 1e3 * e["epoch_seconds"] / steps
    wait_ms = 1e3 * e["data_wait_seconds"] / steps
    return {"method": spec.name, "samples_per_s": e["samples_per_second"], "step_ms": round(step_ms, 1),
            "data_wait_ms": round(wait_ms, 2), "compute_ms": round(step_ms - wait_ms, 1),
            "data_wait_share": round(wait_ms / step_ms, 4), "peak_gpu_gib": info.get("peak_gpu_memory_gib"),
            "paper_pretrain_min": round(PAPER_SAMPLES / e["samples_per_second"] / 60, 1),
            "device": info["device"], "amp": info["amp"], "compiled": info.get("compiled")}


def etp_flops(config: dict, spec, batch: int, n_samples: int, device: torch.device) -> float:
    """FLOPs of one ETP optimiser step's forward and backward at the bench shape (counted, not timed)."""
    from torch.utils.flop_counter import FlopCounterMode

    method = build_method(spec, config, InputSpec(config["data"]["sampling_rate"], n_samples), TEXT_DIM, 1, 1).to(device)
    b = {"ecg": torch.rand(batch, 12, n_samples, device=device),
         "patient": torch.arange(batch, device=device), "text_emb": torch.randn(batch, TEXT_DIM, device=device)}
    with FlopCounterMode(display=False) as counter:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = method.training_step(b)
        loss.backward()
    return float(counter.get_total_flops())


def feature_rate(config: dict, device: torch.device, n_samples: int) -> float:
    """Records/s of feature extraction (the shared encoder, evaluation batch size), after one warm-up batch."""
    from benchmark.encoders import ResNet18_1D

    store = load_store(paths.dataset_dir(config, "bench"))
    encoder = ResNet18_1D().to(device).eval()
    bs = config["evaluation"]["batch_size"]
    rows = np.arange(min(len(store), 8 * bs))
    embed(encoder, store.signals, rows[:bs], device, bs)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    embed(encoder, store.signals, rows, device, bs)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return len(rows) / (time.perf_counter() - t0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", nargs="+", help="method folders (default: every method that trains)")
    p.add_argument("--records", type=int)
    p.add_argument("--compile", action="store_true", help="pretrain.compile: torch.compile the encoder")
    p.add_argument("--workdir", type=Path, help="where the bench store and runs go (default: a temporary folder)")
    p.add_argument("--deterministic-cost", action="store_true",
                   help="also train each method with pretrain.deterministic: false and print the ratio")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)

    gpu = torch.cuda.is_available()
    records = args.records or (4096 if gpu else 256)
    n_samples, batch = (5000, 128) if gpu else (1000, 32)
    specs = {n: s for n, s in discover().items() if s.config["trains"] and (not args.methods or n in args.methods)}
    with tempfile.TemporaryDirectory(prefix="bench_pretrain_") as tmp:
        workdir = args.workdir or Path(tmp)
        config = bench_config(workdir, records, n_samples, batch, args.compile)
        make_store(config, records, n_samples)
        rows = [bench_method(config, spec, workdir) for spec in specs.values()]
        if args.deterministic_cost:
            free = bench_config(workdir, records, n_samples, batch, args.compile, deterministic=False)
            for r, spec in zip(rows, specs.values()):
                r["step_ms_nondeterministic"] = bench_method(free, spec, workdir)["step_ms"]
                r["deterministic_cost"] = round(r["step_ms"] / r["step_ms_nondeterministic"], 3)
        device = torch.device("cuda" if gpu else "cpu")
        rate = feature_rate(config, device, n_samples)
        flops = etp_flops(config, specs["etp"], batch, n_samples, device) if "etp" in specs else None
    device_name = rows[0]["device"] if rows else str(device)
    shape = f"{records} records x 12 x {n_samples}, batch {batch}"
    print(f"# Pre-training throughput ({device_name}; {shape}; bf16 autocast {'on' if gpu else 'off'}"
          f"{'; torch.compile' if args.compile else ''})\n")
    if not gpu:
        print("> No GPU here: reduced shape (12 x 1000, batch 32) on the CPU. These numbers describe the CPU path,"
              " not the paper preset; the projections below assume this shape and device.\n")
    cost = args.deterministic_cost
    print("| method | samples/s | ms/step | data wait ms | compute ms | data wait % | peak GPU GiB | "
          "paper pre-training (50 ep x 17,441) |" + (" ms/step not deterministic | deterministic / not |" if cost else ""))
    print("|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if cost else ""))
    for r in rows:
        print(f"| {r['method']} | {r['samples_per_s']:.0f} | {r['step_ms']} | {r['data_wait_ms']} | {r['compute_ms']} | "
              f"{100 * r['data_wait_share']:.1f} | {r['peak_gpu_gib'] if r['peak_gpu_gib'] is not None else 'n/a'} | "
              f"{r['paper_pretrain_min']} min |"
              + (f" {r['step_ms_nondeterministic']} | {r['deterministic_cost']:.3f} |" if cost else ""))
    pretrain_min = sum(r["paper_pretrain_min"] for r in rows)
    eval_min = len(discover()) * PAPER_EVAL_RECORDS / rate / 60
    print(f"\nFeature extraction: {rate:.0f} records/s at evaluation batch {config['evaluation']['batch_size']}; "
          f"{len(discover())} methods x {PAPER_EVAL_RECORDS:,} records = {eval_min:.1f} min.")
    print(f"Projected paper preset, one seed: pre-training {pretrain_min:.0f} min + features {eval_min:.1f} min "
          f"= {pretrain_min + eval_min:.0f} min (linear probes, statistics and figures run on CPUs beside it).")
    result = {"device": device_name, "shape": shape, "gpu": gpu, "methods": rows, "feature_records_per_s": rate,
              "projected_minutes": {"pretrain": pretrain_min, "features": eval_min}}
    if flops is not None:
        etp = next(r for r in rows if r["method"] == "etp")
        achieved = flops / (etp["step_ms"] / 1e3)
        peak = bf16_peak(device_name) if gpu else None
        share = f"{100 * achieved / peak:.1f}% of the {peak / 1e12:.0f} TFLOP/s dense bf16 peak" if peak else \
            "no bf16 peak known for this device"
        print(f"ETP step: {flops / 1e12:.2f} TFLOP (forward + backward), {achieved / 1e12:.2f} TFLOP/s achieved; "
              f"{share}.")
        result["etp"] = {"tflop_per_step": flops / 1e12, "achieved_tflops": achieved / 1e12,
                         "peak_tflops": peak / 1e12 if peak else None}
    print(f"\nMachine: {platform.processor() or platform.machine()}; torch {torch.__version__}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
