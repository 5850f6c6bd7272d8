"""The board's tables, shaped like the ETP paper's Tables 1-3 but laid out to fit a page (about 950 px): one
table per task, CIs in compact form, the paper's numbers in their own columns (Table 1) or their own table
(zero-shot). Every function returns Markdown sections; the numbers come from the metrics and statistics files.
The board shows Table 1 and each zero-shot task's averages (`linear`, `zeroshot_averages`); details.md beside it
the tables a reader who wants the answer need not scroll through (`label_efficiency`, `zeroshot`, per class).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from benchmark.evaluate.compare import method_order
from benchmark.leaderboard.cells import marked, ref

REFERENCE = Path(__file__).resolve().parent.parent / "reference"


@lru_cache(maxsize=1)
def paper_tables() -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    return (pd.read_csv(REFERENCE / "etp_paper_table1_linear.csv").set_index("method"),
            {"ptbxl": pd.read_csv(REFERENCE / "etp_paper_table2_zeroshot_ptbxl.csv"),
             "cpsc2018": pd.read_csv(REFERENCE / "etp_paper_table3_zeroshot_cpsc2018.csv")})


def table(rows: list[list[str]], headers: list[str]) -> str:
    return tabulate(rows, headers, tablefmt="github", disable_numparse=True)


def anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading ('Table 1b: label efficiency' -> 'table-1b-label-efficiency')."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def link(text: str, file: str, heading: str) -> str:
    return f"[{text}]({file}#{anchor(heading)})"


VS = ", vs random init"   # a column whose cells carry the ↑ / ↓ / ≈ mark says what the mark compares with


def _title(board, t: str) -> str:
    return board.config["tasks"][t].get("title", t)


def _split(board, t: str) -> str:
    s = board.sizes.get(t)
    return (f"{s['train']}/{s['val']}/{s['test']} records (train/val/test)" if s else "no results yet") \
        + board.subset_note(t)


def _linear_methods(board) -> list[str]:
    return method_order({m for (k, m, _) in board.results if k == "linear"})


def linear(board, details: str = "details.md") -> list[str]:
    """Table 1: linear probe at 100 % of the training labels, one table per task (macro AUC and F1)."""
    ev, level = board.config["evaluation"], board.level
    more = (f" Each label fraction: {link(details, details, LABEL_EFFICIENCY)}."
            if len(ev["label_fractions"]) > 1 else "")
    sections = ["## Table 1: linear evaluation",
                f"Frozen encoder, logistic regression on 100 % of the training labels; macro AUC and macro F1, %, "
                f"[{level} CI].{more} "
                + " ".join(["Steps: the row's pre-training optimiser steps.", board.external_note]).strip()]
    for t in ev["linear_tasks"]:
        pt = board.config["tasks"][t]["paper_table"]
        cells = board.stats.get(t, {}).get("linear", {}).get("1", {})
        rows = []
        for m in _linear_methods(board):
            runs = board.results.get(("linear", m, t), [])
            row = [board.row_title("linear", m), board.steps(runs),
                   marked([r["metrics"]["auc"] for r in runs], cells.get("auc"), m),
                   marked([r["metrics"]["f1"] for r in runs], cells.get("f1"), m)]
            if pt:
                paper = paper_tables()[0]
                hit = paper.loc[m] if m in paper.index else None
                row += [ref(None if hit is None else hit[f"{pt}_auc"]), ref(None if hit is None else hit[f"{pt}_f1"])]
            rows.append(row)
        headers = ["Method", "Steps", f"AUC{VS}", f"F1{VS}"] + (["AUC (ref.)", "F1 (ref.)"] if pt else [])
        sections += [f"### {_title(board, t)}: {_split(board, t)}",
                     table(rows, headers) if rows else "_no linear results yet_"]
    return sections


LABEL_EFFICIENCY = "Table 1b: label efficiency"


def label_efficiency(board) -> list[str]:
    """Table 1b: linear AUC at each fraction of the training labels, one table per task."""
    ev, level = board.config["evaluation"], board.level
    fractions = sorted(ev["label_fractions"])
    if len(fractions) < 2:
        return []
    draws = ev["fraction_draws"]
    sections = [f"## {LABEL_EFFICIENCY}",
                f"Linear macro AUC, %, at each fraction of the training labels, [{level} CI]. Each fraction is a "
                "class-stratified draw of the task's training records, the same records for every "
                f"method ({draws} draw{'s' if draws > 1 else ''} per fraction below 100%, averaged); C is still "
                "chosen on the whole val split."]
    for t in ev["linear_tasks"]:
        rows = []
        for m in _linear_methods(board):
            runs = board.results.get(("linear", m, t), [])
            row = [board.row_title("linear", m)]
            for f in fractions:
                cell = board.stats.get(t, {}).get("linear", {}).get(f"{f:g}", {}).get("auc")
                row.append(marked([r["metrics"]["fractions"][f"{f:g}"]["auc"] for r in runs
                                   if f"{f:g}" in r["metrics"].get("fractions", {})], cell, m))
            rows.append(row)
        counts = "/".join(board.n_train(t, f) for f in fractions)
        sections += [f"### {_title(board, t)}: {counts} training records{board.subset_note(t)}",
                     table(rows, ["Method"] + [f"{100 * f:g}% of labels{VS}" for f in fractions])]
    return sections


def zeroshot(board) -> list[str]:
    """Tables 2, 3, ...: zero-shot per class and on average, one table per task; the paper's numbers follow in a
    table of their own."""
    ev, level = board.config["evaluation"], board.level
    sections = []
    for n, t in enumerate(ev["zeroshot_tasks"], start=2):
        zs_methods = method_order({m for (k, m, tt) in board.results if k == "zeroshot" and tt == t})
        zs_stats = board.stats.get(t, {}).get("zeroshot", {})
        classes = list(board.results[("zeroshot", zs_methods[0], t)][0]["metrics"]["per_class"]) if zs_methods else []
        rows = []
        for cls in classes + ["Average"]:
            for m in zs_methods:
                runs = board.results[("zeroshot", m, t)]
                values = [r["metrics"]["average"] if cls == "Average" else r["metrics"]["per_class"][cls] for r in runs]
                cells = zs_stats.get("average", {}) if cls == "Average" else zs_stats.get("per_class", {}).get(cls, {})
                rows.append([cls, board.row_title("zeroshot", m, t)]
                            + [marked([v[k] for v in values], cells.get(k), m) for k in ("auc", "acc", "f1")])
        test_n = board.sizes[t]["test"] if t in board.sizes else "?"
        steps = ", ".join(f"{board.titles.get(m, m)} {board.steps(board.results[('zeroshot', m, t)])}"
                          for m in zs_methods)
        sections += [f"## {zeroshot_heading(board, n, t)}",
                     f"{selection(board, t)}. Prompt \"{ev['prompt'].format('{class}')}\"; per-class AUC, ACC, F1, "
                     f"%, [{level} CI]. "
                     f"The {test_n} test records of the task{board.subset_note(t)}; nothing is fitted, the prediction "
                     "is the best-scoring "
                     f"prompt. Steps: {steps or 'none'}. {_prompt_sets(board, t, zs_methods)}",
                     table(rows, ["Class", "Method"] + [f"{k}{VS}" for k in ("AUC", "ACC", "F1")]) if rows
                     else "_no zero-shot results yet_"]
        # benchmark.evaluate.metrics.evaluable: a class needs positive and negative test records
        unevaluable = [c for c in classes if any(not r["metrics"]["per_class"][c].get("evaluable", True)
                                                 for m in zs_methods for r in board.results[("zeroshot", m, t)])]
        if unevaluable:
            sections.append(f"Not evaluable: {', '.join(unevaluable)}. The test records hold none of the class (or "
                            "only records of it), so its AUC is n/a; its ACC and F1 are shown but left out of "
                            "the averages, which are over the other classes.")
        paper = _paper_zeroshot(board, t, zs_methods, classes)
        if paper:
            sections += paper
    return sections


def zeroshot_heading(board, n: int, t: str) -> str:
    return f"Table {n}: zero-shot on {_title(board, t)}"


def selection(board, t: str) -> str:
    """Which test records a zero-shot task scores, in words: ETP's Tables 2-3 score single-label records, MERL's
    zero-shot tasks are multi-label, so a row's number is comparable only with the protocol it shares."""
    if board.config["tasks"][t].get("selection") == "single_label":
        return "Single-label task (records with exactly one of the classes: ETP's protocol, its Tables 2-3)"
    return "Multi-label task (every record with any of the classes; MERL's zero-shot protocol)"


