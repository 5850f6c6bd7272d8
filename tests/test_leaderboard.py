"""Leaderboard tables: our numbers in our columns, the paper's only in (ref.) columns, demo clearly marked;
every row states its steps; stale rows are marked; only one complete run of the current code is published."""
import json

import pytest
import yaml

from benchmark import leaderboard, paths, provenance
from benchmark.config import load_config
from benchmark.errors import BenchmarkError
from benchmark.io import read_json, write_json
from conftest import REPO

TITLES = {"etp": "ETP", "random_init": "Random init"}
METHODS, ZERO_SHOT = ["etp", "random_init"], ["etp", "random_init"]


def _config(tmp_path, **changes):
    raw = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    raw.update(results_dir=str(tmp_path / "r"), **changes)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    return load_config(tmp_path / "c.yaml")


def _metric(cfg, kind, method, seed, task, metrics, commit="abc123", steps=48, **prov):
    fp = {"code_fingerprint": provenance.code_fingerprint(),
          "method_fingerprint": provenance.method_fingerprint(paths.method_folder(method))}
    write_json(paths.metrics(cfg, kind, method, seed, task), {
        "method": method, "seed": seed, "task": task, "split_sizes": {"train": 8, "val": 2, "test": 3},
        "metrics": metrics, "provenance": {"pretrain_device": "CPU (test)", "commit": commit, "pretrain_commit": commit,
                                           **fp, **{f"pretrain_{k}": v for k, v in fp.items()},
                                           "pretrain_steps": 0 if method == "random_init" else steps,
                                           "pretrain_command": "snakemake --cores all --configfile config/demo.yaml",
                                           **prov}})


def _zs(cfg, task, auc=0.6):
    return {"per_class": {c: {"auc": auc, "acc": 0.5, "f1": 0.25} for c in cfg["tasks"][task]["classes"]},
            "average": {"auc": auc, "acc": 0.5, "f1": 0.25}}


def _complete_run(cfg, **kw):
    for m in ("etp", "random_init"):
        for t in cfg["evaluation"]["linear_tasks"]:
            _metric(cfg, "linear", m, 0, t, {"auc": 0.9 if m == "etp" else 0.8, "f1": 0.5}, **kw)
        for t in cfg["evaluation"]["zeroshot_tasks"]:
            _metric(cfg, "zeroshot", m, 0, t, _zs(cfg, t), **kw)


def _cells(md, start):
    row = next(line for line in md.splitlines() if line.startswith(start))
    return [c.strip() for c in row.strip("|").split("|")]


def test_tables_show_ours_and_reference_separately(tmp_path):
    cfg = _config(tmp_path, seeds=[0, 1])
    for seed, auc in ((0, 0.7), (1, 0.8)):
        _metric(cfg, "linear", "etp", seed, "synth_ptbxl_super", {"auc": auc, "f1": 0.5})
    _metric(cfg, "zeroshot", "etp", 0, "synth_ptbxl_super", _zs(cfg, "synth_ptbxl_super"))

    md, machine = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)
    assert "DEMO RESULTS ON SYNTHETIC DATA" in md
    # ours: steps, then mean ± sample std over seeds 0.7, 0.8 -> 75.0 ± 7.1; then the paper's 83.5 / 61.3 as (ref.)
    assert _cells(md, "| ETP") == ["ETP", "48", "75.0 ± 7.1", "50.0 ± 0.0", "83.5", "61.3", "n/a", "n/a", "86.1", "63.4"]
    assert "paper ptbxl AUC (ref.)" in _cells(md, "| Method")
    assert _cells(md, "| NORM")[2:] == ["48", "60.0", "50.0", "25.0", "71.8", "56.8", "73.4"]
    assert {r["seed"] for r in machine["linear"]} == {0, 1}
    assert not machine["complete"] and len(machine["missing"]) > 0  # random init and CPSC rows never ran
    json.dumps(machine)  # machine-readable copy is plain JSON


