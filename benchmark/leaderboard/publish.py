"""`publish`: a preset's finished board becomes part of the top-level leaderboard.md, only if every result it shows
rests on steps that ran the code of the current, committed tree, with the settings given (publish_problems).

A board is one set of step fingerprints, not one commit: results computed at several commits (a method folder
added to a finished run, an evaluation fix that re-ran only the evaluation) are one board when each step they rest
on ran the code that step has now (benchmark.provenance.changed_steps); the header says which commit each group of
rows was computed at. `publish` draws the board again from the preset's results with the committed code, so the
published tables are drawn at the commit they are published with."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from benchmark import paths, provenance
from benchmark.config import preset_hash
from benchmark.errors import BenchmarkError
from benchmark.evaluate import plots
from benchmark.io import atomic_path, read_json, write_json
from benchmark.leaderboard.cells import STALE
from benchmark.leaderboard.headline import DETAILS

PUBLISHED_FIGURES = Path("docs") / "leaderboard"  # beside the published leaderboard.md


def _rules_of(reasons: list[str]) -> list[str]:
    """The rules running the steps named in `reasons` ("... step linear/etp changed ..."), for --forcerun."""
    from benchmark import stepcode

    steps = {m.group(1) for r in reasons if (m := re.search(r"step ([a-z-]+)", r))}
    return sorted(name for name, (cmd, _) in stepcode.graph().rules.items() if cmd in steps)


def _rerun(board: dict, reasons: list[str]) -> str:
    command = board.get("command", "")
    command = command if command.startswith("snakemake") and " | " not in command else \
        "snakemake --cores all --configfile <the preset>"
    rules = _rules_of(reasons)
    return (f"re-run the preset's workflow (`{command}`): it re-runs exactly the steps whose code changed and the "
            "steps after them; if it finds nothing to do, Snakemake's records in .snakemake/ were lost: add "
            f"`--forcerun {' '.join(rules) or '<the rule>'}`")


def run_problems(board: dict) -> list[str]:
    """Why a board does not show one complete set of results of the code of a committed tree (empty: it does)."""
    problems = []
    if board.get("missing"):
        m = board["missing"][0]
        problems.append(f"{len(board['missing'])} expected result(s) are missing (e.g. {m['kind']} {m['method']} "
                        f"{m['task']} seed {m['seed']}): run the preset's workflow to the end")
    if board.get("stale"):
        st = board["stale"][0]
        reasons = [r for s in board["stale"] for r in s["reasons"]]
        problems.append(f"{len(board['stale'])} result(s) rest on code that changed since they were computed (e.g. "
                        f"{st['method']} {st['task']}: {st['reasons'][0]}; rows marked {STALE}): "
                        + _rerun(board, reasons))
    shared = board.get("code", {}).get("stale_steps") or []
    if shared:
        problems.append(f"the statistics or figures rest on code that changed since ({shared[0]}): "
                        + _rerun(board, shared))
    drawn = board.get("code", {}).get("drawn_at")
    if not board.get("code", {}).get("steps"):
        problems.append("it holds no results (or was made by an older version of the benchmark): run the preset's "
                        "workflow")
    elif drawn is None or drawn.endswith("-dirty") or drawn == "unknown":
        problems.append(f"the code is not committed (commit {drawn}): commit it, then publish again (nothing needs to "
                        "re-run: the steps' code is what it was)")
    return problems


def code_problems(board: dict, config: dict) -> list[str]:
    """Why a published board no longer describes the code in this working tree (empty: it does): a step its
    results, statistics, figures or tables rest on has other code now."""
    steps = {str(i): e for i, e in enumerate(board.get("code", {}).get("steps") or [])}
    if not steps:
        return ["it was made by an older version of the benchmark (no step fingerprints)"]
    changed = provenance.changed_steps(steps, paths.methods_dir(config))
    return [f"{changed[0]}" + (f" (and {len(changed) - 1} more)" if len(changed) > 1 else "")
            + ": re-run the preset's workflow, then publish it"] if changed else []


def publish_problems(board: dict, config: dict) -> list[str]:
    """Why a finished board may not be published (empty: it may)."""
    problems = run_problems(board)
    if board.get("methods_dir", "methods") != "methods":
        problems.append(f"its methods come from {board['methods_dir']}, not from this repository's methods/ "
                        "(methods_dir): a published board is made of committed method folders")
    if board.get("config_hash") != preset_hash(config):
        settings = board.get("settings_file") or f"{paths.results(config) / 'settings'}/<the run's hash>.json"
        problems.append("it was made with other settings than the configuration given to publish (e.g. "
                        f"--config overrides, or an edited preset): publish with --config {settings} (the run's "
                        "settings file), or re-run the preset")
    return problems


def slot(dest: Path, preset: str) -> Path:
    """Where a preset's published board lives: docs/leaderboard/<preset>/ beside the top-level leaderboard.md."""
    return dest.parent / PUBLISHED_FIGURES / preset


