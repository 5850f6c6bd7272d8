#!/usr/bin/env python
"""Linear-probe and `compare` benchmark at the paper preset's shape, on synthetic features (issue 21).

One (method, seed) of the paper preset probes 7 tasks x 7 label-fraction subsets (100 %, and 3 draws each of
10 % and 1 %, drawn by the workflow's own benchmark.evaluate.tasks.label_subsets) on 512-d features. The tasks
keep the paper preset's split sizes and class counts (PTB-XL 17,441 / 2,193 / 2,203 records, MERL's CPSC2018
split 4,813 / 687 / 1,377; 5, 9, 5, 23, 19, 12 and 71 classes) and skewed class frequencies like PTB-XL's.
Features are a noisy non-linear image of latent factors the labels are thresholds of, so the probe has a
signal to find and C matters.

    python scripts/bench_linear.py                       # the batched solver (benchmark.evaluate.logistic)
    python scripts/bench_linear.py --solver sklearn      # the reference: one scikit-learn fit per class and C
    python scripts/bench_linear.py --compare             # + `compare` for ptbxl_all: 27 runs x 1,000 resamples

Prints a Markdown table (task, classes, subsets, wall s, CPU s) and the total; --threads sets torch's threads
(default 2: "2 CPU cores"). Wall times on a shared machine are noisy; the CPU time says what the work costs.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.evaluate.linear import evaluate_fractions  # noqa: E402
from benchmark.evaluate.tasks import TaskData, label_subsets, subset_positions  # noqa: E402

PTBXL, CPSC = (17_441, 2_193, 2_203), (4_813, 687, 1_377)
TASKS = {"ptbxl_super": (PTBXL, 5, False), "cpsc2018": (CPSC, 9, False), "ptbxl_super_multi": (PTBXL, 5, True),
         "ptbxl_sub": (PTBXL, 23, True), "ptbxl_form": (PTBXL, 19, True), "ptbxl_rhythm": (PTBXL, 12, True),
         "ptbxl_all": (PTBXL, 71, True)}
FRACTIONS, DRAWS, C_GRID, DIM = [0.01, 0.1, 1.0], 3, [0.001, 0.01, 0.1, 1.0, 10.0], 512


def synthetic_task(name: str, seed: int = 0) -> tuple[np.ndarray, TaskData]:
    (n_train, n_val, n_test), k, multi = TASKS[name]
    rng = np.random.default_rng(seed)
    n = n_train + n_val + n_test
    latent = rng.normal(size=(n, 48))
    mixing = rng.normal(size=(48, DIM)) / np.sqrt(48)
    features = np.maximum(latent @ mixing + 0.7 * rng.normal(size=(n, DIM)), 0).astype(np.float32)  # ReLU-pooled
    drive = latent @ rng.normal(size=(48, k)) / np.sqrt(8) + rng.normal(size=(n, k))
    if multi:   # prevalences from 0.3 % to 45 %, log-spread like PTB-XL's statements
        prevalence = np.exp(rng.uniform(np.log(0.003), np.log(0.45), k))
        y = (drive > np.array([np.quantile(drive[:, j], 1 - prevalence[j]) for j in range(k)])).astype(int)
        y[np.flatnonzero(y.sum(1) == 0), drive[y.sum(1) == 0].argmax(1)] = 1     # every record has a label
    else:
        y = (drive + np.log(np.exp(rng.uniform(np.log(0.02), np.log(0.5), k)))).argmax(1)
    split = np.array(["train"] * n_train + ["val"] * n_val + ["test"] * n_test)
    classes = [f"c{i}" for i in range(k)]
    return features, TaskData(rows=np.arange(n), y=y, split=split, classes=classes, multi_label=multi,
                              ids=np.array([str(i) for i in range(n)]))


def subsets(data: TaskData, name: str) -> dict:
    """The workflow's draws (label_subsets), read back as its linear step reads them (subset_positions)."""
    table = label_subsets(data, name, FRACTIONS, DRAWS, seed=0)
    return {(f, d): subset_positions(data, table, f, d, "bench_linear")
            for f, d in table[["fraction", "draw"]].drop_duplicates().itertuples(index=False)}


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bench_linear(tasks: list[str], solver: str) -> list[tuple]:
    rows = []
    for name in tasks:
        features, data = synthetic_task(name)
        chosen = subsets(data, name)
        w0, c0 = time.perf_counter(), cpu_seconds()
        out, _ = evaluate_fractions(features, data, chosen, C_GRID, "cpu", solver)
        wall, cpu = time.perf_counter() - w0, cpu_seconds() - c0
        full = out["1"]["draws"][0]
        rows.append((name, len(data.classes), len(chosen), wall, cpu, full["auc"], full["selected_C"],
                     max(d.get("solver", {}).get("max_iterations", 0) for f in out.values() for d in f["draws"])))
        print(f"  {name}: {wall:.1f} s wall, {cpu:.1f} s CPU, test AUC {full['auc']:.4f} (C = {full['selected_C']:g})",
              file=sys.stderr)
    return rows


