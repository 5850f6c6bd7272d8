"""A preset's metrics -> its leaderboard (Tables 1-3 shaped like the paper's, Markdown + JSON), and `publish`.

The board of a preset is written to <results_dir>/leaderboard.md by the workflow's last step. Every row states
the optimiser steps it was pre-trained for, every table the records it used, the header the commit and the
command of the run. A row whose code (shared code or method folder) changed after it was computed is marked
stale, loudly; a board with stale or missing rows, results of several commits, or uncommitted code cannot be
published. `publish` copies a board that passes these checks to the top-level leaderboard.md.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from benchmark import paths, provenance
from benchmark.config import preset_hash
from benchmark.evaluate import plots
from benchmark.evaluate.compare import BASELINE, method_order
from benchmark.errors import BenchmarkError
from benchmark.io import atomic_path, read_json, write_json

REFERENCE = Path(__file__).resolve().parent / "reference"
STALE = "⚠ stale"
PUBLISHED_FIGURES = Path("docs") / "leaderboard"  # beside the published leaderboard.md


def _paper_tables():
    return (pd.read_csv(REFERENCE / "etp_paper_table1_linear.csv").set_index("method"),
            {"ptbxl": pd.read_csv(REFERENCE / "etp_paper_table2_zeroshot_ptbxl.csv"),
             "cpsc2018": pd.read_csv(REFERENCE / "etp_paper_table3_zeroshot_cpsc2018.csv")})


def _fmt(values: list[float]) -> str:
    """Percent with one decimal, as in the paper; mean ± std when there are several seeds."""
    v = [x for x in values if x is not None and not np.isnan(x)]
    if not v:
        return "n/a"
    if len(v) == 1:
        return f"{100 * v[0]:.1f}"
    return f"{100 * np.mean(v):.1f} ± {100 * np.std(v, ddof=1):.1f}"


def _ref(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.1f}"


def _legend(config: dict, external: bool = False) -> str:
    level = f"{100 * config['evaluation']['bootstrap']['level']:g}%"
    seeds = " and seeds" if len(config["seeds"]) > 1 else ""
    best = "the best row pre-trained here (external checkpoints are compared with it, never the reference)" \
        if external else "the best row"
    return (f"**Bold**: {best} and every row not distinguishable from it; ≈: not distinguishable from random "
            f"init (paired bootstrap over test records{seeds}, {level}; docs/evaluation.md).")


def _marked(values: list[float], cell: dict | None, method: str, ci: bool = True) -> str:
    """A table cell: mean (± sd over seeds), the CI of the method's value, and the significance marks of the
    task's paired comparisons (benchmark/evaluate/compare.py)."""
    text = _fmt(values)
    entry = (cell or {}).get("methods", {}).get(method)
    if entry is None or text == "n/a":
        return text
    if ci and entry["ci"]["lo"] is not None:
        text += f" [{100 * entry['ci']['lo']:.1f}, {100 * entry['ci']['hi']:.1f}]"
    if method == cell["best"] or not entry.get("vs_best", {}).get("distinguishable", True):
        text = f"**{text}**"
    if "vs_random_init" in entry and not entry["vs_random_init"]["distinguishable"]:
        text += " ≈"
    return text


def _n_train(results: dict, task: str, fraction: float) -> str:
    for (k, _, t), runs in results.items():
        if k == "linear" and t == task:
            for r in runs:
                f = r["metrics"].get("fractions", {}).get(f"{fraction:g}")
                if f:
                    return "/".join(str(d["n_train"]) for d in f["draws"])
    return "?"


def _methods_dir(config: dict) -> str:
    """The preset's method folders as the board records them: `methods` for this repository's, else the path."""
    root = paths.methods_dir(config)
    return "methods" if root.resolve() == paths.METHODS_DIR.resolve() else str(root)


def _external(runs: list[dict]) -> str | None:
    """What a published checkpoint's rows were pre-trained on (None: pre-trained, or initialised, here)."""
    found = next((r["provenance"].get("pretrain_external") for r in runs if r["provenance"].get("pretrain_external")),
                 None)
    return found["pretrained_on"] if found else None


def _steps(runs: list[dict]) -> str:
    if _external(runs):
        return "external"
    steps = sorted({r["provenance"].get("pretrain_steps") for r in runs}, key=lambda s: (s is None, s))
    return "/".join("?" if s is None else str(s) for s in steps)


