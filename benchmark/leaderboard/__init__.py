"""A preset's metrics -> its leaderboard (Tables 1-3 shaped like the paper's; Markdown, HTML and JSON), and
`publish`.

The board of a preset is written to <results_dir>/leaderboard.md (+ .json, + .html for the report) by the
workflow's last step. Every row states the optimiser steps it was pre-trained for, every table the records it
used, the header the commit and the command of the run. A row whose code (shared code or method folder) changed
after it was computed is marked stale, loudly; a board with stale or missing rows, results of several commits,
or uncommitted code cannot be published. `publish` copies a board that passes these checks to the top-level
leaderboard.md.

  cells    one cell: value, compact CI, ↑ / ↓ / ≈ against random init, bold; the legend that explains them
  headline the answer first: methods x tasks (AUC and its difference from random init), verdict, caveat
  tables   Table 1 (linear), 1b (label efficiency), 2-3 (zero-shot): one table per task
  header   the demo warning or the reference note, settings and provenance
  board    what is expected, found, stale or missing; build and write
  html     the board rendered for `snakemake --report`: its front page (the headline) and result pages
  publish  the checks and the copy to the top-level leaderboard.md
"""
from benchmark.leaderboard.board import build, collect, expected, files, stale_reasons, write, write_preset
from benchmark.leaderboard.cells import MAX_ROW_CHARS, STALE
from benchmark.leaderboard.publish import PUBLISHED_FIGURES, publish, publish_problems, run_problems

__all__ = ["MAX_ROW_CHARS", "PUBLISHED_FIGURES", "STALE", "build", "collect", "expected", "files", "publish",
           "publish_problems", "run_problems", "stale_reasons", "write", "write_preset"]
