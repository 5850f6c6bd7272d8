"""How far a preset's numbers and verdicts move between two machines, measured as two CPU code paths of this one.

    # the same preset twice: on the portable kernels (the default) and on this machine's own (kernels: native)
    snakemake --cores 2 --configfile config/demo.yaml --config 'seeds=[0,1,2]'
    snakemake --cores 2 --configfile config/demo.yaml --config 'seeds=[0,1,2]' kernels=native \
        results_dir=results/demo_native cache_dir=results/cache_native
    python scripts/cross_path_spread.py --preset config/demo.yaml --a results/demo --b results/demo_native --write

Compares every cell of the two boards (linear macro AUC and F1 at each label fraction, zero-shot AUC, ACC and F1
per class and on average), per seed and as the mean over seeds, and every ↑ / ↓ / ≈ mark against random init:
the marks of the several-seed boards (the compare step's statistics: each test on its own, and as the boards show them,
each table's marks corrected by Benjamini-Hochberg), and those a one-seed board of each seed would show (the same
statistics recomputed from that seed's test scores alone, uncorrected). Prints a summary and, with --write,
stores it in benchmark/reference/cross_path_spread.json, which single-seed boards quote.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark import paths  # noqa: E402
from benchmark.config import load_config  # noqa: E402
from benchmark.evaluate import multiplicity  # noqa: E402
from benchmark.evaluate.compare import compare_linear, compare_zeroshot  # noqa: E402
from benchmark.io import read_json, write_json  # noqa: E402
from benchmark.leaderboard.cells import mark  # noqa: E402

OUT = REPO / "benchmark" / "reference" / "cross_path_spread.json"


def run(preset: Path, results: Path) -> tuple[dict, dict]:
    """(config, board JSON) of one finished run of `preset` whose results are in `results`."""
    config = load_config(preset, {"results_dir": str(results)})
    board = read_json(results / "leaderboard.json")
    config["seeds"] = sorted({s for seeds in board["seeds"].values() for s in seeds})
    return config, board


def cells(config: dict, board: dict) -> dict[tuple, float]:
    """(method, seed, kind, task, column, metric) -> value of every cell of a run."""
    out = {}
    for kind in ("linear", "zeroshot"):
        for m, seeds in board["seeds"].items():
            for s in seeds:
                for t in config["evaluation"][f"{kind}_tasks"]:
                    path = paths.metrics(config, kind, m, s, t)
                    if not path.exists():
                        continue
                    metrics = read_json(path)["metrics"]
                    if kind == "linear":
                        for f, v in metrics["fractions"].items():
                            out.update({(m, s, kind, t, f, k): v[k] for k in ("auc", "f1")})
                    else:
                        columns = {**metrics["per_class"], "Average": metrics["average"]}
                        out.update({(m, s, kind, t, c, k): v[k] for c, v in columns.items() for k in ("auc", "acc", "f1")
                                    if v.get(k) is not None})
    return out


def marks_of(stats: dict, kind: str, task: str) -> dict[tuple, str]:
    """(kind, task, column, metric, method) -> ↑ / ↓ / ≈ of one task's statistics."""
    out = {}
    if kind == "linear":
        columns = {(f, k): cell for f, v in stats.items() if isinstance(v, dict) and "auc" in v for k, cell in v.items()}
    else:
        columns = {("Average", k): c for k, c in stats["average"].items()}
        columns.update({(cls, k): c for cls, v in stats["per_class"].items() for k, c in v.items()})
    for (column, metric), cell in columns.items():
        for m, entry in cell["methods"].items():
            if mark(entry, m):
                out[(kind, task, column, metric, m)] = mark(entry, m)
    return out


