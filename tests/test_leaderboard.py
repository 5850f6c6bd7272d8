"""Leaderboard tables: our numbers in our columns, the paper's only in (ref.) columns, demo clearly marked."""
import json

import yaml

from benchmark import leaderboard, paths
from benchmark.config import load_config
from benchmark.io import write_json
from conftest import REPO


def _metric(cfg, kind, method, seed, task, metrics):
    write_json(paths.metrics(cfg, kind, method, seed, task), {
        "method": method, "seed": seed, "task": task, "split_sizes": {"train": 8, "val": 2, "test": 3},
        "metrics": metrics, "provenance": {"pretrain_device": "CPU (test)", "commit": "abc"}})


def test_tables_show_ours_and_reference_separately(tmp_path):
    raw = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    raw.update(results_dir=str(tmp_path / "r"), seeds=[0, 1])
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    cfg = load_config(tmp_path / "c.yaml")
    for seed, auc in ((0, 0.7), (1, 0.8)):
        _metric(cfg, "linear", "etp", seed, "synth_ptbxl_super", {"auc": auc, "f1": 0.5})
    zs = {"per_class": {c: {"auc": 0.6, "acc": 0.5, "f1": 0.25} for c in cfg["tasks"]["synth_ptbxl_super"]["classes"]},
          "average": {"auc": 0.6, "acc": 0.5, "f1": 0.25}}
    _metric(cfg, "zeroshot", "etp", 0, "synth_ptbxl_super", zs)

    md, machine = leaderboard.build(cfg, ["etp", "random_init"], {"etp": "ETP", "random_init": "Random init"})
    assert "DEMO RESULTS ON SYNTHETIC DATA" in md
    etp_row = next(line for line in md.splitlines() if line.startswith("| ETP"))
    cells = [c.strip() for c in etp_row.strip("|").split("|")]
    # ours: mean ± sample std over seeds 0.7, 0.8 -> 75.0 ± 7.1; then the paper's 83.5 / 61.3 as (ref.)
    assert cells[1] == "75.0 ± 7.1" and cells[2] == "50.0 ± 0.0"
    assert cells[3] == "83.5" and cells[4] == "61.3"
    header = next(line for line in md.splitlines() if line.startswith("| Method"))
    assert "paper ptbxl AUC (ref.)" in header
    norm_row = next(line for line in md.splitlines() if line.startswith("| NORM"))
    assert [c.strip() for c in norm_row.strip("|").split("|")][2:] == ["60.0", "50.0", "25.0", "71.8", "56.8", "73.4"]
    assert {r["seed"] for r in machine["linear"]} == {0, 1}
    json.dumps(machine)  # machine-readable copy is plain JSON
