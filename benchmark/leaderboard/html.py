"""The board in `snakemake --report`, rendered from the same Markdown the board is, so the two cannot differ:

  front_page  the report's front page (workflow/report/workflow.rst includes it): the preset's headline only, short
              enough to fit one screen, so the report opens on its title
  render      the whole board as its own result page (category Leaderboard), a complete HTML document with a
              readable font; its figures are the report's Figures category

Snakemake's report centres its content pane vertically (`items-center` on a pane as tall as the screen), which
clips the top of anything taller than the screen, narrows the front page's text to 32 rem and keeps its menu beside
the page on a phone; the front page's style undoes all three (scripts/check_report.py checks it in a browser).
"""
from __future__ import annotations

import re

FONT = ('-apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif')

TABLES = """
.ecg-board table { border-collapse: collapse; margin: 0.4em 0 1.2em; font-variant-numeric: tabular-nums; }
.ecg-board th, .ecg-board td { border: 1px solid #d0d7de; padding: 4px 10px; text-align: left; white-space: nowrap; }
.ecg-board tr:nth-child(2n) td { background: #f6f8fa; }
.ecg-board .scroll { overflow-x: auto; max-width: 100%; }
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>
body {{ margin: 0; padding: 16px 24px; font-family: {font}; font-size: 15px; line-height: 1.5; color: #1f2328; }}
.ecg-board {{ max-width: 1000px; }}
.ecg-board blockquote {{ border-left: 4px solid #d0d7de; margin: 0.6em 0; padding: 0 1em; color: #57606a; }}
.ecg-board h1 {{ font-size: 1.7em; }} .ecg-board h2 {{ font-size: 1.3em; margin-top: 1.5em; }}
.ecg-board h3 {{ font-size: 1.05em; }} .ecg-board code {{ font-size: 0.9em; }}
{tables}</style></head>
<body><div class="ecg-board">
{body}</div></body></html>
"""

# The report's front page: its pane starts at the top (not centred, which clips a tall pane's top), its text is as
# wide as the screen allows (not 32 rem), and on a phone the menu stacks above the page instead of beside it. These
# rules live only while the front page is shown (they are part of it); every other page keeps Snakemake's layout.
FRONT = """<style>
.grow.flex.items-center.justify-center.h-screen { align-items: flex-start; justify-content: flex-start; }
.grow.flex.items-center.justify-center.h-screen > div { flex-wrap: wrap; }
.grow.flex.items-center.justify-center.h-screen div { min-width: 0; max-width: 100%; }
.prose.max-w-lg { max-width: min(62rem, 100%); }
.ecg-board { font-size: 14px; line-height: 1.45; }
.ecg-board p { margin: 0.5em 0; }
@media (max-width: 700px) {
  .flex.flex-row.w-screen.h-screen { flex-direction: column; height: auto; }
  nav.h-screen { width: 100%; height: auto; }
  .grow.flex.items-center.justify-center.h-screen { height: auto; overflow: visible; }
}
""" + TABLES + "</style>"


def _html(markdown: str) -> str:
    """Markdown -> HTML, every table wrapped in a box that scrolls sideways on a narrow screen (the page does not)."""
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(markdown)
    return html.replace("<table>", '<div class="scroll"><table>').replace("</table>", "</table></div>")


def render(markdown: str) -> str:
    """The whole board as an HTML document, without its figures (their relative links would not resolve inside the
    report, which shows them, captions included, in its Figures category)."""
    body = re.sub(r"\n## Figures[^\n]*\n(?:.|\n)*?(?=\n## |\Z)", "\n", markdown)
    title = next(iter(re.findall(r"^# (.+)$", body, flags=re.M)), "Leaderboard")
    note = "<p><em>Figures: in this report's Figures category (and in plots/ beside the board).</em></p>"
    return PAGE.format(title=title.replace("`", ""), font=FONT, tables=TABLES, body=_html(body) + note)


def front_page(headline: str) -> str:
    """The report's front page under its title and description: the headline (caption, table, verdict, caveat) and
    where the rest is. Its links to files beside the board are dropped (the report holds those as result pages)."""
    body = re.sub(r"\[([^\]]+)\]\((?!https?:)[^)]*\)", r"\1", headline)
    rest = ("The full board (provenance, legend, Table 1, the zero-shot tables) is under <em>Leaderboard</em>, "
            "every label fraction and class under <em>Leaderboard</em> → details, the figures under "
            "<em>Figures</em>, and Snakemake's record of every step (rules, run times, software) in the menu.")
    return f'{FRONT}\n<div class="ecg-board">\n{_html(body)}<p>{rest}</p>\n</div>\n'