# ------------------------------------------------------------------------------------------------ results
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


def stale_reasons(result: dict, code: str, method_code: dict[str, str]) -> list[str]:
    """Why a result no longer describes the current code (empty: it does)."""
    prov, m = result["provenance"], result["method"]
    if "code_fingerprint" not in prov:
        return ["no code fingerprint recorded (made by an older version of the benchmark)"]
    reasons = []
    for step, prefix in (("evaluation", ""), ("pre-training", "pretrain_")):
        if prov.get(prefix + "code_fingerprint") != code:
            reasons.append(f"the shared code changed since its {step}")
        if prov.get(prefix + "method_fingerprint") != method_code.get(m):
            reasons.append(f"methods/{m}/ changed since its {step}")
    return reasons


# ------------------------------------------------------------------------------------------------ build
def build(config: dict, methods: list[str], titles: dict[str, str], zero_shot: list[str],
          seeds: dict[str, list[int]] | None = None, left_out: dict[str, str] | None = None) -> tuple[str, dict]:
    """The board of a preset: (Markdown, JSON-able dict). `zero_shot`: the methods with an ECG-text space;
    `seeds`: each method's seeds (default: benchmark.method.run_seeds of each folder); `left_out`: folders this
    run could not evaluate, and why."""
    if seeds is None:
        from benchmark.method import load_method, run_seeds

        seeds = {m: run_seeds(config, load_method(paths.method_folder(m, paths.methods_dir(config)))) for m in methods}
    wanted = expected(config, methods, zero_shot, seeds)
    results = collect(config, wanted)
    table1_ref, zs_ref = _paper_tables()
    ev, tasks = config["evaluation"], config["tasks"]
    demo = any(ds["source"] == "synthetic" for ds in config["datasets"].values())
    all_runs = [r for runs in results.values() for r in runs]
    code = provenance.code_fingerprint()
    method_code = {m: provenance.method_fingerprint(paths.method_folder(m, paths.methods_dir(config))) for m in methods}

    stale = {}
    for (kind, m, t), runs in results.items():
        for r in runs:
            why = stale_reasons(r, code, method_code)
            if why:
                stale[(kind, m, t, r["seed"])] = why
    have = {(k, m, t, r["seed"]) for (k, m, t), runs in results.items() for r in runs}
    missing = sorted(wanted - have)

    external = {m: _external([r for (_, mm, _), runs in results.items() if mm == m for r in runs]) for m in methods}
    external = {m: on for m, on in external.items() if on}
    # what each external row's encoder sees and gives: its declared input and its feature size
    external_io = {m: next(({"input": r["provenance"].get("input"), "feature_dim": r["provenance"].get("feature_dim")}
                            for (_, mm, _), runs in results.items() if mm == m for r in runs), {})
                   for m in external}

    def title(kind, m, t=None) -> str:
        bad = any(key[:2] == (kind, m) and (t is None or key[2] == t) for key in stale)
        return titles.get(m, m) + (" (external checkpoint)" if m in external else "") + (f" {STALE}" if bad else "")

    machine: dict = {"preset": config["preset"], "linear": [], "zeroshot": [], "external": external,
                     "external_io": external_io,
                     "left_out": dict(left_out or {}), "methods_dir": _methods_dir(config)}

    stats = {t: read_json(paths.stats(config, t)) for t in sorted(set(ev["linear_tasks"]) | set(ev["zeroshot_tasks"]))
             if paths.stats(config, t).exists()}
    machine["stats"] = stats
    legend, level = _legend(config, bool(external)), f"{100 * ev['bootstrap']['level']:g}%"
    sizes = {r["task"]: r["split_sizes"] for r in all_runs}

    # ---- Table 1: linear evaluation at 100 % of the labels (the paper's protocol)
    headers = ["Method", "Steps"]
    for t in ev["linear_tasks"]:
        name = tasks[t].get("title", t)
        headers += [f"{name} AUC", f"{name} F1"]
        if tasks[t]["paper_table"]:
            headers += [f"paper {tasks[t]['paper_table']} AUC (ref.)", f"paper {tasks[t]['paper_table']} F1 (ref.)"]
    rows = []
    for m in method_order({m for (k, m, _) in results if k == "linear"}):
        runs_m = [r for t in ev["linear_tasks"] for r in results.get(("linear", m, t), [])]
        row = [title("linear", m), _steps(runs_m)]
        for t in ev["linear_tasks"]:
            runs = results.get(("linear", m, t), [])
            cells = stats.get(t, {}).get("linear", {}).get("1", {})
            row += [_marked([r["metrics"]["auc"] for r in runs], cells.get("auc"), m),
                    _marked([r["metrics"]["f1"] for r in runs], cells.get("f1"), m)]
            machine["linear"] += [{"method": m, "task": t, "seed": r["seed"], "auc": r["metrics"]["auc"],
                                   "f1": r["metrics"]["f1"],
                                   "fractions": {f: {"auc": v["auc"], "f1": v["f1"]}
                                                 for f, v in r["metrics"].get("fractions", {}).items()},
                                   "steps": r["provenance"].get("pretrain_steps"), "external": m in external,
                                   "stale": (("linear", m, t, r["seed"]) in stale)} for r in runs]
            pt = tasks[t]["paper_table"]
            if pt:
                ref = table1_ref.loc[m] if m in table1_ref.index else None
                row += [_ref(None if ref is None else ref[f"{pt}_auc"]), _ref(None if ref is None else ref[f"{pt}_f1"])]
        rows.append(row)
    counts = "; ".join(f"{tasks[t].get('title', t)} {sizes[t]['train']}/{sizes[t]['val']}/{sizes[t]['test']}"
                       for t in ev["linear_tasks"] if t in sizes)
    sections = ["## Table 1: linear evaluation (frozen encoder, logistic regression, 100% of the training labels; "
                f"macro AUC and macro F1, %, [{level} CI])",
                f"Records (train/val/test): {counts or '(no results)'}. Steps: the method's pre-training optimiser "
                f"steps. {legend}" + (f" {_external_note(external, titles, config, external_io)}" if external else ""),
                tabulate(rows, headers, tablefmt="github", disable_numparse=True) if rows else "_no linear results yet_"]

    # ---- Table 1b: label efficiency (linear AUC at each fraction of the training labels)
    fractions = sorted(ev["label_fractions"])
    if len(fractions) > 1:
        headers = ["Method"] + [f"{tasks[t].get('title', t)} {100 * f:g}%" for t in ev["linear_tasks"] for f in fractions]
        rows = []
        for m in method_order({m for (k, m, _) in results if k == "linear"}):
            row = [title("linear", m)]
            for t in ev["linear_tasks"]:
                runs = results.get(("linear", m, t), [])
                for f in fractions:
                    cell = stats.get(t, {}).get("linear", {}).get(f"{f:g}", {}).get("auc")
                    vals = [r["metrics"]["fractions"][f"{f:g}"]["auc"] for r in runs
                            if f"{f:g}" in r["metrics"].get("fractions", {})]
                    row.append(_marked(vals, cell, m, ci=False))
            rows.append(row)
        draws = ev["fraction_draws"]
        n_train = "; ".join(f"{tasks[t].get('title', t)} " + "/".join(
            str(_n_train(results, t, f)) for f in fractions) for t in ev["linear_tasks"])
        sections += ["## Table 1b: label efficiency (linear AUC, %, at each fraction of the training labels)",
                     f"Each fraction is a class-stratified draw of the task's training records, the same records for "
                     f"every method ({draws} draw{'s' if draws > 1 else ''} per fraction below 100%, averaged); C is "
                     f"still chosen on the whole val split. Training records per fraction: {n_train}. "
                     f"{level} CIs are in leaderboard.json and the label-efficiency figure. " + legend,
                     tabulate(rows, headers, tablefmt="github", disable_numparse=True)]

    # ---- Tables 2-3: zero-shot, per class
    for n, t in enumerate(ev["zeroshot_tasks"], start=2):
        pt = tasks[t]["paper_table"]
        ref = zs_ref.get(pt) if pt else None
        zs_methods = method_order({m for (k, m, tt) in results if k == "zeroshot" and tt == t})
        headers = ["Category", "Method", "Steps", "AUC", "ACC", "F1"] + (
            ["paper AUC (ref.)", "paper ACC (ref.)", "paper F1 (ref.)"] if ref is not None else [])
        zs_stats = stats.get(t, {}).get("zeroshot", {})
        classes = list(next(iter(results[("zeroshot", zs_methods[0], t)]))["metrics"]["per_class"]) if zs_methods \
            else []
        rows = []
        for cls in classes + ["Average"]:
            for m in zs_methods:
                runs = results[("zeroshot", m, t)]
                vals = [r["metrics"]["average"] if cls == "Average" else r["metrics"]["per_class"][cls] for r in runs]
                cells = zs_stats.get("average", {}) if cls == "Average" else zs_stats.get("per_class", {}).get(cls, {})
                row = [cls, title("zeroshot", m, t), _steps(runs)] + [_marked([v[k] for v in vals], cells.get(k), m)
                                                                        for k in ("auc", "acc", "f1")]
                machine["zeroshot"] += [{"method": m, "task": t, "class": cls, "seed": r["seed"], **v,
                                         "steps": r["provenance"].get("pretrain_steps"), "external": m in external,
                                         "stale": (("zeroshot", m, t, r["seed"]) in stale)}
                                        for r, v in zip(runs, vals)]
                if ref is not None:
                    hit = ref[(ref["class"] == cls) & (ref["method"] == m)]
                    row += [_ref(hit[k].iloc[0]) if len(hit) else "" for k in ("auc", "acc", "f1")]
                rows.append(row)
        test_n = sizes[t]["test"] if t in sizes else "?"
        sections += [f"## Table {n}: zero-shot classification on {tasks[t].get('title', t)} "
                     f"(prompt \"{ev['prompt'].format('{class}')}\"; per-class AUC, ACC, F1, %, [{level} CI])",
                     f"Records: the {test_n} test records of the task; nothing is fitted, the prediction is the "
                     f"best-scoring prompt. {legend}",
                     tabulate(rows, headers, tablefmt="github", disable_numparse=True) if rows
                     else "_no zero-shot results yet_"]

    figures = [(name, path) for name, path in plots.files(config).items() if path.exists()]
    if figures:
        sections += [f"## Figures ({level} CIs)", "\n".join(
            f"![{name.replace('_', ' ')}]({path.relative_to(paths.results(config)).as_posix()})"
            for name, path in figures)]

    commits = sorted({r["provenance"].get(k) or "unknown" for r in all_runs for k in ("commit", "pretrain_commit")})
    commands = sorted({r["provenance"].get("pretrain_command") for r in all_runs} - {None})
    machine.update({
        "results_dir": str(paths.results(config)),
        "config_hash": preset_hash(config),
        "settings_file": os.environ.get("BENCHMARK_SETTINGS"),
        "methods": list(methods),
        "command": commands[0] if len(commands) == 1 else " | ".join(commands) or
        os.environ.get("BENCHMARK_INVOCATION", "(not run by snakemake)"),
        "code": {"commits": commits, "fingerprint": code, "rendering": provenance.rendering_fingerprint(),
                 "methods": method_code},
        "complete": not missing and not stale,
        "missing": [dict(zip(("kind", "method", "task", "seed"), k)) for k in missing],
        "stale": [dict(zip(("kind", "method", "task", "seed"), k), reasons=v) for k, v in sorted(stale.items())],
    })
    machine["problems"] = run_problems(machine)
    header = _header(config, all_runs, demo, methods, titles, results, machine)
    md = "\n\n".join([header] + sections) + "\n"
    machine["generated"] = header
    return md, machine


