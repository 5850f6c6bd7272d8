"""Marks with a stated error rate: Benjamini-Hochberg over the marks of each table.

A board shows hundreds of ↑ / ↓ / ≈ marks against random init, each a paired bootstrap test at the CI level's
alpha (benchmark.evaluate.stats.paired). Tested one by one, about alpha of the marks where nothing differs would
be ↑ or ↓ by chance (12 of the local board's 234), and the verdict, which counts marks, would rest on them. So the
marks of each table are one family, and a mark is ↑ or ↓ only when its test is also kept by the Benjamini-Hochberg
procedure at alpha over the family (scipy.stats.false_discovery_control): among the arrows of a table, the expected
share of false ones is at most alpha; where no method differs from random init, alpha is the chance of any arrow at
all in the table. Families (the tables a reader compares at once): Table 1 (every task's linear AUC and F1 at 100 %
of the labels; the headline and its verdict are its AUC half), Table 1b (every other label fraction), the zero-shot
averages (every task and metric), and each task's per-class zero-shot table. docs/evaluation.md says why.
Every test keeps its uncorrected p; the adjusted p and the family are written beside it.
"""
from __future__ import annotations

import copy

import numpy as np

METHOD = "Benjamini-Hochberg"


def _tests(task_stats: dict):
    """(family, test entry) of every mark against random init in one task's statistics."""
    for fraction, cell in task_stats.get("linear", {}).items():
        if isinstance(cell, dict):
            family = ("Table 1 (linear, 100 % of the labels)" if float(fraction) >= 1 else
                      "Table 1b (linear, label fractions)")
            for metric in ("auc", "f1"):
                yield from ((family, e["vs_random_init"]) for e in cell.get(metric, {}).get("methods", {}).values()
                            if "vs_random_init" in e)
    zeroshot = task_stats.get("zeroshot", {})
    for column in zeroshot.get("average", {}).values():
        yield from (("zero-shot averages", e["vs_random_init"]) for e in column.get("methods", {}).values()
                    if "vs_random_init" in e)
    for cls in zeroshot.get("per_class", {}).values():
        for column in cls.values():
            yield from ((f"zero-shot per class, {task_stats.get('task', '?')}", e["vs_random_init"])
                        for e in column.get("methods", {}).values() if "vs_random_init" in e)


def correct(stats: dict[str, dict], level: float) -> dict[str, dict]:
    """`stats` (task -> the compare step's statistics) with every mark against random init decided by
    Benjamini-Hochberg at alpha = 1 - level over its family: `distinguishable` is true when the test's interval
    excludes 0 (as before) and its adjusted p is at most alpha; `p` stays the uncorrected p, `p_adjusted`,
    `distinguishable_uncorrected` and `family` are added, and each task's statistics name the correction."""
    from scipy.stats import false_discovery_control

    alpha = 1 - level
    out = copy.deepcopy(stats)
    families: dict[str, list[dict]] = {}
    for task, st in out.items():
        for family, test in _tests({**st, "task": st.get("task", task)}):
            families.setdefault(family, []).append(test)
    for family, tests in families.items():
        usable = [t for t in tests if t.get("p") is not None]
        adjusted = false_discovery_control(np.array([t["p"] for t in usable])) if usable else []
        for t, q in zip(usable, adjusted):
            t["distinguishable_uncorrected"] = t["distinguishable"]
            t["p_adjusted"] = float(q)
            t["distinguishable"] = bool(t["distinguishable"] and q <= alpha)
            t["family"] = family
    sizes = {f: len(t) for f, t in families.items()}
    for st in out.values():
        st["correction"] = {"method": METHOD, "alpha": alpha, "scipy": "scipy.stats.false_discovery_control",
                            "families": sizes}
    return out
