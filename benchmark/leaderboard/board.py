"""A preset's metrics -> its board: which results are expected, found, stale or missing (`Board`), and the
Markdown, HTML and JSON written from them (`build`, `write`): leaderboard.md opens on its headline (the answer),
then provenance, legend, Table 1 and the zero-shot averages, then the figures; details.md beside it holds every
label fraction and every class."""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from benchmark import paths, provenance
from benchmark.config import preset_hash
from benchmark.evaluate import multiplicity
from benchmark.evaluate import plots
from benchmark.io import atomic_path, read_code_record, read_json, write_json
from benchmark.leaderboard import header as H
from benchmark.leaderboard import headline, tables
from benchmark.leaderboard.cells import EXTERNAL, STALE, legend
from benchmark.leaderboard.headline import DETAILS
from benchmark.leaderboard.publish import run_problems


def files(config: dict) -> dict[str, Path]:
    """Every file the board step writes, in the preset's results folder: the board, its details (each label fraction
    and class), both rendered for the report, the report's front page and the machine-readable copy."""
    out = paths.leaderboard(config)
    return {"md": out, "details": out.with_name(DETAILS), "html": out.with_suffix(".html"),
            "details_html": out.with_name("details.html"), "front_page": out.with_name("front_page.html"),
            "json": out.with_suffix(".json")}


def expected(config: dict, methods: list[str], zero_shot: list[str],
             seeds: dict[str, list[int]] | None = None) -> set[tuple[str, str, str, int]]:
    """(kind, method, task, seed) of every metrics file the preset's DAG produces; `seeds`: each method's seeds
    (benchmark.method.run_seeds; default: the preset's for every method)."""
    ev = config["evaluation"]
    seeds = seeds or {m: config["seeds"] for m in methods}
    return ({("linear", m, t, s) for m in methods for t in ev["linear_tasks"] for s in seeds[m]}
            | {("zeroshot", m, t, s) for m in zero_shot for t in ev["zeroshot_tasks"] for s in seeds[m]})


def collect(config: dict, wanted) -> dict[tuple[str, str, str], list[dict]]:
    found = defaultdict(list)
    for kind, m, t, s in sorted(wanted):
        p = paths.metrics(config, kind, m, s, t)
        if p.exists():
            found[(kind, m, t)].append(read_json(p))
    return found


def stale_reasons(result: dict, methods_dir) -> list[str]:
    """Why a result no longer describes the current code (empty: every step it rests on, from the data preparation
    to its own, ran the code those steps have in this tree; benchmark.provenance.changed_steps)."""
    if not result.get("code"):
        return ["no code record (made by an older version of the benchmark)"]
    return provenance.changed_steps(result["code"], methods_dir)


def unique_entries(*records: dict | None) -> dict:
    """The distinct step entries of several code records, keyed by step and fingerprint (two seeds' pre-trainings
    are one entry; the same step at two code states two)."""
    out = {}
    for record in records:
        for entry in (record or {}).values():
            out[f"{provenance.step_key(entry)}@{entry.get('fingerprint')}"] = entry
    return dict(sorted(out.items()))


def _external(runs: list[dict]) -> str | None:
    """What a published checkpoint's rows were pre-trained on (None: pre-trained, or initialised, here)."""
    found = next((r["provenance"].get("pretrain_external") for r in runs if r["provenance"].get("pretrain_external")),
                 None)
    return found["pretrained_on"] if found else None


def _methods_dir(config: dict) -> str:
    """The preset's method folders as the board records them: `methods` for this repository's, else the path."""
    root = paths.methods_dir(config)
    return "methods" if root.resolve() == paths.METHODS_DIR.resolve() else str(root)


@dataclass
class Board:
    """Everything the tables and the header are made from, read once."""
    config: dict
    methods: list[str]
    titles: dict[str, str]
    zero_shot: list[str]
    seeds: dict[str, list[int]]
    left_out: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        config, ev = self.config, self.config["evaluation"]
        self.wanted = expected(config, self.methods, self.zero_shot, self.seeds)
        self.results = collect(config, self.wanted)
        self.runs = [r for runs in self.results.values() for r in runs]
        self.demo = any(ds["source"] == "synthetic" for ds in config["datasets"].values())
        self.level = f"{100 * ev['bootstrap']['level']:g}%"
        methods_dir = paths.methods_dir(config)
        self.stale = {(kind, m, t, r["seed"]): why for (kind, m, t), runs in self.results.items() for r in runs
                      if (why := stale_reasons(r, methods_dir))}
        self.missing = sorted(self.wanted - {(k, m, t, r["seed"]) for (k, m, t), runs in self.results.items()
                                             for r in runs})
        by_method = defaultdict(list)
        for (_, m, _), runs in self.results.items():
            by_method[m] += runs
        self.external = {m: on for m in self.methods if (on := _external(by_method[m]))}
        # what each external row's encoder sees and gives: its declared input and its feature size
        self.external_io = {m: {"input": by_method[m][0]["provenance"].get("input"),
                                "feature_dim": by_method[m][0]["provenance"].get("feature_dim")}
                            for m in self.external}
        # each table's marks corrected together (benchmark.evaluate.multiplicity): a board, not a task, is a table
        self.stats = multiplicity.correct(
            {t: read_json(paths.stats(config, t)) for t in sorted(set(ev["linear_tasks"]) | set(ev["zeroshot_tasks"]))
             if paths.stats(config, t).exists()}, ev["bootstrap"]["level"])
        self.sizes = {r["task"]: r["split_sizes"] for r in self.runs}
        # the steps after the rows: each task's statistics and the figures (their code records)
        figures = plots.figures_record(config)
        self.shared_code = unique_entries(*(st.get("code") for st in self.stats.values()),
                                          read_code_record(figures) if figures.parent.exists() else None)
        self.shared_stale = provenance.changed_steps(self.shared_code, methods_dir)
        self.external_note = H.external_note(self)
        # the seeds behind each verdict: a published checkpoint has one, which says nothing of training variance
        self.trained_seeds = max((len(s) for m, s in self.seeds.items() if m not in self.external), default=1)
        self.metas = {n: read_json(paths.dataset_dir(config, n) / "meta.json") for n in config["datasets"]
                      if (paths.dataset_dir(config, n) / "meta.json").exists()}

    def subset(self, task: str) -> dict | None:
        """The meta.json of the task's store when it holds part of its dataset (from the store's own counts, never
        from the preset's text), else None."""
        meta = self.metas.get(self.config["tasks"][task]["dataset"], {})
        return meta if meta.get("counts", {}).get("not_on_disk") else None

    def subset_note(self, task: str) -> str:
        """' (a subset: 999 of the 21,837 records PTB-XL lists)' when the task's store holds part of its dataset."""
        meta = self.subset(task)
        if meta is None:
            return ""
        counts = meta["counts"]
        return f" (a subset: {counts['kept']:,} of the {counts['listed']:,} records {meta.get('title', 'it')} lists)"

    @property
    def trained_steps(self) -> list[int]:
        """The distinct optimiser-step budgets of the rows trained here (one when every method had the same)."""
        return sorted({r["provenance"].get("pretrain_steps") for r in self.runs
                       if r["provenance"].get("pretrain_steps")})

    def row_title(self, kind: str, m: str, t: str | None = None) -> str:
        bad = any(key[:2] == (kind, m) and (t is None or key[2] == t) for key in self.stale)
        return (self.titles.get(m, m) + (f" {EXTERNAL}" if m in self.external else "")
                + (f" {STALE}" if bad else ""))

    def steps(self, runs: list[dict]) -> str:
        if _external(runs):
            return "ext."
        steps = sorted({r["provenance"].get("pretrain_steps") for r in runs}, key=lambda s: (s is None, s))
        return "/".join("?" if s is None else str(s) for s in steps)

    def n_train(self, task: str, fraction: float) -> str:
        for (k, _, t), runs in self.results.items():
            if k == "linear" and t == task:
                for r in runs:
                    f = r["metrics"].get("fractions", {}).get(f"{fraction:g}")
                    if f:
                        return "/".join(str(d["n_train"]) for d in f["draws"])
        return "?"