def _demo_summary(config: dict, results: dict, titles: dict[str, str], stats: dict, external=()) -> str:
    """How each method trained here compares with random init in linear AUC at 100 % of the labels on every task
    of this run: by the paired tests when the statistics exist, else by the point estimates (means over seeds)."""
    tasks = config["evaluation"]["linear_tasks"]
    cells = {t: stats.get(t, {}).get("linear", {}).get("1", {}).get("auc") for t in tasks}
    trained = [m for m in method_order({m for (k, m, _) in results if k == "linear"})
               if m != BASELINE and m not in external]
    if not trained or not all((("linear", BASELINE, t) in results) for t in tasks):
        return ""
    names = lambda ms: ", ".join(titles.get(m, m) for m in ms) or "none"  # noqa: E731
    if all(cells.values()):
        def sign(m, t):
            test = cells[t]["methods"].get(m, {}).get("vs_random_init")
            if not test or not test["distinguishable"]:
                return 0
            return 1 if test["diff_lo"] > 0 else -1
        signs = {m: [sign(m, t) for t in tasks] for m in trained}
        above = [m for m in trained if all(x > 0 for x in signs[m])]
        below = [m for m in trained if any(x < 0 for x in signs[m])]
        level = f"{100 * config['evaluation']['bootstrap']['level']:g}"
        return (f"> Measured in this run (linear AUC at 100% of the labels, paired bootstrap at {level}%): above random "
                f"init on every task: {names(above)}; below it on at least one task: {names(below)}; not "
                f"distinguishable from it otherwise: {names([m for m in trained if m not in above + below])}.")
    mean = {(m, t): np.mean([r["metrics"]["auc"] for r in results[("linear", m, t)]]) for m in trained + [BASELINE]
            for t in tasks if ("linear", m, t) in results}
    above = [m for m in trained if all((m, t) in mean and mean[(m, t)] > mean[(BASELINE, t)] for t in tasks)]
    return (f"> Measured in this run (linear AUC, point estimates): above random init on every task: {names(above)}; "
            f"not on every task: {names([m for m in trained if m not in above])}.")


