"""config/mimic.yaml (MERL's setting: pre-training on MIMIC-IV-ECG, six tasks) rehearsed end to end on a synthetic
PhysioNet mirror in the real layouts (scripts/rehearse.py --preset mimic): the sharded preparation, the float16
store in random row order, MERL trained on the machine reports, every task of the board. And a shard whose marker
is gone (a killed job) is the only preparation job Snakemake runs again."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmark.data.mimic import assemble_report, word_count
from benchmark.data.mirror_plan import mimic_plan
from benchmark.data.store import load_store
from conftest import REPO

PRESET = REPO / "config" / "mimic.yaml"
N_PTBXL, N_CPSC, N_CSN, N_MIMIC, SHARDS = 100, 60, 60, 150, 3


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    for module in ("tokenizers", "psutil"):
        pytest.importorskip(module, reason="the rehearsal trains a WordPiece tokenizer and measures memory")
    workdir = tmp_path_factory.mktemp("rehearsal_mimic") / "work"
    env = {k: v for k, v in os.environ.items() if k not in ("BENCHMARK_SETTINGS", "BENCHMARK_INVOCATION")}
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "rehearse.py"), "--preset", "mimic",
                          "--records", str(N_PTBXL), "--cpsc", str(N_CPSC), "--csn", str(N_CSN), "--mimic", str(N_MIMIC),
                          "--shards", str(SHARDS), "--methods", "random_init", "merl", "--seeds", "0", "--epochs", "1",
                          "--text-layers", "2", "--workdir", str(workdir)],
                         capture_output=True, text=True, timeout=1500, env=env)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return workdir, run.stdout, json.loads((workdir / "rehearsal.json").read_text())


def test_reports_are_assembled_and_filtered_as_merl():
    assert assemble_report(["Sinus rhythm.", None, float("nan"), "  ", "Abnormal EKG "]) == "sinus rhythm. abnormal ecg."
    # MERL strips only the ends of the joined text, by its chain .strip(' ***').strip('*** ').strip('***')
    # .strip('=-').strip('='): spaces and asterisks first, then '=' and '-', so what the second uncovers stays
    assert assemble_report(["*** ACUTE MI ***", "--- Warning: data quality ---"]) == \
        "acute mi ***. --- warning: data quality ."
    assert assemble_report(["-- *Sinus rhythm", "Normal ECG ="]) == " *sinus rhythm. normal ecg ."
    assert assemble_report(["Sinus\trhythm", "Normal\nECG"]) == "sinus rhythm. normal ecg."   # MERL: a space each
    assert assemble_report([None] * 18) == "" and word_count("") == 0
    assert word_count(assemble_report(["Sinus rhythm", "Normal ECG"])) == 4


@pytest.mark.slow
def test_mimic_store_is_sharded_float16_random_order_with_merls_report_filter(rehearsal):
    workdir, stdout, result = rehearsal
    results = workdir / "results" / "mimic"
    store = load_store(results / "data" / "mimic")
    plan = mimic_plan(N_MIMIC, 0)
    has_row = plan[:-1]    # the mirror's last study has no measurements row
    words = {str(r.study): word_count(assemble_report(r.lines)) for r in has_row}
    kept = {s for s, w in words.items() if w >= 4}
    c = store.meta["counts"]
    assert (c["listed"], c["no_measurements_row"]) == (N_MIMIC, 1)
    assert c["empty_report"] == sum(w == 0 for w in words.values()) > 0
    assert c["short_report"] == sum(0 < w < 4 for w in words.values()) > 0
    assert set(store.records["ecg_id"]) == kept and c["kept"] == len(kept)
    assert store.signals.dtype == np.float16 and store.signals.shape == (len(kept), 12, 5000)
    # rows in a random order, not record_list's (a patient's studies are listed together there)
    listed = [str(r.study) for r in plan if str(r.study) in kept]
    assert store.records["ecg_id"].tolist() != listed
    # the split is by patient
    split = store.records.groupby("patient_id")["split"].nunique()
    assert (split == 1).all()
    # prepared in SHARDS shards, whose spent folder the finish step removed; the rows equal the records read with wfdb
    assert store.meta["shards"] == SHARDS and not (results / "data" / "mimic.shards").exists()
    import wfdb

    from benchmark.data.preprocess import normalise
    path = pd.read_csv(workdir / "results" / "raw" / "mimic_ecg" / "record_list.csv", dtype=str) \
        .set_index("study_id").loc[store.records["ecg_id"].iat[0], "path"]
    rec = wfdb.rdrecord(str(workdir / "results" / "raw" / "mimic_ecg" / path))
    x = rec.p_signal.T[[rec.sig_name.index(lead) for lead in store.meta["leads"]]]
    np.testing.assert_allclose(store.signals[0].astype(np.float32), normalise(x.astype(np.float32), "minmax"),
                               atol=5e-4)
    assert "| prepare shards | 3 |" in stdout and "| prepare index | 1 |" in stdout
    # peak memory per preparation process (design bound 2 GB; at mirror scale)
    prep = [j for j in result["jobs"] if j["step"] in ("prepare-index", "prepare-shard")]
    assert len(prep) == 1 + SHARDS and all(0 < j["max_rss_mb"] < 2000 for j in prep)


@pytest.mark.slow
def test_merl_pretrains_on_mimic_and_the_board_has_six_tasks(rehearsal):
    workdir, _, _ = rehearsal
    results = workdir / "results" / "mimic"
    log = json.loads((results / "pretrain" / "merl" / "seed0" / "train_log.json").read_text())
    store = load_store(results / "data" / "mimic")
    assert log["n_train_records"] == int((store.records["split"] == "train").sum()) and log["steps"] >= 1
    board = json.loads((results / "leaderboard.json").read_text())
    tasks = yaml.safe_load(PRESET.read_text())["evaluation"]["linear_tasks"]
    assert len(tasks) == 6 and not board["missing"]
    assert {(r["method"], r["task"]) for r in board["linear"]} == {(m, t) for m in ("random_init", "merl") for t in tasks}
    assert {(r["method"], r["task"]) for r in board["zeroshot"]} >= {(m, t) for m in ("random_init", "merl") for t in tasks}
    assert "Prompts per row: class names: Random init, MERL." in (results / "details.md").read_text()


@pytest.mark.slow
def test_a_killed_preparation_resumes_with_the_missing_shard_only(tmp_path):
    """Index and shards 0 and 2 finished, shard 1 killed (no marker): Snakemake plans shard 1 and the store only;
    running them gives the store, and the spent parts are removed."""
    from benchmark.data.mirror import mimic_root, write_mirror

    write_mirror(tmp_path / "www", 0, 0, seed=1, workers=1, log=lambda m: None, n_mimic=40)
    base = [sys.executable, "-m", "snakemake", "--cores", "2", "--snakefile", str(REPO / "workflow" / "Snakefile"),
            "--directory", str(tmp_path / "work"), "--configfile", str(PRESET), "--config",
            f"mimic_ecg_dir={mimic_root(tmp_path / 'www')}", "datasets={mimic: {shards: 3}}", "methods=[random_init]",
            "--"]
    shards = tmp_path / "work" / "results" / "mimic" / "data" / "mimic.shards"
    store = "results/mimic/data/mimic/meta.json"

    def snakemake(*targets, dry=False):
        run = subprocess.run(base[:3] + (["-n"] if dry else []) + base[3:] + list(targets), capture_output=True,
                             text=True, timeout=600, env={k: v for k, v in os.environ.items()
                                                          if k not in ("BENCHMARK_SETTINGS", "BENCHMARK_INVOCATION")})
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        return run.stdout + run.stderr

    snakemake(str(shards.relative_to(tmp_path / "work") / "shard-0.json"),
              str(shards.relative_to(tmp_path / "work") / "shard-2.json"))
    assert sorted(p.name for p in shards.glob("shard-*.json")) == ["shard-0.json", "shard-2.json"]
    plan = snakemake(store, dry=True)
    jobs = dict(line.split() for line in plan.splitlines()   # the job-stats table: "<rule>  <count>"
                if len(line.split()) == 2 and line.split()[0] in ("prepare_shard", "prepare_index", "prepare_dataset"))
    assert jobs == {"prepare_shard": "1", "prepare_dataset": "1"}, plan[-2000:]
    assert "shard-1.json" in plan
    snakemake(store)
    result = load_store(tmp_path / "work" / "results" / "mimic" / "data" / "mimic")
    assert result.signals.dtype == np.float16 and len(result) == result.meta["counts"]["kept"] > 30
    assert not shards.exists()
