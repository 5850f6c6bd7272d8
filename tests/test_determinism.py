"""Same machine, same stack, same seed: the same weights, bit for bit, for every method that trains (through the
real training loop, its background batch reader included), and the record of what the run ran on."""
import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from benchmark import paths
from benchmark.data.store import write_store
from benchmark.method import discover
from benchmark.pretrain import pretrain

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
    config = {"results_dir": str(tmp / "results"), "device": "cpu", "amp": False, "cache_dir": str(tmp / "cache"),
              "datasets": {"toy": {"source": "synthetic"}}, "data": {}, "download": {"weights": False},
              "pretrain": {"dataset": "toy", "text_model": "toy-text", "epochs": 1, "batch_size": 8,
                           "deterministic": True}}
    write_store(paths.dataset_dir(config, "toy"), signals, records, {"sampling_rate": 100})
    emb = paths.report_embeddings(config)
    emb.parent.mkdir(parents=True)
    np.save(emb, rng.normal(size=(n, 32)).astype(np.float32))
    return config, tmp


@pytest.mark.parametrize("name", TRAINED)
def test_two_runs_with_one_seed_give_bit_identical_weights(setup, name):
    config, tmp = setup
    spec = discover()[name]
    logs = [pretrain(config, spec, seed=3, out_dir=tmp / name / run, threads=1) for run in ("a", "b")]
    assert logs[0]["steps"] == 4
    a, b = (load_file(str(tmp / name / run / "model.safetensors")) for run in ("a", "b"))
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"{name}: {len(different)} tensors differ between two runs, e.g. {different[:3]}"
    # another seed trains other weights (the test above could not pass by training nothing)
    other = pretrain(config, spec, seed=4, out_dir=tmp / name / "c", threads=1)
    c = load_file(str(tmp / name / "c" / "model.safetensors"))
    assert any(not torch.equal(a[k], c[k]) for k in a) and other["steps"] == 4
    # what would explain a difference on another machine is recorded with the run
    env = logs[0]["environment"]
    assert env["deterministic"] and env["threads"] == 1 and env["stack"]["torch"] == torch.__version__
    assert {"numpy", "scipy", "scikit-learn", "transformers"} <= set(env["stack"]) and env["cpu"]