def bench_compare(runs: int = 27, resamples: int = 1000, threads: int = 2) -> tuple[float, float]:
    """compare_linear for ptbxl_all: `runs` (method, seed) score files x 7 subsets, on the task's resamples."""
    import tempfile

    from benchmark import paths
    from benchmark.evaluate.compare import compare_linear
    from benchmark.io import write_npz

    (_, _, n_test), k, _ = TASKS["ptbxl_all"]
    rng = np.random.default_rng(1)
    y = (rng.random((n_test, k)) < np.exp(rng.uniform(np.log(0.003), np.log(0.45), k))).astype(int)
    methods = [f"m{i}" for i in range(runs // 3)]
    with tempfile.TemporaryDirectory() as tmp:
        config = {"results_dir": tmp, "evaluation": {"label_fractions": FRACTIONS, "fraction_draws": DRAWS,
                                                      "bootstrap": {"resamples": resamples, "seed": 0, "level": 0.95}}}
        for m in methods:
            for s in range(3):
                keys = [(f, d) for f in FRACTIONS for d in range(1 if f >= 1 else DRAWS)]
                write_npz(paths.predictions(config, "linear", m, s, "ptbxl_all"), y=y,
                          **{f"scores_f{f:g}_d{d}": np.clip(y * 0.3 + rng.random((n_test, k)), 0, 1) for f, d in keys})
        w0, c0 = time.perf_counter(), cpu_seconds()
        compare_linear(config, "ptbxl_all", {m: [0, 1, 2] for m in methods}, threads=threads)
        return time.perf_counter() - w0, cpu_seconds() - c0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--solver", choices=["batched", "sklearn"], default="batched")
    p.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--compare", action="store_true", help="also time `compare` for ptbxl_all (27 runs)")
    p.add_argument("--no-linear", action="store_true")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if not args.no_linear:
        rows = bench_linear(args.tasks, args.solver)
        print(f"\nLinear probes of one (method, seed), solver `{args.solver}`, {args.threads} thread(s):\n")
        print("| task | classes | subsets | wall s | CPU s | test AUC (100 %) | C | max L-BFGS iterations |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, k, n, wall, cpu, auc, c, it in rows:
            print(f"| {name} | {k} | {n} | {wall:.1f} | {cpu:.1f} | {auc:.4f} | {c:g} | {it or '-'} |")
        print(f"| **total** | | {sum(r[2] for r in rows)} | **{sum(r[3] for r in rows):.1f}** | "
              f"{sum(r[4] for r in rows):.1f} | | | |")
    if args.compare:
        wall, cpu = bench_compare(threads=args.threads)
        print(f"\ncompare_linear, ptbxl_all, 27 runs x 7 subsets x 1,000 resamples x 71 classes: "
              f"{wall:.1f} s wall, {cpu:.1f} s CPU, {args.threads} thread(s)")


if __name__ == "__main__":
    main()
