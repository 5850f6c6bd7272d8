"""`python -m benchmark verify`: re-run one method and seed of a published board from the raw data and compare every
number it produced with the board's JSON, bit for bit.

The board's JSON carries the settings it was made with (`settings`) and each run's environment (`environments`).
The method and seed are run again with those settings into a scratch folder (results and caches of their own, so
the data are prepared and the reports embedded anew), through the same workflow: every linear and zero-shot metrics
file of that method and seed. Each of its numbers is compared with the published one; the command prints
`N of N cells identical` and exits 0 only then. Otherwise it lists the cells that differ, by how much, and the
parts of the environment that differ (kernels, library versions, CPU, threads), which is where such a difference
comes from (docs/evaluation.md, "Reruns on other machines").
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from benchmark import paths
from benchmark.config import REPO_ROOT, RUN_SELECTION
from benchmark.errors import BenchmarkError
from benchmark.io import read_json

DEFAULT_BOARD = REPO_ROOT / "docs" / "leaderboard" / "demo" / "leaderboard.json"
SHOWN = 30   # differing cells listed


def pick(board: dict, method: str | None, seed: int | None) -> tuple[str, int]:
    """The method and seed to re-run: those asked for, else the first trained method of the board (ETP if it has
    it) and its first seed."""
    trained = [r["method"] for r in board["linear"] if (r.get("steps") or 0) > 0 and not r.get("external")]
    method = method or ("etp" if "etp" in trained else (trained[0] if trained else None))
    if method is None or method not in board["methods"]:
        raise BenchmarkError(f"the board has no method {method!r} to verify; its methods: {', '.join(board['methods'])}")
    seeds = sorted({r["seed"] for r in board["linear"] + board["zeroshot"] if r["method"] == method})
    seed = seeds[0] if seed is None else seed
    if seed not in seeds:
        raise BenchmarkError(f"the board has no seed {seed} of {method}; its seeds: {seeds}")
    return method, seed


def cells(rows: dict[str, list], method: str, seed: int) -> dict[tuple, float | None]:
    """(kind, task, fraction or class, metric) -> value of every number of `method` and `seed` in board rows."""
    out = {}
    for r in rows.get("linear", []):
        if r["method"] == method and r["seed"] == seed:
            for fraction, values in r["fractions"].items():
                out.update({("linear", r["task"], f"fraction {fraction}", k): v for k, v in values.items()})
    for r in rows.get("zeroshot", []):
        if r["method"] == method and r["seed"] == seed:
            out.update({("zeroshot", r["task"], r["class"], k): r[k] for k in ("auc", "acc", "f1") if k in r})
    return out


def scratch_preset(board: dict, method: str, seed: int, scratch: Path) -> dict:
    """The board's settings, for this method and seed only, writing into `scratch`."""
    settings = board.get("settings")
    if not settings:
        raise BenchmarkError("this board's JSON does not carry its settings (it was published before boards did): "
                             "publish it again from its run, then verify")
    preset = {k: v for k, v in settings.items() if k != RUN_SELECTION}
    preset.update(results_dir=str(scratch / "results"), cache_dir=str(scratch / "cache"),
                  raw_dir=str(scratch / "raw"), methods=[method], seeds=[seed])
    if not any(r["method"] == method for r in board["zeroshot"]):   # no ECG-text space: no zero-shot step
        preset["evaluation"] = {**preset["evaluation"], "zeroshot_tasks": []}
    return preset


