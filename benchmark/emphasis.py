"""Which row of a table column is singled out: the one rule the board's bold (benchmark.leaderboard.cells) and the
figures' black mark (benchmark.evaluate.plots) share. A module of its own so that the figures do not import the
board's rendering (each step's code is what it imports: benchmark.stepcode).

The best row of a column, only when the paired bootstrap tells it apart from the runner-up (the next highest row)
and no row is higher (an external checkpoint can be), and never on a degenerate interval (every resample the same
value, e.g. an F1 of 0.0 [0.0–0.0]). Otherwise no row: emphasis only singles out something true and visible.
"""
from __future__ import annotations


def degenerate(entry: dict) -> bool:
    """The interval is a point (every resample gave the same value): nothing to single out."""
    lo, hi = entry["ci"]["lo"], entry["ci"]["hi"]
    return lo is None or round(100 * lo, 1) == round(100 * hi, 1)


def bold_rows(cell: dict | None) -> set[str]:
    """The rows a column sets in bold: at most the best one (see the module docstring)."""
    if not cell:
        return set()
    entries = {m: e for m, e in cell["methods"].items() if e["value"] is not None}
    best = cell["best"]
    others = sorted((m for m in entries if m != best), key=lambda m: entries[m]["value"], reverse=True)
    if best not in entries or not others or entries[others[0]]["value"] >= entries[best]["value"]:
        return set()
    told_apart = entries[others[0]].get("vs_best", {}).get("distinguishable", False)
    return {best} if told_apart and not degenerate(entries[best]) else set()