def commit_groups(board: Board) -> list[dict]:
    """The rows grouped by the commits their steps ran at: [{"commits": [...], "methods": [...]}], in board order
    (a board whose methods were added one by one has several groups; one run of the preset has one)."""
    from benchmark.evaluate.compare import method_order

    by_method = defaultdict(set)
    for r in board.runs:
        by_method[r["method"]] |= {e.get("commit") or "unknown" for e in (r.get("code") or {}).values()
                                   if e.get("method")}
    groups: dict[tuple, list[str]] = {}
    for m in method_order(list(by_method)):
        groups.setdefault(tuple(sorted(by_method[m])), []).append(m)
    return [{"commits": list(c), "methods": ms} for c, ms in groups.items()]


def result_rows(kind: str, result: dict) -> list[dict]:
    """The numbers of one metrics file as rows of leaderboard.json: one linear row (AUC and F1 at every label
    fraction), or one zero-shot row per class and the average. `python -m benchmark verify` compares these."""
    if kind == "linear":
        m = result["metrics"]
        return [{"auc": m["auc"], "f1": m["f1"],
                 "fractions": {f: {"auc": v["auc"], "f1": v["f1"]} for f, v in m.get("fractions", {}).items()}}]
    per_class = {**result["metrics"]["per_class"], "Average": result["metrics"]["average"]}
    return [{"class": c, **v} for c, v in per_class.items()]


def _machine_rows(board: Board) -> dict:
    """Every number of the tables, one row per (method, task, seed[, class]), for leaderboard.json; and the
    environment each (method, seed) was pre-trained and evaluated in (what verify names when a number differs)."""
    rows: dict[str, list] = {"linear": [], "zeroshot": []}
    environments: dict[str, dict] = {}
    for (kind, m, t), runs in board.results.items():
        for r in runs:
            common = {"method": m, "task": t, "seed": r["seed"], "steps": r["provenance"].get("pretrain_steps"),
                      "external": m in board.external, "stale": (kind, m, t, r["seed"]) in board.stale,
                      "commits": sorted({e.get("commit") or "unknown" for e in (r.get("code") or {}).values()})}
            rows[kind] += [{**common, **row} for row in result_rows(kind, r)]
            environments.setdefault(m, {}).setdefault(str(r["seed"]), {
                "pretrain": r["provenance"].get("pretrain_environment"),
                "eval": r["provenance"].get("eval_environment")})
    return {**rows, "environments": environments}


