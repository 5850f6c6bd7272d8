"""The answer on a board's first screen: one compact table (methods as rows, tasks as columns; each cell the linear
AUC at 100 % of the labels and its difference from random init, with the mark), the zero-shot mean AUC of the
methods that have it, the verdict in plain words and one caveat line. Everything else on the board (provenance,
legend, full tables) follows it; the per-fraction and per-class tables live in details.md beside the board."""
from __future__ import annotations

from benchmark.evaluate.compare import BASELINE, method_order
from benchmark.leaderboard.cells import fdr, mark

DETAILS = "details.md"   # beside leaderboard.md: Table 1b and the per-class zero-shot tables
ABOUT = "about-these-numbers"   # the anchor of the board's provenance section (header.header)


def short_titles(board, tasks: list[str]) -> dict[str, str]:
    """Column names: when every task's title starts with the same word (a dataset name, said once in the caption),
    the rest of each title; a title that is only that word gives the task's key without its dataset's name."""
    titles = {t: board.config["tasks"][t].get("title", t) for t in tasks}
    first = {tt.split(" ", 1)[0] for tt in titles.values()}
    if len(tasks) < 2 or len(first) > 1:
        return titles
    dataset = lambda t: board.config["tasks"][t]["dataset"]  # noqa: E731
    return {t: tt.split(" ", 1)[1] if " " in tt else t.removeprefix(f"{dataset(t)}_") for t, tt in titles.items()}


def _auc_column(board, t: str) -> dict:
    """The statistics of task t's linear AUC at 100 % of the labels (benchmark/evaluate/compare.py), {} if none."""
    return board.stats.get(t, {}).get("linear", {}).get("1", {}).get("auc") or {}


def _cell(board, t: str, m: str) -> str:
    """'84.8 (+13.1 ↑)': the mean AUC over seeds and its difference from random init's, with the paired test's
    mark; random init's own cell is its AUC."""
    column = _auc_column(board, t)
    entry, base = column.get("methods", {}).get(m), column.get("methods", {}).get(BASELINE)
    if entry is None or entry["value"] is None:
        return "—"
    value = 100 * entry["value"]
    if m == BASELINE or base is None or base["value"] is None:
        return f"{value:.1f}"
    diff = round(value, 1) - round(100 * base["value"], 1)   # the difference of the two numbers shown
    return f"{value:.1f} ({'−' if diff < -0.05 else '+'}{abs(diff):.1f} {mark(entry, m)})"


def _zeroshot(board, m: str) -> str:
    """The zero-shot mean AUC over classes on each zero-shot task, '—' for a method without a text side."""
    out = []
    for t in board.config["evaluation"]["zeroshot_tasks"]:
        entry = board.stats.get(t, {}).get("zeroshot", {}).get("average", {}).get("auc", {}).get("methods", {}).get(m)
        out.append("—" if entry is None or entry["value"] is None else f"{100 * entry['value']:.1f}")
    return " / ".join(out) if any(x != "—" for x in out) else "—"


def marks(board) -> dict[str, list[str]]:
    """method -> its ↑ / ↓ / ≈ against random init on each linear task (linear AUC at 100 % of the labels),
    for the methods trained here; a task without a test for it counts as ≈."""
    tasks = board.config["evaluation"]["linear_tasks"]
    cells = {t: _auc_column(board, t) for t in tasks}
    trained = [m for m in method_order({m for (k, m, _) in board.results if k == "linear"})
               if m != BASELINE and m not in board.external]
    return {m: [mark(cells[t]["methods"][m], m) if m in cells[t].get("methods", {}) else "≈" for t in tasks]
            for m in trained}


def verdict(board) -> str:
    """The verdict in plain words ('ETP is above random init on 2 of 2 tasks; no other method is on any; none is
    below it on any'), or why there is none (one seed, missing results)."""
    tasks = board.config["evaluation"]["linear_tasks"]
    if board.trained_seeds < 2 and any(m not in board.external for m in board.methods):
        return ("**No verdict:** one pre-training seed, so the marks cover the sampling of test records only, not "
                "training variance (the published boards use three).")
    found = marks(board)
    if not found or any(not board.stats.get(t, {}).get("linear", {}).get("1") for t in tasks):
        return "**No verdict yet:** the statistics of some task are missing (run the preset to the end)."
    name = lambda m: board.titles.get(m, m)  # noqa: E731
    n = len(tasks)

    order = list(found)   # board order (marks)

    def said(sign: str, what: str) -> str:
        counts = sorted(((sum(x == sign for x in v), m) for m, v in found.items() if sign in v),
                        key=lambda c: (-c[0], order.index(c[1])))
        if not counts:
            return f"no method is {what} it on any task"
        parts = [f"{name(m)} is {what} {'random init' if sign == '↑' else 'it'} on {k} of {n} task"
                 f"{'s' if n > 1 else ''}" if i == 0 else f"{name(m)} on {k}" for i, (k, m) in enumerate(counts)]
        return "; ".join(parts + (["no other method is on any"] if len(counts) < len(found) else []))

    below = said("↓", "below")
    return (f"**Verdict** (linear AUC at 100 % of the labels, {board.trained_seeds} seeds, paired bootstrap at "
            f"{board.level}, false-discovery rate {fdr(board.level)} over Table 1): {said('↑', 'above')}. "
            f"{below[0].upper()}{below[1:]}.")


