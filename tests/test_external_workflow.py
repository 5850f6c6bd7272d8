"""The Snakemake DAG with published checkpoints beside trained methods, on a tiny synthetic preset: a checkpoint
fetched over HTTP once (a loopback server stands in for the Hugging Face Hub), one given as a local file, one
without a pinned checksum left out with one line; one seed per checkpoint; rows marked external."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, tiny_config_dict
from test_data_download import Server, make_tree
from test_external_checkpoints import copy_folder, local, merl_release, sha256, tiny_hubert_release


@pytest.mark.slow
def test_dag_with_published_checkpoints(tmp_path):
    import torch

    methods = tmp_path / "methods"
    for name in ("etp", "random_init"):
        shutil.copytree(REPO / "methods" / name, methods / name)
    torch.save(merl_release().state_dict(), tmp_path / "res18_best_encoder.pth")
    copy_folder(methods, "merl_resnet18", {"res18_best_encoder.pth": local(tmp_path / "res18_best_encoder.pth")})

    release = tmp_path / "release"
    tiny_hubert_release(release)
    base = make_tree(tmp_path / "www")
    (base / "hub").mkdir()
    shutil.copyfile(release / "model.safetensors", base / "hub" / "model.safetensors")
    server = Server(tmp_path / "www").start()
    try:
        copy_folder(methods, "hubert_ecg", {
            "config.json": local(release / "config.json"),
            "model.safetensors": {"url": server.url + "hub/model.safetensors",
                                  "sha256": sha256(release / "model.safetensors")}})
        copy_folder(methods, "hubert_ecg", {"model.safetensors": {"url": server.url + "hub/x", "sha256": None}},
                    name="hubert_unpinned")

        cfg = tiny_config_dict(tmp_path)
        cfg.update(methods_dir=str(methods), seeds=[0, 1], download={"weights": True})   # the demo downloads none
        cfg["evaluation"]["bootstrap"] = {"resamples": 200, "seed": 0}
        preset = tmp_path / "preset.yaml"
        preset.write_text(yaml.safe_dump(cfg))
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", str(preset),
               "--snakefile", str(REPO / "workflow" / "Snakefile"), "--directory", str(REPO)]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
        out = run.stdout + run.stderr
        assert run.returncode == 0, out[-4000:]
        assert "methods/hubert_unpinned is left out of preset 'tiny': no SHA-256 is pinned" in out

        results = tmp_path / "results"
        board = json.loads((results / "leaderboard.json").read_text())
        md = (results / "leaderboard.md").read_text()
        assert board["complete"], (board["missing"], board["stale"])
        assert set(board["external"]) == {"merl_resnet18", "hubert_ecg"}
        assert set(board["left_out"]) == {"hubert_unpinned"}
        assert "  - `methods/hubert_unpinned`: no SHA-256 is pinned for model.safetensors" in md.splitlines()
        seeds = {}
        for r in board["linear"]:
            seeds.setdefault(r["method"], set()).add(r["seed"])
        assert seeds == {"etp": {0, 1}, "random_init": {0, 1}, "merl_resnet18": {0}, "hubert_ecg": {0}}
        assert "HuBERT-ECG small (ext.)" in md and "MERL ResNet18 (ext.)" in md
        stats = json.loads((results / "stats" / "synth_cpsc.json").read_text())
        assert "vs_random_init" in stats["linear"]["1"]["auc"]["methods"]["hubert_ecg"]

        cached = tmp_path / "cache" / "weights" / "hubert_ecg" / "model.safetensors"
        assert sha256(cached) == sha256(release / "model.safetensors")
        assert len(server.file_requests("hub/model.safetensors")) == 1
        log = json.loads((results / "pretrain" / "hubert_ecg" / "seed0" / "train_log.json").read_text())
        assert log["external"]["files"]["model.safetensors"]["source"].endswith("hub/model.safetensors")
        assert log["input"] == "100 Hz, 5 s (500 samples), normalised `lead_range`" and log["feature_dim"] == 32

        again = subprocess.run(cmd + ["-n"], capture_output=True, text=True, timeout=600, env=env)
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    finally:
        server.close()