def test_header_names_the_settings_each_row_used(tmp_path):
    cfg = _config(tmp_path)
    _metric(cfg, "linear", "etp", 0, "synth_ptbxl_super", {"auc": 0.7, "f1": 0.5},
            pretrain_settings={"augmentations": "`etp` (random segmentation and inversion)"})
    _metric(cfg, "linear", "random_init", 0, "synth_ptbxl_super", {"auc": 0.7, "f1": 0.5},
            pretrain_settings={"ECG-ECG term": "weight 1"})
    md, _ = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)
    assert "- Augmentations `etp` (random segmentation and inversion): ETP" in md.splitlines()
    assert "- ECG-ECG term weight 1: Random init" in md.splitlines()


def test_demo_summary_says_which_methods_beat_random_init(tmp_path):
    cfg = _config(tmp_path)
    _complete_run(cfg)
    md, machine = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)
    assert machine["complete"] and machine["code"]["commits"] == ["abc123"] and machine["problems"] == []
    assert machine["command"] == "snakemake --cores all --configfile config/demo.yaml" and "WARNING" not in md
    assert "= 48 optimiser steps for every trained method" in md
    assert "Measured in this run (linear AUC, point estimates): above random init on every task: ETP; not on every " \
           "task: none." in md
    assert "Records (train/val/test): PTB-XL-like 8/2/3; CPSC2018-like 8/2/3" in md


def test_external_rows_say_what_they_are_and_left_out_folders_are_named(tmp_path):
    cfg = _config(tmp_path, seeds=[0, 1])
    _complete_run(cfg)
    for t in cfg["evaluation"]["linear_tasks"]:
        for m in METHODS:
            _metric(cfg, "linear", m, 1, t, {"auc": 0.85, "f1": 0.5})
        _metric(cfg, "linear", "merl_resnet18", 0, t, {"auc": 0.95, "f1": 0.6}, steps=0,
                pretrain_external={"pretrained_on": "MIMIC-IV-ECG", "files": {}},
                input="500 Hz, 10 s (5000 samples), leads I/II/III/aVR/aVF/aVL/V1/V2/V3/V4/V5/V6", feature_dim=512)
    for t in cfg["evaluation"]["zeroshot_tasks"]:
        for m in METHODS:
            _metric(cfg, "zeroshot", m, 1, t, _zs(cfg, t))
    methods = METHODS + ["merl_resnet18"]
    seeds = {"etp": [0, 1], "random_init": [0, 1], "merl_resnet18": [0]}   # a checkpoint runs one seed
    md, machine = leaderboard.build(cfg, methods, {**TITLES, "merl_resnet18": "MERL ResNet18"}, ZERO_SHOT, seeds,
                                    {"hubert_ecg": "no SHA-256 is pinned for model.safetensors"})
    assert machine["complete"], machine["missing"]
    row = _cells(md, "| MERL ResNet18")
    assert row[:3] == ["MERL ResNet18 (external checkpoint)", "external", "95.0"]       # one seed: no ± sd
    assert machine["external"] == {"merl_resnet18": "MIMIC-IV-ECG"}
    assert "*External checkpoint* rows are published models evaluated as released" in md
    assert "not a same-budget comparison" in md
    # the board says what the external encoder was given and what it gives
    assert ("MERL ResNet18: pre-trained on MIMIC-IV-ECG; input 500 Hz, 10 s (5000 samples), leads "
            "I/II/III/aVR/aVF/aVL/V1/V2/V3/V4/V5/V6, 512-d features") in md
    assert "- Left out of this run: methods/hubert_ecg: no SHA-256 is pinned for model.safetensors" in md.splitlines()
    assert {r["seed"] for r in machine["linear"] if r["method"] == "merl_resnet18"} == {0}
    assert all(r["external"] == (r["method"] == "merl_resnet18") for r in machine["linear"])


def test_a_row_whose_method_changed_is_marked_stale_and_cannot_be_published(tmp_path):
    cfg = _config(tmp_path)
    _complete_run(cfg)
    _metric(cfg, "linear", "etp", 0, "synth_cpsc", {"auc": 0.9, "f1": 0.5}, method_fingerprint="0ld")
    leaderboard.write(cfg, METHODS, TITLES, ZERO_SHOT)
    md = paths.leaderboard(cfg).read_text()
    board = read_json(paths.leaderboard(cfg).with_suffix(".json"))
    assert _cells(md, "| ETP")[0] == "ETP ⚠ stale" and _cells(md, "| Random init")[0] == "Random init"
    assert "WARNING: this board is not one complete run of one committed code state" in md
    assert "--configfile config/demo.yaml --forcerun pretrain` re-runs pre-training" in md
    assert board["stale"] == [{"kind": "linear", "method": "etp", "task": "synth_cpsc", "seed": 0,
                               "reasons": ["methods/etp/ changed since its evaluation"]}]
    with pytest.raises(BenchmarkError, match="come from code that changed since"):
        leaderboard.publish(cfg, dest=tmp_path / "published.md")