def task_stats(config: dict, board: dict, seeds: dict[str, list[int]] | None = None) -> dict[str, dict]:
    """task -> {"linear": ..., "zeroshot": ...} statistics of a run: from its statistics files, or recomputed for
    `seeds` (e.g. one seed per method)."""
    external = list(board.get("external", {}))
    per_task: dict[str, dict] = {}
    for kind in ("linear", "zeroshot"):
        for t in config["evaluation"][f"{kind}_tasks"]:
            if seeds is None:
                stats = read_json(paths.stats(config, t))[kind]
            elif kind == "linear":
                stats = compare_linear(config, t, seeds, external)
            else:
                zs = {m: ss for m, ss in seeds.items() if paths.metrics(config, kind, m, ss[0], t).exists()}
                if not zs:
                    continue
                first = next(iter(zs))
                classes = read_json(paths.metrics(config, kind, first, zs[first][0], t))["classes"]
                stats = compare_zeroshot(config, t, zs, classes, external)
            per_task.setdefault(t, {"task": t})[kind] = stats
    return per_task


def marks(per_task: dict[str, dict]) -> dict[tuple, str]:
    """Every mark of a run's statistics (task_stats), each test on its own unless the statistics were corrected
    (benchmark.evaluate.multiplicity.correct: as the board draws them)."""
    return {key: m for t, st in per_task.items() for kind in ("linear", "zeroshot") if kind in st
            for key, m in marks_of(st[kind], kind, t).items()}


def code_path(config: dict, board: dict) -> str:
    """The CPU code path a run's pre-training took, from what it recorded (benchmark.runtime.environment)."""
    for (m, seeds) in board["seeds"].items():
        for t in config["evaluation"]["linear_tasks"]:
            path = paths.metrics(config, "linear", m, seeds[0], t)
            env = read_json(path)["provenance"].get("pretrain_environment") if path.exists() else None
            if env:
                forced = ", ".join(f"{k}={v}" for k, v in env.get("code_path_variables", {}).items())
                return f"torch kernels {env['torch_cpu_capability']}" + (f" ({forced})" if forced else " (default)")
    return "(not recorded)"


def summary(values: list[float]) -> dict:
    values = sorted(values)
    return {"median_abs": round(statistics.median(values), 2), "p95_abs": round(values[int(0.95 * (len(values) - 1))], 2),
            "max_abs": round(values[-1], 2)}


def changed(a: dict, b: dict) -> list[str]:
    return [f"{' '.join(map(str, k))}: {a[k]} -> {b.get(k, '(none)')}" for k in sorted(a) if a[k] != b.get(k)]


def mark_changes(a: dict, b: dict) -> dict:
    """How the marks of run a differ from run b's: all of them, those at 100 % of the labels (Table 1), the arrows
    each run shows, and every changed mark."""
    table1 = [k for k in a if k[0] == "linear" and str(k[2]) == "1"]
    return {"verdicts": len(a), "verdicts_changed": len(changed(a, b)),
            "at_all_labels": {"verdicts": len(table1), "verdicts_changed": sum(a[k] != b.get(k) for k in table1)},
            "arrows": [sum(v in ("↑", "↓") for v in m.values()) for m in (a, b)], "changed": changed(a, b)}


def seed_key(group: tuple, seed: int) -> tuple:
    """The key of `cells` for one seed of a group (method, kind, task, column, metric)."""
    return (group[0], seed) + group[1:]


def seed_mean(values: dict, group: tuple, seeds: list[int]) -> float | None:
    """The mean over the seeds a group has in `values` (None when it has none)."""
    xs = [values[seed_key(group, s)] for s in seeds if seed_key(group, s) in values]
    return sum(xs) / len(xs) if xs else None