def _external_note(external: dict[str, str], titles: dict[str, str], config: dict, io: dict | None = None) -> str:
    """Why an external row is not a same-budget comparison with the rows pre-trained here; what each one's encoder
    was given (its declared input) and gives (its feature size)."""
    def row(m: str) -> str:
        seen = (io or {}).get(m) or {}
        shape = ", ".join(x for x in (f"input {seen['input']}" if seen.get("input") else "",
                                      f"{seen['feature_dim']}-d features" if seen.get("feature_dim") else "") if x)
        return f"{titles.get(m, m)}: pre-trained on {external[m]}" + (f"; {shape}" if shape else "")

    rows = "; ".join(row(m) for m in external)
    return (f"*External checkpoint* rows are published models evaluated as released, with their own architecture, "
            f"input and pre-training data ({rows}), not the train split of `{config['pretrain']['dataset']}` the other "
            "rows were pre-trained on: they are not a same-budget comparison (their pre-training data may even "
            "overlap this table's test records).")


def _settings_lines(runs: list[dict], titles: dict[str, str]) -> list[str]:
    """One line per method choice recorded by the runs (Method.settings, e.g. the augmentation family), naming
    the rows that used each value."""
    used: dict[tuple[str, str], list[str]] = {}
    for m in method_order({r["method"] for r in runs}):
        seen = set()
        for r in (r for r in runs if r["method"] == m):
            for key, value in (r["provenance"].get("pretrain_settings") or {}).items():
                if (key, value) not in seen:
                    seen.add((key, value))
                    used.setdefault((key, value), []).append(titles.get(m, m))
    return [f"- {key[:1].upper() + key[1:]} {value}: {', '.join(rows)}" for (key, value), rows in sorted(used.items())]


