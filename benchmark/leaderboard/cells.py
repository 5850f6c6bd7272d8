"""One table cell: a value (mean ± sd over seeds), its CI in compact form, its mark against random init and
whether it is bold. The rules are the legend's (`legend`), written once here.

- Mark: ↑ / ↓ when the paired bootstrap tells the row from random init (above / below), ≈ when it cannot.
- Bold: at most the best row of a column, by the rule the figures share (benchmark.emphasis).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.emphasis import bold_rows   # the rule the figures share

BASELINE = "random_init"
STALE = "⚠ stale"
EXTERNAL = "(ext.)"
# The widest a table row of a board may be, in characters of its Markdown source (about 950 px of text when
# rendered the way GitHub renders Markdown, at about 7 px per character in Noto Sans; scripts/check_board_width.py
# measures it in a browser).
MAX_ROW_CHARS = 130


def fmt(values: list[float]) -> str:
    """Percent with one decimal, as in the paper; mean ± sample sd when there are several seeds."""
    v = [x for x in values if x is not None and not np.isnan(x)]
    if not v:
        return "n/a"
    if len(v) == 1:
        return f"{100 * v[0]:.1f}"
    return f"{100 * np.mean(v):.1f} ± {100 * np.std(v, ddof=1):.1f}"


def ref(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.1f}"


def ci(entry: dict) -> str:
    lo, hi = entry["ci"]["lo"], entry["ci"]["hi"]
    return "" if lo is None else f"[{100 * lo:.1f}–{100 * hi:.1f}]"


def mark(entry: dict, method: str) -> str:
    """↑ / ↓: told apart from random init (above / below it); ≈: not distinguishable from it."""
    test = entry.get("vs_random_init")
    if method == BASELINE or not test:
        return ""
    if not test["distinguishable"]:
        return "≈"
    return "↑" if test["diff_lo"] > 0 else "↓"


def marked(values: list[float], cell: dict | None, method: str, with_ci: bool = True) -> str:
    """A table cell (see the module docstring): `values` are the method's per-seed numbers, `cell` the column's
    statistics (benchmark/evaluate/compare.py)."""
    text = fmt(values)
    entry = (cell or {}).get("methods", {}).get(method)
    if entry is None or text == "n/a":
        return text
    if method in bold_rows(cell):
        text = f"**{text}**"
    if with_ci and ci(entry):
        text += f" {ci(entry)}"
    return f"{text} {mark(entry, method)}".rstrip()


def fdr(level: str) -> str:
    """The false-discovery rate of a table's arrows for a CI level written "95%": "5 %"."""
    return f"{100 - float(str(level).rstrip('%')):g} %"


def legend(level: str, seeds: int, external: bool) -> list[str]:
    """How to read every table of a board, said once. `seeds`: the pre-training seeds behind each trained row."""
    if seeds > 1:
        cells = (f"- Cells: the mean over {seeds} pre-training seeds ± their sd, in %, and its {level} CI in brackets "
                 "(two-level bootstrap: test records and seeds resampled together, the same resamples for every "
                 "row), so intervals and marks include training variance.")
    else:
        cells = (f"- Cells: the metric in %, its {level} CI in brackets (bootstrap over test records, the same "
                 "resamples for every row). **One pre-training seed**: intervals and marks cover the sampling of test "
                 "records only, not training variance (the header says how far another seed or machine moves a "
                 "cell).")
    lines = [cells,
             f"- Marks compare each row with random init (paired bootstrap, {level}): ↑ above it, ↓ below it, ≈ "
             "not distinguishable from it; random init's own row has none. An arrow's test also passes the "
             f"Benjamini-Hochberg procedure over every mark of its table, so at most {fdr(level)} of a table's arrows "
             "are expected to be false (docs/evaluation.md, \"Marks\").",
             "- **Bold**: the best row of the column, only when the paired bootstrap tells it apart from the "
             "runner-up; when it cannot, no row is bold.",
             "- *(ref.)*: the ETP paper's number for that method on the full dataset, for comparison; never ours."]
    if external:
        lines.append(f"- {EXTERNAL}: a published checkpoint evaluated as released (pre-trained elsewhere, on other "
                     "data; see the note under Table 1). The best row is chosen among the rows pre-trained here.")
    return lines