def write_cells(path: Path, groups, seeds, va, vb, marks_a, marks_b, names) -> None:
    """One row per cell: each seed's value on both paths, the means over seeds, how far they moved, and the
    cell's ↑ / ↓ / ≈ mark on both paths (several-seed statistics)."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["kind", "task", "column", "metric", "method"]
                     + [f"seed{s}_{p}" for s in seeds for p in ("a", "b")]
                     + ["mean_a", "mean_b", "abs_diff_points", "mark_a", "mark_b"])
        out.writerow(["# a: " + names[0], "b: " + names[1]])
        for g in groups:
            m, kind, task, column, metric = g
            per_seed = [(va.get(seed_key(g, s)), vb.get(seed_key(g, s))) for s in seeds]
            ma, mb = seed_mean(va, g, seeds), seed_mean(vb, g, seeds)
            mark_key = (kind, task, column, metric, m)
            out.writerow([kind, task, column, metric, m]
                         + [f"{100 * v:.2f}" if v is not None else "" for pair in per_seed for v in pair]
                         + [f"{100 * ma:.2f}" if ma is not None else "", f"{100 * mb:.2f}" if mb is not None else "",
                            f"{100 * abs(ma - mb):.2f}" if None not in (ma, mb) else "",
                            marks_a.get(mark_key, ""), marks_b.get(mark_key, "")])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", type=Path, required=True)
    p.add_argument("--a", type=Path, required=True, help="results folder of the default code path")
    p.add_argument("--b", type=Path, required=True, help="results folder of the other code path")
    p.add_argument("--paths", nargs=2, help="names of the two code paths (default: what the runs recorded)")
    p.add_argument("--write", action="store_true", help=f"store the result in {OUT.relative_to(REPO)}")
    p.add_argument("--cells", type=Path, help="also write every cell, both runs side by side, to this CSV")
    args = p.parse_args(argv)
    (ca, ba), (cb, bb) = run(args.preset, args.a), run(args.preset, args.b)
    names = args.paths or [code_path(ca, ba), code_path(cb, bb)]
    va, vb = cells(ca, ba), cells(cb, bb)
    common = sorted(set(va) & set(vb))
    if not common:
        sys.exit("the two runs have no cell in common")
    seeds = sorted({k[1] for k in common})
    one = [100 * abs(va[k] - vb[k]) for k in common]
    groups = sorted({(k[0],) + k[2:] for k in common})
    pooled = [100 * abs(seed_mean(va, g, seeds) - seed_mean(vb, g, seeds)) for g in groups]
    sds = [100 * statistics.stdev([va[seed_key(g, s)] for s in seeds]) for g in groups
           if len(seeds) > 1 and all(seed_key(g, s) in va for s in seeds)]
    stats_a, stats_b = task_stats(ca, ba), task_stats(cb, bb)
    pooled_a, pooled_b = marks(stats_a), marks(stats_b)
    level = ca["evaluation"]["bootstrap"]["level"]
    board_a, board_b = (marks(multiplicity.correct(st, level)) for st in (stats_a, stats_b))
    single = {"verdicts": 0, "verdicts_changed": 0, "changed": []}
    for s in seeds:
        one_seed = {m: [s] for m, ss in ba["seeds"].items() if s in ss}
        ma, mb = marks(task_stats(ca, ba, one_seed)), marks(task_stats(cb, bb, one_seed))
        single["verdicts"] += len(ma)
        diff = changed(ma, mb)
        single["verdicts_changed"] += len(diff)
        single["changed"] += [f"seed {s}: {d}" for d in diff]
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    result = {"commit": ", ".join(sorted(set(ba["code"]["commits"]) | set(bb["code"]["commits"]))) or commit,
              "commands": [ba["command"], bb["command"]], "paths": names, "seeds": seeds,
              "cells_per_seed": len(common) // len(seeds),
              "single_seed": {**summary(one), **single},
              "seed_mean": {**summary(pooled), **mark_changes(pooled_a, pooled_b)},
              # the marks as the boards show them: each table corrected by Benjamini-Hochberg
              "seed_mean_corrected": mark_changes(board_a, board_b),
              "between_seeds": {"median_sd": round(statistics.median(sds), 2) if sds else None,
                                "max_sd": round(max(sds), 2) if sds else None}}
    if args.cells:
        write_cells(args.cells, groups, seeds, va, vb, pooled_a, pooled_b, names)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.write:
        measured = read_json(OUT) if OUT.exists() else {}
        measured[ca["preset"]] = result
        write_json(OUT, measured)
        print(f"written to {OUT.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