def publish(config: dict, dest: Path = paths.PUBLISHED) -> Path:
    """Publish the preset's finished board (after publish_problems): it and its figures go to
    docs/leaderboard/<preset>/, and the top-level leaderboard.md is rebuilt from every published board (`combine`).
    Each preset has its own place: publishing the demo never touches the numbers of another preset."""
    src = paths.leaderboard(config)
    if not src.exists() or not src.with_suffix(".json").exists():
        raise BenchmarkError(f"no finished board of preset {config['preset']!r} at {src}; run its workflow first "
                             f"(snakemake --cores all --configfile <the preset>)")
    from benchmark.leaderboard.board import rebuild

    finished = read_json(src.with_suffix(".json"))
    md, board, details = rebuild(config, finished)   # drawn again now, by this tree's code, from the run's results
    # the settings the run was made with, which the configuration given here must be
    board.update(settings_file=finished.get("settings_file"), config_hash=finished.get("config_hash"))
    problems = publish_problems(board, config)
    if problems:
        raise BenchmarkError(f"{src} cannot be published:\n" + "\n".join(f"  - {p}" for p in problems))
    target = slot(dest, board["preset"])
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in plots.files(config).values():   # the figures travel with the board (results/ is not committed)
        if path.exists():
            shutil.copyfile(path, target / path.name)
            md = md.replace(f"]({path.relative_to(paths.results(config)).as_posix()})", f"]({path.name})")
    (target / "leaderboard.md").write_text(md)
    (target / DETAILS).write_text(details)
    write_json(target / "leaderboard.json", board)
    combine(config, dest)
    return dest


def _order(board: dict) -> tuple:
    """Real data first (the paper preset, then the others by name), the synthetic demo last."""
    return (bool(board.get("synthetic")), board["preset"] != "paper", board["preset"])


def combine(config: dict, dest: Path = paths.PUBLISHED) -> Path:
    """The top-level leaderboard.md (+ .json): the headline of every published board whose code is this working
    tree's, real data first, each with a link to its full board (commit, command, seeds); a board made by other code
    is left out and named."""
    root = dest.parent / PUBLISHED_FIGURES
    boards, left_out = [], []
    for folder in sorted(p for p in root.iterdir() if (p / "leaderboard.json").exists()) if root.is_dir() else []:
        board = read_json(folder / "leaderboard.json")
        why = code_problems(board, config)
        (left_out.append((board["preset"], why[0])) if why else boards.append((board, folder)))
    boards.sort(key=lambda b: _order(b[0]))
    parts = ["# Leaderboard"]
    for board, folder in boards:   # each board's headline, its links pointing into its folder
        rel = folder.relative_to(dest.parent).as_posix()
        kind = "synthetic demo" if board.get("synthetic") else "real data"
        headline = re.sub(r"\]\((#[^)]*)\)", lambda m: f"]({rel}/leaderboard.md{m.group(1)})",
                          board.get("headline", ""))
        headline = re.sub(rf"\]\({DETAILS}", f"]({rel}/{DETAILS}", headline)
        parts += [f"## Preset `{board['preset']}` ({kind})", headline,
                  f"The full board: [{rel}/leaderboard.md]({rel}/leaderboard.md) (provenance, legend, Table 1 with "
                  f"CIs, zero-shot, figures); commit {', '.join(board['code']['commits'])}, {_seeds(board)}, "
                  f"`{board['command']}`."]
    parts += ["## About this page",
              "The published boards of this benchmark, real data first: each one's headline, from one complete set "
              "of results of the code of this commit, made by its own command (its board's header says which, and "
              "at which commit each group of rows was computed), and can be rebuilt with that command; `python -m "
              "benchmark publish --config <preset>` adds or replaces one (README.md, \"Which file each command "
              "writes\")."]
    parts += [f"- preset `{p}` is not shown: {why}" for p, why in left_out]
    with atomic_path(dest) as tmp:
        tmp.write_text("\n\n".join(parts).rstrip("\n") + "\n")
    index = {"boards": [{"preset": b["preset"], "synthetic": bool(b.get("synthetic")), "folder":
                         f.relative_to(dest.parent).as_posix(), "commits": b["code"]["commits"],
                         "command": b["command"], "seeds": b.get("seeds")} for b, f in boards],
             "left_out": dict(left_out)}
    write_json(dest.with_suffix(".json"), index)
    return dest


def _seeds(board: dict) -> str:
    n = max((len(s) for m, s in (board.get("seeds") or {}).items() if m not in board.get("external", {})), default=1)
    return f"{n} seed{'s' if n != 1 else ''}"