def build(config: dict, methods: list[str], titles: dict[str, str], zero_shot: list[str],
          seeds: dict[str, list[int]] | None = None, left_out: dict[str, str] | None = None,
          command: str | None = None) -> tuple[str, dict, str]:
    """The board of a preset: (Markdown, JSON-able dict, the Markdown of details.md). `zero_shot`: the methods with an ECG-text space;
    `seeds`: each method's seeds (default: benchmark.method.run_seeds of each folder); `left_out`: folders this
    run could not evaluate, and why; `command`: the command that made the board (default: the Snakemake command
    this step runs under)."""
    if seeds is None:
        from benchmark.method import load_method, run_seeds

        seeds = {m: run_seeds(config, load_method(paths.method_folder(m, paths.methods_dir(config)))) for m in methods}
    board = Board(config, list(methods), titles, zero_shot, seeds, dict(left_out or {}))
    own = provenance.step_record("leaderboard")
    steps = unique_entries(*(r.get("code") for r in board.runs), board.shared_code, own)
    commits = sorted({e.get("commit") or "unknown" for e in steps.values()})
    pretrain_commands = sorted({r["provenance"].get("pretrain_command") for r in board.runs} - {None})
    machine = {
        "preset": config["preset"], "synthetic": board.demo, "seeds": board.seeds, **_machine_rows(board),
        "external": board.external,
        "external_io": board.external_io, "left_out": board.left_out, "methods_dir": _methods_dir(config),
        "stats": board.stats, "results_dir": str(paths.results(config)), "config_hash": preset_hash(config),
        "settings_file": os.environ.get("BENCHMARK_SETTINGS"), "methods": list(methods),
        "settings": config,   # everything the run was made with: `python -m benchmark verify` re-runs from it
        "command": command or os.environ.get("BENCHMARK_INVOCATION", "(not run by snakemake)"),
        "pretrain_commands": pretrain_commands,  # the commands the pre-trainings ran under, when other
        # every step the board rests on (rows, statistics, figures, the board itself), with the commit it ran at
        "code": {"commits": commits, "steps": list(steps.values()), "drawn_at": next(iter(own.values()))["commit"],
                 "groups": commit_groups(board), "stale_steps": board.shared_stale},
        "complete": not board.missing and not board.stale,
        "missing": [dict(zip(("kind", "method", "task", "seed"), k)) for k in board.missing],
        "stale": [dict(zip(("kind", "method", "task", "seed"), k), reasons=v) for k, v in sorted(board.stale.items())],
    }
    machine["problems"] = run_problems(machine)
    title = f"# Leaderboard — preset `{config['preset']}`"
    top = H.header(board, machine)
    first = headline.section(board, DETAILS)
    how = ["## How to read the tables", "\n".join(legend(board.level, board.trained_seeds, bool(board.external)))]
    body = tables.linear(board, DETAILS) + tables.zeroshot_averages(board, DETAILS)
    figures = [(name, path) for name, path in plots.files(config).items() if path.exists()]
    if figures:
        body += [f"## Figures ({board.level} CIs)"] + [
            f"![{name.replace('_', ' ')}]({path.relative_to(paths.results(config)).as_posix()})\n\n"
            f"*{plots.caption(name, board.level)}*" for name, path in figures]
    machine["generated"] = top
    machine["headline"] = first
    details = "\n\n".join([f"# Details — preset `{config['preset']}`",
                            "Every table of [the board](leaderboard.md) in full: each label fraction, each class of "
                            "each zero-shot task, and the ETP paper's numbers for them.", *how[1:]]
                           + tables.label_efficiency(board) + tables.zeroshot(board)) + "\n"
    return "\n\n".join([title, first, top] + how + body) + "\n", machine, details


def write(config: dict, methods: list[str], titles: dict[str, str], zero_shot: list[str],
          seeds: dict[str, list[int]] | None = None, left_out: dict[str, str] | None = None) -> str:
    """Write the board's files (`files`): leaderboard.md, details.md, both rendered for the
    report, the report's front page and leaderboard.json."""
    from benchmark.leaderboard.html import front_page, render

    md, machine, details = build(config, methods, titles, zero_shot, seeds, left_out)
    out = files(config)
    for name, text in (("md", md), ("details", details), ("html", render(md)), ("details_html", render(details)),
                       ("front_page", front_page(machine["headline"]))):
        with atomic_path(out[name]) as tmp:
            tmp.write_text(text)
    write_json(out["json"], machine)
    return out["md"]


def _preset_methods(config: dict) -> tuple:
    """(methods, titles, zero-shot methods, seeds, left out) of the preset's workflow run
    (benchmark.method.run_selection)."""
    from benchmark.method import run_selection

    specs, seeds, left_out = run_selection(config)
    return (list(specs), {n: s.title for n, s in specs.items()}, [n for n, s in specs.items() if s.cls.zero_shot],
            seeds, left_out)


def rebuild(config: dict, finished: dict) -> tuple[str, dict, str]:
    """A written board (its leaderboard.json, `finished`) built again by this tree's code from the same results: the
    same methods, seeds and left-out folders. (Markdown, JSON-able dict, details.md's Markdown)."""
    from benchmark.method import load_method

    specs = {m: load_method(paths.method_folder(m, paths.methods_dir(config))) for m in finished["methods"]}
    return build(config, list(specs), {n: s.title for n, s in specs.items()},
                 [n for n, s in specs.items() if s.cls.zero_shot], finished.get("seeds"), finished.get("left_out"),
                 finished.get("command"))


def write_preset(config: dict):
    """Write the board of the methods of the preset's workflow run, with the folders left out named."""
    return write(config, *_preset_methods(config))
