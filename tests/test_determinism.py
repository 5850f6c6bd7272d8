"""Same machine, same stack, same seed: the same weights, bit for bit, for every method that trains (through the
real training loop, its background batch reader included), and the record of what the run ran on."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from benchmark import paths
from benchmark.data.store import write_store
from benchmark.method import discover
from benchmark.pretrain import pretrain
from conftest import REPO

TRAINED = sorted(n for n, s in discover().items() if s.config["trains"])


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("determinism")
    rng = np.random.default_rng(0)
    n = 40
    records = pd.DataFrame({"ecg_id": [str(i) for i in range(n)], "patient_id": [str(i // 2) for i in range(n)],
                            "split": ["train"] * 32 + ["val"] * 4 + ["test"] * 4, "labels": "NORM",
                            "report": [f"report {i}" for i in range(n)]})
    signals = rng.normal(size=(n, 12, 500)).astype(np.float32)
    config = {"results_dir": str(tmp / "results"), "device": "cpu", "kernels": "portable", "amp": False, "cache_dir": str(tmp / "cache"),
              "datasets": {"toy": {"source": "synthetic"}}, "data": {}, "download": {"weights": False},
              "pretrain": {"dataset": "toy", "text_model": "toy-text", "epochs": 1, "batch_size": 8,
                           "deterministic": True}}
    write_store(paths.dataset_dir(config, "toy"), signals, records, {"sampling_rate": 100})
    emb = paths.report_embeddings(config)
    emb.parent.mkdir(parents=True)
    np.save(emb, rng.normal(size=(n, 32)).astype(np.float32))
    return config, tmp


def train_elsewhere(config: dict, name: str, out, threads: int, tmp) -> None:
    """The same pre-training in another process, with another hash seed (set and dict orders may differ)."""
    cfg = tmp / "config.json"
    cfg.write_text(json.dumps(config))
    code = ("import json, sys\nfrom benchmark.method import discover\nfrom benchmark.pretrain import pretrain\n"
            "pretrain(json.load(open(sys.argv[1])), discover()[sys.argv[2]], seed=3, out_dir=sys.argv[3], "
            "threads=int(sys.argv[4]))")
    subprocess.run([sys.executable, "-c", code, str(cfg), name, str(out), str(threads)], check=True, cwd=REPO,
                   env={**os.environ, "PYTHONHASHSEED": "123"}, capture_output=True)


def weights(folder) -> dict:
    return load_file(str(folder / "model.safetensors"))


def differing(a: dict, b: dict) -> list[str]:
    assert a.keys() == b.keys()
    return [k for k in a if not torch.equal(a[k], b[k])]


@pytest.mark.parametrize("name", TRAINED)
def test_two_runs_with_one_seed_give_bit_identical_weights(setup, name):
    """In one process and in another (other hash seed), with one thread and with two: the same weights."""
    config, tmp = setup
    spec = discover()[name]
    root = tmp / name
    log = pretrain(config, spec, seed=3, out_dir=root / "a", threads=1)
    assert log["steps"] == 4
    train_elsewhere(config, name, root / "b", 1, tmp)
    assert not differing(weights(root / "a"), weights(root / "b")), f"{name}: another process trained other weights"
    pretrain(config, spec, seed=3, out_dir=root / "c", threads=2)
    train_elsewhere(config, name, root / "d", 2, tmp)
    assert not differing(weights(root / "c"), weights(root / "d")), f"{name}: two threads trained other weights"
    # another seed trains other weights (the test above could not pass by training nothing)
    other = pretrain(config, spec, seed=4, out_dir=root / "e", threads=1)
    assert differing(weights(root / "a"), weights(root / "e")) and other["steps"] == 4
    # what would explain a difference on another machine is recorded with the run
    env = log["environment"]
    assert env["deterministic"] and env["threads"] == 1 and env["stack"]["torch"] == torch.__version__
    assert {"numpy", "scipy", "scikit-learn", "transformers"} <= set(env["stack"]) and env["cpu"]