def test_publish_copies_one_complete_run_and_keeps_another_presets_board(tmp_path):
    cfg = _config(tmp_path)
    _complete_run(cfg)
    paths.plots(cfg).mkdir(parents=True)
    (paths.plots(cfg) / "linear_auc.png").write_bytes(b"png")
    leaderboard.write(cfg, METHODS, TITLES, ZERO_SHOT)
    board = paths.leaderboard(cfg).read_text()
    assert "](plots/linear_auc.png)" in board
    dest = tmp_path / "published.md"
    leaderboard.publish(cfg, dest=dest)
    # the same board, its figures copied beside it (results/ is not committed) and the links rewritten
    assert dest.read_text() == board.replace("](plots/", "](docs/leaderboard/")
    assert (tmp_path / "docs" / "leaderboard" / "linear_auc.png").read_bytes() == b"png"
    assert read_json(dest.with_suffix(".json"))["preset"] == "demo"

    write_json(dest.with_suffix(".json"), {"preset": "paper"})  # a published paper-preset board
    with pytest.raises(BenchmarkError, match="holds the board of preset 'paper'.*--replace"):
        leaderboard.publish(cfg, dest=dest)
    leaderboard.publish(cfg, dest=dest, replace=True)
    assert read_json(dest.with_suffix(".json"))["preset"] == "demo"


@pytest.mark.parametrize("commits, message", [(("abc123-dirty",), "uncommitted code"),
                                              (("abc123", "def456"), "2 commits")])
def test_uncommitted_or_mixed_commits_are_flagged_and_refused(tmp_path, commits, message):
    cfg = _config(tmp_path)
    _complete_run(cfg, commit=commits[0])
    _metric(cfg, "linear", "etp", 0, "synth_cpsc", {"auc": 0.9, "f1": 0.5}, commit=commits[-1])
    leaderboard.write(cfg, METHODS, TITLES, ZERO_SHOT)
    assert message in paths.leaderboard(cfg).read_text().split("## Table 1")[0]  # the board's own warning
    with pytest.raises(BenchmarkError, match=message):
        leaderboard.publish(cfg, dest=tmp_path / "published.md")
    assert not (tmp_path / "published.md").exists()


def test_publish_refuses_a_board_made_with_other_settings(tmp_path):
    cfg = _config(tmp_path)
    _complete_run(cfg)
    leaderboard.write(cfg, METHODS, TITLES, ZERO_SHOT)
    other = _config(tmp_path, evaluation={**cfg["evaluation"], "c_grid": [1.0]})
    with pytest.raises(BenchmarkError, match="other settings than the configuration given to publish"):
        leaderboard.publish(other, dest=tmp_path / "published.md")


def test_results_of_an_older_version_are_stale(tmp_path):
    cfg = _config(tmp_path)
    _complete_run(cfg)
    write_json(paths.metrics(cfg, "linear", "etp", 0, "synth_cpsc"), {
        "method": "etp", "seed": 0, "task": "synth_cpsc", "split_sizes": {"train": 8, "val": 2, "test": 3},
        "metrics": {"auc": 0.9, "f1": 0.5}, "provenance": {"pretrain_device": "CPU", "commit": "abc123"}})
    _, machine = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)
    assert machine["stale"][0]["reasons"] == ["no code fingerprint recorded (made by an older version of the benchmark)"]


def test_publish_without_a_finished_run_says_what_to_run(tmp_path):
    with pytest.raises(BenchmarkError, match="no finished board of preset 'demo'.*run its workflow first"):
        leaderboard.publish(_config(tmp_path), dest=tmp_path / "published.md")
