"""The paper preset (config/config.yaml, unchanged) rehearsed end to end on a synthetic PhysioNet mirror in the real
formats, with a BERT-architecture text model loaded from a folder the way Bio_ClinicalBERT is loaded from the Hub
(scripts/rehearse.py, issue 21): so that the preset's own path (500 Hz records, downloads and checksums, CPSC2018's
CinC layout, the BERT tokeniser and pooling, every task, fraction and draw, the statistics and the board) cannot rot
unnoticed. And the defects the rehearsal found, each with its test."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmark.config import typed_overrides
from conftest import REPO

PRESET = REPO / "config" / "config.yaml"
N_PTBXL, N_CPSC, N_CSN = 100, 60, 60


def _has(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


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


# ------------------------------------------------------------------------------------------------ the rehearsal
def _holds(value, expected) -> bool:
    """`value` has every key of `expected` with the same value (mappings compared key by key)."""
    if isinstance(expected, dict):
        return isinstance(value, dict) and all(k in value and _holds(value[k], v) for k, v in expected.items())
    return value == expected


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    for module, why in (("tokenizers", "the rehearsal trains its WordPiece tokenizer with `tokenizers`"),
                        ("psutil", "scripts/timed_job.py measures each step's memory with psutil")):
        if not _has(module):
            pytest.skip(f"{module} is not installed: {why}")
    workdir = tmp_path_factory.mktemp("rehearsal") / "work"
    env = {k: v for k, v in os.environ.items() if k not in ("BENCHMARK_SETTINGS", "BENCHMARK_INVOCATION")}
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "rehearse.py"), "--records", str(N_PTBXL),
                          "--cpsc", str(N_CPSC), "--csn", str(N_CSN), "--methods", "random_init", "etp", "--seeds", "0", "--epochs", "1",
                          "--text-layers", "2", "--no-projection", "--workdir", str(workdir)],
                         capture_output=True, text=True, timeout=1500, env=env)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return workdir, run.stdout, json.loads((workdir / "rehearsal.json").read_text())


@pytest.mark.slow
def test_rehearsal_overrides_only_what_must_change(rehearsal):
    workdir, _, result = rehearsal
    given = {a.split("=", 1)[0]: yaml.safe_load(a.split("=", 1)[1]) for a in result["config_overrides"]}
    assert set(given) == {"download", "pretrain", "methods", "seeds", "datasets"}
    assert set(given["download"]) == {"mirror"} and given["download"]["mirror"].startswith("http://127.0.0.1:")
    assert set(given["pretrain"]) == {"text_model", "epochs"}
    # the mirror holds 60 of CPSC2018's 6,877 records and 60 of the 23,026 of MERL's CSN split
    assert given["datasets"] == {"cpsc2018": {"allow_partial": True}, "csn": {"allow_partial": True}}
    # the run's settings are the preset's but for those keys
    settings = next((workdir / "results" / "paper" / "settings").glob("*.json"))
    ran = json.loads(settings.read_text())
    preset = yaml.safe_load(PRESET.read_text())
    for key in ("data", "datasets", "tasks", "evaluation", "results_dir", "device", "amp", "preset"):
        assert _holds(ran[key], preset[key]), key     # the schema fills in defaults beside them
    assert {k: ran["pretrain"][k] for k in ("dataset", "batch_size")} == {"dataset": "ptbxl", "batch_size": 128}
    assert ran["pretrain"]["epochs"] == 1 and ran["seeds"] == [0]


@pytest.mark.slow
def test_rehearsal_runs_the_paper_data_path_at_500_hz(rehearsal):
    workdir, _, _ = rehearsal
    from benchmark.data.store import load_store

    results = workdir / "results"
    markers = {p.parent.parent.name + "/" + p.stem for p in (results / "raw").glob("*/.downloads/*.json")}
    assert markers == {"ptbxl/metadata", "ptbxl/records500", "cpsc2018/records", "csn/records"}  # downloaded
    ptbxl, cpsc = load_store(results / "paper" / "data" / "ptbxl"), load_store(results / "paper" / "data" / "cpsc2018")
    assert ptbxl.signals.shape == (N_PTBXL, 12, 5000) and ptbxl.meta["signal_folder"] == "records500"
    assert cpsc.signals.shape == (N_CPSC, 12, 5000) and ptbxl.meta["sampling_rate"] == cpsc.meta["sampling_rate"] == 500
    assert cpsc.meta["label_sources"]["dx"] == N_CPSC          # labels from the CinC copy's #Dx lines
    csn = load_store(results / "paper" / "data" / "csn")          # MERL's records only: the mirror's extra one skipped
    assert csn.signals.shape == (N_CSN, 12, 5000)
    assert csn.meta["merl_crosscheck"]["same_acronyms"] == N_CSN and csn.meta["merl_crosscheck"]["different"] == 0
    assert csn.meta["merl_crosscheck"]["copy_records_not_in_merl_split"] == 2   # one per 50 written


@pytest.mark.slow
def test_rehearsal_uses_the_bert_text_model(rehearsal):
    workdir, _, result = rehearsal
    folder = Path(result["text_model"]["path"])
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "bert" and config["hidden_size"] == 768 and config["num_hidden_layers"] == 2
    assert (folder / "tokenizer.json").is_file() and (folder / "model.safetensors").is_file()
    log = json.loads((workdir / "results" / "paper" / "pretrain" / "etp" / "seed0" / "train_log.json").read_text())
    assert log["text_model"] == str(folder) and log["text_dim"] == 768 and log["steps"] >= 1
    assert log["sampling_rate"] == 500 and log["n_samples"] == 5000
    emb = np.load(next((workdir / "results" / "paper" / "text").glob("*/ptbxl_reports.npy")))
    assert emb.shape == (N_PTBXL, 768) and np.abs(emb).sum(1).astype(bool).sum() > N_PTBXL // 2   # train reports
    zs = json.loads((workdir / "results" / "paper" / "metrics" / "zeroshot" / "etp" / "seed0" / "ptbxl_super.json")
                    .read_text())
    assert zs["provenance"]["text_model"] == str(folder)


@pytest.mark.slow
def test_rehearsal_board_has_every_task_fraction_and_draw(rehearsal):
    workdir, stdout, _ = rehearsal
    preset = yaml.safe_load(PRESET.read_text())
    ev = preset["evaluation"]
    results = workdir / "results" / "paper"
    board = json.loads((results / "leaderboard.json").read_text())
    assert not board["missing"]
    assert {(r["method"], r["task"]) for r in board["linear"]} == \
        {(m, t) for m in ("random_init", "etp") for t in ev["linear_tasks"]}
    assert {(r["method"], r["task"]) for r in board["zeroshot"]} >= \
        {(m, t) for m in ("random_init", "etp") for t in ev["zeroshot_tasks"]}
    draws = {f"{f:g}": (1 if f >= 1 else ev["fraction_draws"]) for f in ev["label_fractions"]}
    for task in ev["linear_tasks"]:
        for method in ("random_init", "etp"):
            metrics = json.loads((results / "metrics" / "linear" / method / "seed0" / f"{task}.json").read_text())
            fractions = metrics["metrics"]["fractions"]
            assert {f: len(v["draws"]) for f, v in fractions.items()} == draws, (method, task)
        assert (results / "stats" / f"{task}.json").is_file()
    md = (results / "leaderboard.md").read_text()
    assert "Table 1" in md and "Table 2" in md and "Table 3" in md and "PTB-XL all" in md
    # the stage table: every stage of the preset, each with its jobs
    for stage in ("download", "checksum", "prepare", "embed", "pretrain etp", "pretrain random_init", "features",
                  "subsets", "linear", "zero-shot", "compare", "plots", "board"):
        assert f"| {stage} |" in stdout, stage
