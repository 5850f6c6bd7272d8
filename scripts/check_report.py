"""Open a preset's Snakemake report as its reader does and check that it opens on its title.

    snakemake --cores all --configfile config/demo.yaml --report results/demo/report.html
    python scripts/check_report.py results/demo/report.html [--out results/demo/report_check]

For each screen (1280x900, a laptop; 390x844, a phone) the report is opened in headless Chromium (`chromium`,
Debian's package) and a script run inside the page, after the report has drawn itself, checks:
  - the title is visible at scroll 0 (wholly inside the screen and not covered, e.g. by the menu);
  - the headline's first row is reachable: scrolled into view, its top and its first cell are inside the screen and
    not covered (a row wider than a phone scrolls sideways in its own box);
and a screenshot is saved of what the reader sees at scroll 0 and with the headline's first row scrolled into view
(the screen, not the full page, which no reader gets). Prints what it measured; exits 1 when a check fails.
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

SCREENS = {"laptop": (1280, 900), "phone": (390, 844)}

# Runs inside the report once React has drawn the front page. `scroll`: bring the headline's first row into view
# first (for the second screenshot).
PROBE = """<pre id="ecg-check" style="display:none"></pre>
<script>
setTimeout(() => {
  const visible = (el) => {
    if (!el) return {found: false};
    const r = el.getBoundingClientRect();
    const x = Math.min(Math.max(r.left + Math.min(r.width, 40) / 2, 0), innerWidth - 1);
    const y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
    const hit = document.elementFromPoint(x, y);
    return {found: true, top: Math.round(r.top), bottom: Math.round(r.bottom), left: Math.round(r.left),
            inside: r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth + 1,
            uncovered: !!hit && (el === hit || el.contains(hit) || hit.contains(el))};
  };
  const title = [...document.querySelectorAll("h1")].find(h => /benchmark/.test(h.textContent));
  const row = document.querySelector(".ecg-board table tbody tr");
  const out = {screen: [innerWidth, innerHeight], title: visible(title)};
  if (row) row.scrollIntoView({block: "center", inline: "start"});
  out.first_row = visible(row && row.querySelector("td"));
  out.first_row_text = row ? row.textContent.trim().slice(0, 60) : null;
  if (!SCROLL) { document.querySelectorAll("*").forEach(e => { e.scrollTop = 0; e.scrollLeft = 0; }); }
  document.getElementById("ecg-check").textContent = JSON.stringify(out);
}, 1500);
</script>"""


def chromium_flags(profile: str) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
            "--virtual-time-budget=8000"]


def probe(chromium: str, report: str, screen: tuple[int, int], out: Path, name: str, tmp: Path) -> dict:
    """Measure one screen; save its screenshots (at scroll 0, and with the headline's first row in view)."""
    result = {}
    for scroll in (False, True):
        page = tmp / f"{name}_{'scrolled' if scroll else 'top'}.html"
        head, _, tail = report.rpartition("</body>")   # the last one: the report's scripts hold the word too
        page.write_text(head + PROBE.replace("SCROLL", "true" if scroll else "false") + "</body>" + tail)
        size = f"--window-size={screen[0]},{screen[1]}"
        shot = out / f"{name}_{'headline_in_view' if scroll else 'scroll0'}.png"
        subprocess.run([chromium, *chromium_flags(str(tmp / "profile")), size, f"--screenshot={shot.resolve()}",
                        page.as_uri()], capture_output=True, timeout=180)
        if not scroll:
            dom = subprocess.run([chromium, *chromium_flags(str(tmp / "profile")), size, "--dump-dom", page.as_uri()],
                                 capture_output=True, text=True, timeout=180).stdout
            found = re.search(r'<pre id="ecg-check"[^>]*>(.*?)</pre>', dom, re.S)
            if not found or not found.group(1):
                sys.exit(f"the report did not draw itself in Chromium within the time given ({name})")
            result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("report", type=Path, help="the report made by snakemake --report")
    p.add_argument("--out", type=Path, help="where the screenshots go (default: report_check/ beside the report)")
    args = p.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("headless Chromium is needed: apt-get install chromium (Debian), then run this again")
    if not args.report.exists():
        sys.exit(f"{args.report}: no such report; make it with snakemake --report {args.report} --configfile <preset>")
    out = args.out or args.report.parent / "report_check"
    out.mkdir(parents=True, exist_ok=True)
    report = args.report.read_text()
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, screen in SCREENS.items():
            got = probe(chromium, report, screen, out, name, Path(tmp))
            t, r = got["title"], got["first_row"]
            print(f"{name} {screen[0]}x{screen[1]}: title at y {t.get('top')}-{t.get('bottom')} px, inside the "
                  f"screen {t.get('inside')}, uncovered {t.get('uncovered')}; headline's first row "
                  f"({got['first_row_text']!r}) in view at y {r.get('top')} px, inside {r.get('inside')}, uncovered "
                  f"{r.get('uncovered')}")
            if not (t.get("found") and t["inside"] and t["uncovered"]):
                failed.append(f"{name}: the title is not visible at scroll 0")
            if not (r.get("found") and r["inside"] and r["uncovered"]):
                failed.append(f"{name}: the headline's first row cannot be brought into view")
    print(f"screenshots: {out}/")
    for f in failed:
        print(f"FAILED {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
