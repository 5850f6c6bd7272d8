"""The board as an HTML fragment: what `snakemake --report` shows on its front page (workflow/report/workflow.rst
includes it), rendered from the same Markdown the board is, so the two cannot differ."""
from __future__ import annotations

import re

# Scoped to the board, so the report's own tables keep their look.
STYLE = """<style>
.ecg-board { font-size: 14px; line-height: 1.45; max-width: 980px; }
.ecg-board table { border-collapse: collapse; margin: 0.4em 0 1.2em; }
.ecg-board th, .ecg-board td { border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; white-space: nowrap; }
.ecg-board tr:nth-child(2n) td { background: #f6f8fa; }
.ecg-board blockquote { border-left: 4px solid #d0d7de; margin: 0.6em 0; padding: 0 1em; color: #57606a; }
.ecg-board h1 { font-size: 1.6em; } .ecg-board h2 { font-size: 1.25em; margin-top: 1.4em; }
.ecg-board h3 { font-size: 1.05em; }
</style>"""


def render(markdown: str) -> str:
    """The board's Markdown as an HTML fragment. Its figures are left out (their relative links would not resolve
    inside the report, which shows them in its Figures category)."""
    from markdown_it import MarkdownIt

    body = re.sub(r"\n## Figures[^\n]*\n(?:.|\n)*?(?=\n## |\Z)", "\n", markdown)
    html = MarkdownIt("commonmark").enable("table").render(body)
    note = "<p><em>Figures: in this report's Figures category (and in plots/ beside the board).</em></p>"
    return f'{STYLE}\n<div class="ecg-board">\n{html}{note}\n</div>\n'