def _header(config: dict, runs: list[dict], demo: bool, methods: list[str], titles: dict[str, str], results: dict,
            machine: dict) -> str:
    prov = [r["provenance"] for r in runs]
    devices = sorted({p["pretrain_device"] for p in prov}) or ["(no results)"]
    steps = sorted({p.get("pretrain_steps") for p in prov if p.get("pretrain_steps")})  # trained rows only
    budget = (f"{steps[0]} optimiser steps for every trained method" if len(steps) == 1 else
              "optimiser steps that differ between methods (Steps column)" if steps else "no trained method")
    pre = config["pretrain"]
    pre_records = sorted({p.get("pretrain_records") for p in prov if p.get("pretrain_records") is not None})
    metas = {n: read_json(paths.dataset_dir(config, n) / "meta.json") for n in config["datasets"]
             if (paths.dataset_dir(config, n) / "meta.json").exists()}
    text_line = metas.get(pre["dataset"], {}).get("text_description", "synthetic English template reports")
    code = machine["code"]
    boot = config["evaluation"]["bootstrap"]
    lines = [f"# Leaderboard — preset `{config['preset']}`", ""]
    if demo:
        lines += ["> **DEMO RESULTS ON SYNTHETIC DATA.** These numbers come from the embedded synthetic cohort",
                  f"> (`benchmark/data/synthetic.py`), not from PTB-XL or CPSC2018, after {budget} at batch "
                  f"{pre['batch_size']}.",
                  "> They show that every step of the pipeline runs offline and what each objective learns in a",
                  "> short run on a toy task. They are **not** a reproduction of the paper and say little",
                  "> about how the methods rank on real ECGs. The paper's numbers appear only in columns marked",
                  "> *(ref.)*, measured on the real data."]
        summary = _demo_summary(config, results, titles, machine.get("stats", {}), machine["external"])
        lines += ([">", summary] if summary else []) + [""]
    else:
        lines += ["> Columns marked *(ref.)* are the numbers reported in the ETP paper (ICASSP 2024) on the full",
                  "> datasets, shown for comparison; every other number was measured by this benchmark, in the",
                  "> setting the lines below describe.", ""]
    if machine["problems"]:
        lines += ["> **WARNING: this board is not one complete run of one committed code state**, so it cannot be "
                  "published (leaderboard.json lists the rows):"] + [f"> - {p}" for p in machine["problems"]] + [""]
    commits = ", ".join(code["commits"]) or "(no results)"
    if len(code["commits"]) > 1 and not machine["stale"]:
        commits += " (the code was identical: every result carries the same code fingerprint)"
    repaired = [f"{t} {kind} {st[kind]['resamples_repaired']}" for t, st in machine.get("stats", {}).items()
                for kind in ("linear", "zeroshot") if st.get(kind, {}).get("resamples_repaired")]
    lines += [f"- Preset: {config.get('description', config['preset'])}",
              f"- Code: commit {commits}; code fingerprint {code['fingerprint']} (benchmark/provenance.py)",
              f"- Command: `{machine['command']}`; generated "
              f"{dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
              "- Data: " + "; ".join(f"{n} ({d.get('title', d['source'])}, source `{d['source']}`)"
                                      for n, d in config["datasets"].items()),
              f"- Signals: {config['data']['sampling_rate']} Hz, {config['data']['seconds']} s, 12 leads, "
              f"normalisation `{config['data']['normalisation']}`",
              f"- Pre-training: train split of `{pre['dataset']}` ({'/'.join(map(str, pre_records)) or '?'} records; "
              f"reports of the training split only), {pre['epochs']} epoch(s) at batch {pre['batch_size']} = "
              f"{budget}; "
              f"text model `{pre['text_model']}` (frozen)",
              f"- Pre-training text: {text_line}; training split only",
              *[f"- {m['summary']}" for m in metas.values() if m.get("summary")],
              *_settings_lines(runs, titles),
              *(["- External checkpoints (published weights evaluated as released, pre-trained elsewhere on other "
                 "data; not a same-budget comparison): " + "; ".join(
                     f"{titles.get(m, m)}, pre-trained on {on}" for m, on in machine["external"].items())]
                if machine["external"] else []),
              *(["- Left out of this run: " + "; ".join(
                  f"methods/{m}: {why}" for m, why in machine["left_out"].items())]
                if machine["left_out"] else []),
              f"- Seeds: {config['seeds']} (mean ± sample std when more than one"
              + ("; external checkpoints: the first seed only, their weights being fixed" if machine["external"] else "")
              + f"); methods: {', '.join(method_order(methods))}",
              f"- Hardware (pre-training): {', '.join(devices)}",
              "- Linear probe: logistic regression on standardised frozen features, C chosen by macro AUC on the whole "
              "val split (at every label fraction), test scored once. Zero-shot: cosine between ECG and prompt "
              "embeddings, argmax prediction. Nothing is chosen on test (docs/evaluation.md)",
              f"- {100 * boot['level']:g}% CIs: percentile bootstrap over test records, {boot['resamples']} resamples "
              "shared by every method (paired comparisons), each keeping every evaluable class; with several seeds, "
              "the seeds are resampled too (docs/evaluation.md)"
              + (f". Test splits too small to keep every class by rejection; resamples repaired instead (task, "
                 f"protocol, count of {boot['resamples']}): {'; '.join(repaired)}" if repaired else "")]
    return "\n".join(lines)


def write(config: dict, methods: list[str], titles: dict[str, str], zero_shot: list[str],
          seeds: dict[str, list[int]] | None = None, left_out: dict[str, str] | None = None) -> Path:
    md, machine = build(config, methods, titles, zero_shot, seeds, left_out)
    out = paths.leaderboard(config)
    with atomic_path(out) as tmp:
        tmp.write_text(md)
    write_json(out.with_suffix(".json"), machine)
    return out


def write_preset(config: dict) -> Path:
    """The board of the methods of the preset's workflow run (benchmark.method.run_selection), with the folders
    left out named."""
    from benchmark.method import run_selection

    specs, seeds, left_out = run_selection(config)
    return write(config, list(specs), {n: s.title for n, s in specs.items()},
                 [n for n, s in specs.items() if s.cls.zero_shot], seeds, left_out)


# ------------------------------------------------------------------------------------------------ publish
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