def zeroshot_averages(board, details: str = "details.md") -> list[str]:
    """Tables 2, 3, ... as the board shows them: each zero-shot task's average over its evaluable classes, one row
    per method (each class: details.md)."""
    ev, level = board.config["evaluation"], board.level
    sections = []
    for n, t in enumerate(ev["zeroshot_tasks"], start=2):
        zs_methods = method_order({m for (k, m, tt) in board.results if k == "zeroshot" and tt == t})
        if not zs_methods:
            continue
        cells = board.stats.get(t, {}).get("zeroshot", {}).get("average", {})
        rows = [[board.row_title("zeroshot", m, t)] + [marked([r["metrics"]["average"][k] for r in
                                                              board.results[("zeroshot", m, t)]], cells.get(k), m)
                                                       for k in ("auc", "acc", "f1")] for m in zs_methods]
        heading = zeroshot_heading(board, n, t)
        sections += [f"## {heading}",
                     f"{selection(board, t)}. Mean over the evaluable classes of AUC, ACC and F1, %, [{level} CI]; "
                     "nothing is fitted. Each "
                     f"class, the prompts and the paper's numbers: {link(details, details, heading)}.",
                     table(rows, ["Method"] + [f"{k}{VS}" for k in ("AUC", "ACC", "F1")])]
    return sections


