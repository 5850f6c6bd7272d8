"""The paper preset (config/config.yaml, unchanged) rehearsed end to end on a synthetic PhysioNet mirror in the real
formats, with a BERT-architecture text model loaded from a folder the way Bio_ClinicalBERT is loaded from the Hub
(scripts/rehearse.py, issue 21): so that the preset's own path (500 Hz records, downloads and checksums, CPSC2018's
CinC layout, the BERT tokeniser and pooling, every task, fraction and draw, the statistics and the board) cannot rot
unnoticed. And the defects the rehearsal found, each with its test."""
from __future__ import annotations

import subprocess
import sys

from benchmark.config import typed_overrides
from conftest import REPO

PRESET = REPO / "config" / "config.yaml"


# ------------------------------------------------------------------------------------------------ defects found
def test_nested_command_line_values_get_their_schema_types():
    """`--config 'pretrain={epochs: 1}'` reached the schema as the string '1' (Snakemake reads a mapping given on the
    command line without types) and the run stopped: no nested key of the preset could be changed from the command
    line. Strings stay strings where the schema allows one (a text model called "123", a task title)."""
    got = typed_overrides({"pretrain": {"epochs": "1", "text_model": "123", "batch_size": "64"}, "seeds": ["0", "2"],
                           "datasets": {"cpsc2018": {"allow_partial": "true", "title": "2018"}},
                           "download": {"mirror": "http://127.0.0.1:8000/", "timeout": "2.5"},
                           "methods": ["etp", "random_init"], "data": {"seconds": "10"},
                           "evaluation": {"label_fractions": ["0.1", "1.0"]}})
    assert got == {"pretrain": {"epochs": 1, "text_model": "123", "batch_size": 64}, "seeds": [0, 2],
                   "datasets": {"cpsc2018": {"allow_partial": True, "title": "2018"}},
                   "download": {"mirror": "http://127.0.0.1:8000/", "timeout": 2.5},
                   "methods": ["etp", "random_init"], "data": {"seconds": 10},
                   "evaluation": {"label_fractions": [0.1, 1.0]}}
    assert typed_overrides({"methods": "all", "preset": "paper"}) == {"methods": "all", "preset": "paper"}


def test_the_paper_preset_takes_nested_overrides_on_the_command_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--snakefile",
                          str(REPO / "workflow" / "Snakefile"), "--directory", str(tmp_path), "--configfile", str(PRESET),
                          "--config", "pretrain={epochs: 1}", "datasets={cpsc2018: {allow_partial: true}}",
                          "download={mirror: 'http://127.0.0.1:9/', retries: 1}", "seeds=[0]", "methods=[etp]"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "rule pretrain" in run.stdout
