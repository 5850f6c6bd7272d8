"""Shared fixtures: a tiny preset for fast end-to-end runs, the optional real-data folder, downloads kept on
loopback, and one torch thread for tests of tiny tensors."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def tiny_config_dict(tmp_path: Path, methods="all") -> dict:
    """The demo preset shrunk to seconds: few records, one epoch, small batches, all paths under tmp_path."""
    cfg = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    cfg = copy.deepcopy(cfg)
    cfg.update(preset="tiny", results_dir=str(tmp_path / "results"), cache_dir=str(tmp_path / "cache"),
               device="cpu", methods=methods)
    cfg["datasets"]["synth_ptbxl"]["n_records"] = 120
    cfg["datasets"]["synth_cpsc"]["n_records"] = 90
    cfg["pretrain"].update(epochs=1, batch_size=16)
    cfg["evaluation"]["c_grid"] = [0.1, 1.0]
    return cfg


@pytest.fixture
def tiny_config(tmp_path):
    """Path of a tiny preset YAML (see tiny_config_dict)."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_config_dict(tmp_path)))
    return path


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real PhysioNet subsets not found at {SHARED_DATA} (only present beside the project checkout)")
    return SHARED_DATA


@pytest.fixture
def loopback_only(monkeypatch):
    """Downloads go to the loopback server only, whatever proxies the environment sets
    (`pytestmark = pytest.mark.usefixtures("loopback_only")` in a module that serves a mirror)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def one_thread():
    """Tensors this small gain nothing from intra-op threads, and lose a lot when other jobs share the cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
