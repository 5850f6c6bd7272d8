"""`publish`: a preset's finished board becomes the top-level leaderboard.md, only if it is one complete run of
the current, committed code with the settings given (run_problems, publish_problems)."""
from __future__ import annotations

import shutil
from pathlib import Path

from benchmark import paths, provenance
from benchmark.config import preset_hash
from benchmark.errors import BenchmarkError
from benchmark.evaluate import plots
from benchmark.io import atomic_path, read_json
from benchmark.leaderboard.cells import STALE

PUBLISHED_FIGURES = Path("docs") / "leaderboard"  # beside the published leaderboard.md


def _rerun(board: dict) -> str:
    command = board.get("command", "")
    command = command if command.startswith("snakemake") and " | " not in command else \
        "snakemake --cores all --configfile <the preset>"
    return (f"`{command} --forcerun pretrain` re-runs pre-training and every step after it (Snakemake re-runs "
            "a step when its code or settings change, not when only the commit does)")


def run_problems(board: dict) -> list[str]:
    """Why a board is not one complete run of one committed code state (empty: it is)."""
    problems = []
    if board.get("missing"):
        m = board["missing"][0]
        problems.append(f"{len(board['missing'])} expected result(s) are missing (e.g. {m['kind']} {m['method']} "
                        f"{m['task']} seed {m['seed']}): run the preset's workflow to the end")
    if board.get("stale"):
        st = board["stale"][0]
        problems.append(f"{len(board['stale'])} result(s) come from code that changed since (e.g. {st['method']} "
                        f"{st['task']}: {st['reasons'][0]}; rows marked {STALE}): {_rerun(board)}")
    commits = board.get("code", {}).get("commits", [])
    if len(commits) > 1:
        problems.append(f"the results come from {len(commits)} commits ({', '.join(commits)}), not one run: "
                        + _rerun(board))
    elif commits and (commits[0].endswith("-dirty") or commits[0] == "unknown"):
        problems.append(f"the results come from uncommitted code (commit {commits[0]}): commit, then "
                        + _rerun(board))
    elif not commits:
        problems.append("it holds no results (or was made by an older version of the benchmark): run the preset's "
                        "workflow")
    return problems


def publish_problems(board: dict, config: dict) -> list[str]:
    """Why a finished board may not become the published leaderboard.md (empty: it may)."""
    problems = run_problems(board)
    code = board.get("code", {})
    # a method folder removed since the run fingerprints as empty: it differs, as it should
    now_methods = {m: provenance.method_fingerprint(paths.methods_dir(config) / m) for m in code.get("methods", {})}
    if (code.get("fingerprint") != provenance.code_fingerprint()
            or code.get("rendering") != provenance.rendering_fingerprint()
            or now_methods != code.get("methods")):
        problems.append("the code has changed since this board was made (its fingerprints differ from the working "
                        "tree's): " + _rerun(board))
    if board.get("methods_dir", "methods") != "methods":
        problems.append(f"its methods come from {board['methods_dir']}, not from this repository's methods/ "
                        "(methods_dir): a published board is made of committed method folders")
    if board.get("config_hash") != preset_hash(config):
        settings = board.get("settings_file") or f"{paths.results(config) / 'settings'}/<the run's hash>.json"
        problems.append("it was made with other settings than the configuration given to publish (e.g. "
                        f"--config overrides, or an edited preset): publish with --config {settings} (the run's "
                        "settings file), or re-run the preset")
    return problems


def publish(config: dict, replace: bool = False, dest: Path = paths.PUBLISHED) -> Path:
    """Copy the preset's finished board to the top-level leaderboard.md (+ .json, + its figures into
    docs/leaderboard/ with the links rewritten), after publish_problems. A published board of another preset is only replaced with `replace` (the demo never silently overwrites
    the paper preset's numbers)."""
    src = paths.leaderboard(config)
    if not src.exists() or not src.with_suffix(".json").exists():
        raise BenchmarkError(f"no finished board of preset {config['preset']!r} at {src}; run its workflow first "
                             f"(snakemake --cores all --configfile <the preset>)")
    board = read_json(src.with_suffix(".json"))
    problems = publish_problems(board, config)
    if problems:
        raise BenchmarkError(f"{src} cannot be published:\n" + "\n".join(f"  - {p}" for p in problems))
    if dest.with_suffix(".json").exists():
        current = read_json(dest.with_suffix(".json")).get("preset")
        if current != board["preset"] and not replace:
            raise BenchmarkError(
                f"{dest} holds the board of preset {current!r}; publishing preset {board['preset']!r} would replace "
                f"it. Pass --replace if that is what you want")
    # the figures travel with the board (results/ is not committed): into docs/leaderboard/, links rewritten
    figures = dest.parent / PUBLISHED_FIGURES
    shutil.rmtree(figures, ignore_errors=True)
    md = src.read_text()
    for path in plots.files(config).values():
        if path.exists():
            figures.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, figures / path.name)
            md = md.replace(f"]({path.relative_to(paths.results(config)).as_posix()})",
                            f"]({(PUBLISHED_FIGURES / path.name).as_posix()})")
    with atomic_path(dest) as tmp:
        tmp.write_text(md)
    with atomic_path(dest.with_suffix(".json")) as tmp:
        shutil.copyfile(src.with_suffix(".json"), tmp)
    return dest