def caveat(board, details: str = DETAILS) -> str:
    """What these numbers rest on, in one line: the data (synthetic, a subset or the full datasets), the optimiser
    steps, the seeds; with the links to the rest."""
    steps = board.trained_steps
    budget = (f"{steps[0]} optimiser steps per method" if len(steps) == 1 else
              "optimiser steps that differ between methods" if steps else "no method trained here")
    if board.demo:
        data = ("**Synthetic data** (the embedded demo cohort, not PTB-XL or CPSC2018): it shows that the pipeline "
                "runs, not how the methods rank")
    else:
        meta = next(filter(None, map(board.subset, board.config["evaluation"]["linear_tasks"])), None)
        data = ("The full datasets" if meta is None else f"**A subset of {meta.get('title', 'the dataset')}** "
                f"({meta['counts']['kept']:,} of the {meta['counts']['listed']:,} records it lists)")
    ext = f"; {len(board.external)} published checkpoint(s) evaluated as released" if board.external else ""
    return (f"{data}; {budget}; {board.trained_seeds} pre-training seed{'s' if board.trained_seeds > 1 else ''}"
            f"{ext}. Settings and provenance: [about these numbers](#{ABOUT}); every table in full (each label "
            f"fraction, each class): [{details}]({details}).")


def table(board) -> str:
    """The headline table (Markdown): methods as rows, each linear task as a column (six PTB-XL tasks fit 980 px
    without wrapping a cell; the zero-shot numbers are the line under it, `zeroshot_line`)."""
    from benchmark.leaderboard.tables import table as md_table

    tasks = board.config["evaluation"]["linear_tasks"]
    short = short_titles(board, tasks)
    methods = method_order({m for (k, m, _) in board.results if k == "linear"})
    rows = [[board.row_title("linear", m)] + [_cell(board, t, m) for t in tasks] for m in methods]
    # a title's parenthesis on a line of its own: the column is as wide as its numbers, not its title
    headers = ["AUC (Δ vs random init)"] + [short[t].replace(" (", "<br>(") for t in tasks]
    return md_table(rows, headers) if rows else "_no results yet_"


def zeroshot_line(board) -> str:
    """'Zero-shot mean AUC (PTB-XL-like / CPSC2018-like): ETP 59.6 / 63.9; …' for the methods with a text side
    (empty when none has)."""
    zs = board.config["evaluation"]["zeroshot_tasks"]
    found = {m: _zeroshot(board, m) for m in method_order({m for (k, m, _) in board.results if k == "zeroshot"})}
    found = {m: v for m, v in found.items() if v != "—"}
    if not zs or not found:
        return ""
    names = " / ".join(board.config["tasks"][t].get("title", t) for t in zs)
    return (f"Zero-shot mean AUC over classes ({names}; nothing fitted): "
            + "; ".join(f"{board.titles.get(m, m)} {v}" for m, v in found.items()) + ".")


def caption(board) -> str:
    """The line above the headline table: what a cell is and what each mark means, so it reads without the legend."""
    tasks = board.config["evaluation"]["linear_tasks"]
    titles = [board.config["tasks"][t].get("title", t) for t in tasks]
    shortened = list(short_titles(board, tasks).values()) != titles
    on = f" on {titles[0].split(' ', 1)[0]}'s tasks" if shortened else ""
    return (f"Linear-probe macro AUC (%){on} at 100 % of the training labels, mean over seeds; in brackets its "
            "difference from random init: **↑ above**, **↓ below**, **≈ not distinguishable** (paired bootstrap, "
            f"{board.level}; false-discovery rate {fdr(board.level)} over the table's marks).")


def section(board, details: str = DETAILS) -> str:
    """Caption, table, the zero-shot line, verdict and caveat: what a reader needs, in this order."""
    return "\n\n".join(x for x in [caption(board), table(board), zeroshot_line(board), verdict(board),
                                    caveat(board, details)] if x)

