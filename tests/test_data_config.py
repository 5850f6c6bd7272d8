"""Presets and workflow wiring of the PhysioNet sources: local copies, download markers, the local preset."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.config import load_config
from benchmark.data import check_sources
from benchmark.data.physionet import download_inputs, ptbxl_folder, raw_root
from benchmark.errors import ConfigError
from conftest import REPO


def test_paper_preset_downloads_what_it_reads():
    cfg = load_config(REPO / "config" / "config.yaml")
    assert cfg["ptbxl_dir"] is None and cfg["cpsc2018_dir"] is None
    assert [p.as_posix() for p in download_inputs(cfg, "ptbxl")] == [
        "results/raw/ptbxl/.downloads/metadata.json", "results/raw/ptbxl/ptbxl_database.csv",
        "results/raw/ptbxl/scp_statements.csv", "results/raw/ptbxl/.downloads/records500.json"]
    assert [p.as_posix() for p in download_inputs(cfg, "cpsc2018")] == ["results/raw/cpsc2018/.downloads/records.json"]
    assert raw_root(cfg, "ptbxl") == Path("results/raw/ptbxl")


def test_local_copy_replaces_the_download(tmp_path):
    cfg = load_config(REPO / "config" / "config.yaml", {"ptbxl_dir": str(tmp_path)})
    assert download_inputs(cfg, "ptbxl") == [] and raw_root(cfg, "ptbxl") == tmp_path
    check_sources(cfg)
    bad = load_config(REPO / "config" / "config.yaml", {"cpsc2018_dir": str(tmp_path / "nope")})
    with pytest.raises(ConfigError, match="cpsc2018_dir .* not a folder"):
        check_sources(bad)


def test_ptbxl_folder_choice():
    assert ptbxl_folder({}, 100) == "records100" and ptbxl_folder({}, 250) == "records500"
    assert ptbxl_folder({"records": 500}, 100) == "records500"


def test_every_preset_keeps_its_own_leaderboard_and_none_writes_the_published_one():
    from benchmark import paths

    boards = {f: paths.leaderboard(load_config(REPO / "config" / f)) for f in ("config.yaml", "demo.yaml", "local.yaml")}
    assert boards == {"config.yaml": Path("results/paper/leaderboard.md"), "demo.yaml": Path("results/demo/leaderboard.md"),
                      "local.yaml": Path("results/local/leaderboard.md")}
    assert all(b.resolve() != paths.PUBLISHED for b in boards.values())
    cfg = load_config(REPO / "config" / "local.yaml")
    assert {t["dataset"] for t in cfg["tasks"].values()} == {"ptbxl"}
    assert cfg["tasks"]["ptbxl_super_multi"]["selection"] == "multi_label"
    assert cfg["pretrain"]["text_model"] == "all-MiniLM-L6-v2" and cfg["device"] == "cpu"


def test_schema_rejects_unknown_dataset_options(tmp_path):
    with pytest.raises(ConfigError, match="crop"):
        load_config(REPO / "config" / "config.yaml",
                    {"datasets": {"ptbxl": {"source": "ptbxl", "crop": "random"}}})


def test_paper_dag_wires_downloads_before_preparation(tmp_path):
    results = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--snakefile", str(REPO / "workflow" / "Snakefile"),
                          "--directory", str(REPO), "--configfile", str(REPO / "config" / "config.yaml"),
                          "--config", f"results_dir={results}", f"raw_dir={tmp_path / 'raw'}", "--",
                          str(results / "data" / "ptbxl" / "meta.json"), str(results / "data" / "cpsc2018" / "meta.json")],
                         capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    for marker in ("ptbxl/.downloads/metadata.json", "ptbxl/.downloads/records500.json",
                   "cpsc2018/.downloads/records.json"):
        assert marker in out
    assert "records100.json" not in out
    # PTB-XL's tables are outputs of the download and inputs of the preparation: an edited table re-runs it
    prepare = next(b for b in out.split("\n\n") if "rule prepare_dataset:" in b and "wildcards: dataset=ptbxl" in b)
    assert f"{tmp_path / 'raw'}/ptbxl/ptbxl_database.csv" in prepare and "scp_statements.csv" in prepare
    assert "rule download_metadata:" in out


@pytest.mark.parametrize("key, value, hint", [("leaderboard", "leaderboard.md", "benchmark publish"),
                                              ("pretrain", "epochs_per_method", "same optimiser steps")])
def test_removed_keys_say_what_replaced_them(tmp_path, key, value, hint):
    import yaml

    cfg = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    if key == "pretrain":
        cfg["pretrain"]["epochs_per_method"] = {"etp": 8}
    else:
        cfg[key] = value
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=rf"no longer used \(.*{hint}"):
        load_config(tmp_path / "old.yaml")