def rerun(preset: dict, method: str, seed: int, scratch: Path, cores: int) -> dict[str, list]:
    """Run the workflow for every metrics file of the method and seed; their numbers as board rows."""
    from benchmark.leaderboard.board import result_rows

    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "preset.yaml").write_text(yaml.safe_dump(preset, sort_keys=False))
    ev = preset["evaluation"]
    files = {("linear", t): paths.metrics(preset, "linear", method, seed, t) for t in ev["linear_tasks"]}
    files.update({("zeroshot", t): paths.metrics(preset, "zeroshot", method, seed, t) for t in ev["zeroshot_tasks"]})
    command = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--configfile", str(scratch / "preset.yaml"),
               "--snakefile", str(REPO_ROOT / "workflow" / "Snakefile"), "--directory", str(REPO_ROOT),
               *map(str, files.values())]
    print(f"verify: running {method} seed {seed} from the raw data into {scratch} ...", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise BenchmarkError(f"the re-run failed (its log: {scratch}/results/logs/):\n{tail}")
    rows: dict[str, list] = {"linear": [], "zeroshot": []}
    environments: dict = {}
    for (kind, task), path in files.items():
        if not path.exists():   # a zero-shot task of a method without an ECG-text space: not on the board either
            continue
        result = read_json(path)
        rows[kind] += [{"method": method, "task": task, "seed": seed, **row} for row in result_rows(kind, result)]
        environments = {"pretrain": result["provenance"].get("pretrain_environment"),
                        "eval": result["provenance"].get("eval_environment")}
    rows["environments"] = {method: {str(seed): environments}}
    return rows


def environment_differences(published: dict | None, here: dict | None) -> list[str]:
    """What differs between two runs' environments (benchmark.runtime.environment), one line per fact."""
    lines = []
    for step in ("pretrain", "eval"):
        a, b = (published or {}).get(step) or {}, (here or {}).get(step) or {}
        for key in sorted(set(a) | set(b)):
            if key == "stack":
                for lib in sorted(set(a.get(key, {})) | set(b.get(key, {}))):
                    if a.get(key, {}).get(lib) != b.get(key, {}).get(lib):
                        lines.append(f"{step}: {lib} {a.get(key, {}).get(lib)} published, {b.get(key, {}).get(lib)} here")
            elif a.get(key) != b.get(key):
                lines.append(f"{step}: {key} {a.get(key)!r} published, {b.get(key)!r} here")
    return lines


def report(published: dict, here: dict, envs: tuple[dict | None, dict | None]) -> tuple[bool, str]:
    """(all identical, the text to print)."""
    keys = sorted(published, key=str)
    differ = [k for k in keys if here.get(k, "missing") != published[k]]
    lines = [f"{len(keys) - len(differ)} of {len(keys)} cells identical"]
    if not keys:
        return False, "the board holds no numbers of this method and seed"
    for k in differ[:SHOWN]:
        a, b = published[k], here.get(k, "missing")
        delta = f" ({b - a:+.3g})" if isinstance(a, float) and isinstance(b, float) else ""
        lines.append(f"  {' '.join(map(str, k))}: published {a!r}, here {b!r}{delta}")
    if len(differ) > SHOWN:
        lines.append(f"  ... and {len(differ) - SHOWN} more")
    if differ:
        env = environment_differences(*envs)
        lines.append("environment that differs: " + ("; ".join(env) if env else
                                                     "none recorded (same kernels, libraries, CPU and threads)"))
    return not differ, "\n".join(lines)


def verify(board_path: str | Path = DEFAULT_BOARD, method: str | None = None, seed: int | None = None,
           scratch: str | Path | None = None, cores: int = 2) -> bool:
    board_path = Path(board_path)
    board = read_json(board_path)
    method, seed = pick(board, method, seed)
    scratch = Path(scratch) if scratch else REPO_ROOT / "results" / "verify" / f"{board['preset']}_{method}_seed{seed}"
    rows = rerun(scratch_preset(board, method, seed, scratch), method, seed, scratch, cores)
    envs = (board.get("environments", {}).get(method, {}).get(str(seed)),
            rows["environments"][method][str(seed)])
    ok, text = report(cells(board, method, seed), cells(rows, method, seed), envs)
    print(f"{board_path}: {method} seed {seed}\n{text}")
    return ok
