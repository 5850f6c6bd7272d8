"""The whole Snakemake DAG on a tiny synthetic preset: data -> pre-training -> evaluation -> leaderboard."""
import json
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
def test_snakemake_dag_end_to_end(tiny_config, tmp_path):
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", str(tiny_config),
           "--snakefile", str(REPO / "workflow" / "Snakefile"), "--directory", str(REPO)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    md = (tmp_path / "results" / "leaderboard.md").read_text()
    board = json.loads((tmp_path / "results" / "leaderboard.json").read_text())
    assert not (tmp_path / "leaderboard.md").exists()
    assert "DEMO RESULTS ON SYNTHETIC DATA" in md
    # one run of one code state, complete, with the command that made it
    assert board["complete"] and not board["stale"] and not board["missing"]
    assert len(board["code"]["commits"]) == 1 and "--configfile" in board["command"]
    # the same optimiser-step budget for every trained method, shown on every row; none for random init
    steps = {r["method"]: r["steps"] for r in board["linear"]}
    log = json.loads((tmp_path / "results" / "pretrain" / "etp" / "seed0" / "train_log.json").read_text())
    assert steps.pop("random_init") == 0 and set(steps.values()) == {log["epochs"] * log["steps_per_epoch"]}
    assert log["steps"] > 0
    assert "Table 1" in md and "Table 2" in md and "Table 3" in md
    linear = {(r["method"], r["task"]) for r in board["linear"]}
    assert ("etp", "synth_ptbxl_super") in linear and ("random_init", "synth_cpsc") in linear
    for r in board["linear"]:
        assert 0.0 <= r["auc"] <= 1.0 and 0.0 <= r["f1"] <= 1.0
    zs_methods = {r["method"] for r in board["zeroshot"]}
    assert {"etp", "random_init"} <= zs_methods

    metric = json.loads((tmp_path / "results" / "metrics" / "linear" / "etp" / "seed0" / "synth_cpsc.json").read_text())
    for key in ("method", "seed", "task", "preset", "split_sizes"):
        assert key in metric
    for key in ("text_model", "config_hash", "commit", "pretrain_device", "eval_wall_seconds"):
        assert key in metric["provenance"]

    # a second run finds everything up to date
    again = subprocess.run(cmd + ["-n"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr
