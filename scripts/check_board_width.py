"""How wide a board's tables are when rendered the way GitHub renders Markdown, measured in a real browser.

    python scripts/check_board_width.py results/demo/leaderboard.md [--width 950] [--screenshot board.png]

It also prints how tall the page is in 900 px screens and where the first headline (title to caveat line) ends.

Renders the board's Markdown (markdown-it-py, GitHub's table rules: `display: block; width: max-content;
max-width: 100%; overflow: auto`, 16 px text, cells padded 6 px x 13 px) into a page whose text column is
`--width` px wide, opens it in headless Chromium (`chromium`, Debian's package), and prints for every table its
rendered width and the widest row of its Markdown source in characters. A table wider than the column would be
scrolled sideways (GitHub) or wrapped: the run exits 1. The font is the first of GitHub's stack installed here
(Debian: fonts-noto-core for Noto Sans, fonts-liberation2 for Arial's metrics); the script prints which one.
The test suite keeps tables within benchmark.leaderboard.MAX_ROW_CHARS characters, which this script turns into
pixels.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; }}
.markdown-body {{ width: {width}px; padding: 0; font-family: {font}; font-size: 16px; line-height: 1.5; }}
.markdown-body table {{ display: block; width: max-content; max-width: 100%; overflow: auto;
  border-spacing: 0; border-collapse: collapse; }}
.markdown-body td, .markdown-body th {{ padding: 6px 13px; border: 1px solid #d0d7de; }}
.markdown-body th {{ font-weight: 600; }}
</style></head><body><article class="markdown-body">{body}</article>
<pre id="result"></pre>
<script>
const out = [...document.querySelectorAll("table")].map(t => ({{scroll: t.scrollWidth, shown: t.clientWidth}}));
const verdict = [...document.querySelectorAll("p")].find(p => /^(No verdict|Verdict)/.test(p.textContent));
const caveat = verdict && verdict.nextElementSibling;
document.getElementById("result").textContent = JSON.stringify({{tables: out,
  font: getComputedStyle(document.querySelector(".markdown-body")).fontFamily,
  height: document.querySelector(".markdown-body").scrollHeight,
  headline_end: caveat ? Math.round(caveat.getBoundingClientRect().bottom) : null}});
</script></body></html>"""
SCREEN = 900   # a laptop's screen height in px (1280x900)
GITHUB_FONTS = '-apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif'


def measure(markdown: str, width: int, screenshot: Path | None = None) -> list[dict]:
    from markdown_it import MarkdownIt

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("headless Chromium is needed: apt-get install chromium (Debian), then run this again")
    body = MarkdownIt("commonmark").enable("table").render(markdown)
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "board.html"
        page.write_text(PAGE.format(width=width, font=GITHUB_FONTS, body=body))
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp}/profile"]
        dom = subprocess.run([chromium, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                             timeout=120).stdout
        if screenshot:
            subprocess.run([chromium, *flags, f"--screenshot={screenshot.resolve()}", f"--window-size={width + 40},4000",
                            page.as_uri()], capture_output=True, timeout=120)
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    if not found:
        sys.exit(f"Chromium returned no measurement:\n{dom[-2000:]}")
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def markdown_tables(markdown: str) -> list[list[str]]:
    tables, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("board", type=Path)
    p.add_argument("--width", type=int, default=950, help="text column in px (GitHub's README column: about 950)")
    p.add_argument("--screenshot", type=Path)
    args = p.parse_args(argv)
    md = args.board.read_text()
    result = measure(md, args.width, args.screenshot)
    sources = markdown_tables(md)
    print(f"font: {result['font']}; text column {args.width} px")
    worst = 0
    for i, (table, rows) in enumerate(zip(result["tables"], sources), start=1):
        chars = max(map(len, rows))
        worst = max(worst, table["scroll"])
        flag = "  TOO WIDE" if table["scroll"] > args.width else ""
        print(f"table {i:2d}: {table['scroll']:5d} px, widest Markdown row {chars} characters "
              f"({table['scroll'] / chars:.2f} px per character){flag}")
    print(f"{len(sources)} tables; widest {worst} px of {args.width}")
    end = result["headline_end"]
    print(f"page: {result['height']} px tall, {result['height'] / SCREEN:.1f} screens of {SCREEN} px; the first "
          f"headline (title to caveat line) ends at {end} px" + ("" if end is None or end <= SCREEN else
                                                                  ", BELOW THE FIRST SCREEN"))
    return 1 if worst > args.width or (end is not None and end > SCREEN) else 0


if __name__ == "__main__":
    sys.exit(main())