def _prompt_sets(board, t: str, methods: list[str]) -> str:
    """Which prompt set each row used (benchmark.evaluate.prompts): the class names in the template, or a named set
    of descriptions; a row that asked for a set which does not describe every class says so."""
    sets = board.config["evaluation"].get("prompt_sets", {})
    used = {}
    for m in methods:
        for r in board.results[("zeroshot", m, t)]:
            z = r["metrics"]
            name = z.get("prompt_set", "names")
            label = "class names" if name == "names" else f"{name} ({sets.get(name, {}).get('title', name)})"
            if z.get("prompt_note"):
                label += f" [{z['prompt_note']}]"
            used.setdefault(label, []).append(board.titles.get(m, m))
    parts = [f"{label}: {', '.join(dict.fromkeys(rows))}" for label, rows in used.items()]
    return f"Prompts per row: {'; '.join(parts)}." if parts else ""


def _paper_zeroshot(board, t: str, methods: list[str], classes: list[str]) -> list[str]:
    pt = board.config["tasks"][t]["paper_table"]
    paper = paper_tables()[1].get(pt) if pt else None
    if paper is None:
        return []
    rows = []
    for cls in classes + ["Average"]:
        for m in methods:
            hit = paper[(paper["class"] == cls) & (paper["method"] == m)]
            if len(hit):
                rows.append([cls, board.titles.get(m, m)] + [ref(hit[k].iloc[0]) for k in ("auc", "acc", "f1")])
    if not rows:
        return []
    number = {"ptbxl": 2, "cpsc2018": 3}.get(pt, "")
    return [f"The ETP paper's Table {number} *(ref.)*, on the full dataset, for the same rows:",
            table(rows, ["Class", "Method", "AUC (ref.)", "ACC (ref.)", "F1 (ref.)"])]
