"""The whole Snakemake DAG on a tiny synthetic preset: data -> pre-training -> evaluation -> leaderboard."""
import json
import re
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
    assert len(board["code"]["groups"]) == 1 and "--configfile" in board["command"]
    # the same optimiser-step budget for every trained method, shown on every row; none for random init
    steps = {r["method"]: r["steps"] for r in board["linear"]}
    log = json.loads((tmp_path / "results" / "pretrain" / "etp" / "seed0" / "train_log.json").read_text())
    assert steps.pop("random_init") == 0 and set(steps.values()) == {log["epochs"] * log["steps_per_epoch"]}
    assert log["steps"] > 0
    # every step ran on the portable kernels the workflow pinned (benchmark/kernels.py), and says so
    from benchmark.kernels import PORTABLE

    assert log["environment"]["code_path_variables"] == PORTABLE
    assert log["environment"]["torch_cpu_capability"] in ("AVX2", "DEFAULT")
    metrics = json.loads((tmp_path / "results" / "metrics" / "linear" / "etp" / "seed0" / "synth_cpsc.json").read_text())
    assert metrics["provenance"]["eval_environment"]["code_path_variables"] == PORTABLE
    assert "- CPU kernels: `portable` (torch, oneDNN and MKL pinned to AVX2)" in md
    assert "Table 1" in md and "Table 2" in md and "Table 3" in md
    linear = {(r["method"], r["task"]) for r in board["linear"]}
    assert ("etp", "synth_ptbxl_super") in linear and ("random_init", "synth_cpsc") in linear
    for r in board["linear"]:
        assert 0.0 <= r["auc"] <= 1.0 and 0.0 <= r["f1"] <= 1.0
    zs_methods = {r["method"] for r in board["zeroshot"]}
    assert {"etp", "random_init"} <= zs_methods

    # label fractions, CIs, paired tests and figures come out of the same run
    results = tmp_path / "results"
    subsets = (results / "subsets" / "synth_cpsc.csv").read_text()
    assert "0.01,0," in subsets and "0.1,0," in subsets and "1.0,0," in subsets
    lin = json.loads((results / "metrics" / "linear" / "cpc" / "seed0" / "synth_cpsc.json").read_text())["metrics"]
    assert set(lin["fractions"]) == {"0.01", "0.1", "1"}
    assert lin["fractions"]["0.01"]["draws"][0]["n_train"] < lin["fractions"]["1"]["draws"][0]["n_train"]
    stats = json.loads((results / "stats" / "synth_cpsc.json").read_text())
    cell = stats["linear"]["1"]["auc"]["methods"]["cpc"]
    assert cell["value"] == pytest.approx(lin["auc"]) and cell["ci"]["lo"] <= cell["value"] <= cell["ci"]["hi"]
    assert "vs_random_init" in cell and "p" in cell["vs_random_init"]
    # every method with an ECG-text space (random init: ETP's network untrained)
    assert set(stats["zeroshot"]["average"]["auc"]["methods"]) == {"etp", "merl", "random_init"}
    for png in ("linear_auc", "label_efficiency", "zeroshot_synth_cpsc", "zeroshot_synth_ptbxl_super"):
        assert (results / "plots" / f"{png}.png").stat().st_size > 10_000
        assert f"(plots/{png}.png)" in md
    details = (tmp_path / "results" / "details.md").read_text()
    assert "## Table 1b: label efficiency" in details and " [" in md  # CIs in the tables
    for caption in ("Table 1 as dots", "Label efficiency:", "as bars from chance (50 %, the dashed line)"):
        assert caption in md, caption   # under each figure in the board (and drawn under it in the PNG)

    metric = json.loads((tmp_path / "results" / "metrics" / "linear" / "etp" / "seed0" / "synth_cpsc.json").read_text())
    for key in ("method", "seed", "task", "preset", "split_sizes"):
        assert key in metric
    for key in ("text_model", "config_hash", "commit", "pretrain_device", "eval_wall_seconds"):
        assert key in metric["provenance"]

    # every table fits a page: no row wider than the agreed width of Markdown source
    from benchmark.leaderboard import MAX_ROW_CHARS
    rows = [line for line in (md + details).splitlines() if line.startswith("|")]
    assert max(map(len, rows)) <= MAX_ROW_CHARS, max(rows, key=len)

    # Snakemake's HTML report opens on the preset's description and the board's headline, rendered (the whole board
    # and its details are pages of their own); rule pages name input functions and show plain paths
    report = subprocess.run(cmd + ["--report", str(tmp_path / "report.html")], capture_output=True, text=True,
                            timeout=600)
    assert report.returncode == 0, report.stderr[-2000:]
    page = (tmp_path / "report.html").read_text()
    assert len(page) > 100_000
    front = json.loads(re.search(r"var workflow_desc = (\".*?\");\n", page).group(1))
    assert "offline demo on a synthetic 12-lead cohort" in front and "<strong>Synthetic data</strong>" in front
    assert re.search(r"<table>\s*<thead>\s*<tr>\s*<th>AUC \(Δ vs random init\)</th>", front)
    assert "<td>ETP</td>" in front and "Table 1:" not in front and "About these numbers" not in front
    assert "&lt;function&gt;" not in page and "<function>" not in page and "task_store()" in page
    assert "{method," not in page and "{task," not in page          # no wildcard-constraint regexes in paths
    assert "details.html" in page and "leaderboard.html" in page

    # a second run finds everything up to date
    again = subprocess.run(cmd + ["-n"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr
