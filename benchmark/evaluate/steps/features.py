"""The `features` step: `Method.features` of every record of a dataset, once per (method, seed, dataset); every task
on the dataset and every label fraction reuses them."""
from __future__ import annotations

import numpy as np

from benchmark import paths, provenance, runtime
from benchmark.data.store import load_store
from benchmark.errors import BenchmarkError
from benchmark.evaluate.encode import embed
from benchmark.evaluate.steps.common import train_log
from benchmark.evaluate.steps.trained import load_trained
from benchmark.io import write_code_record, write_npz


def extract_features(config: dict, method: str, seed: int, dataset: str, out, threads: int | None = None) -> None:
    runtime.setup(threads, seed)
    store = load_store(paths.dataset_dir(config, dataset))
    device = runtime.pick_device(config["device"])
    _, model, adapt = load_trained(config, method, seed, store, device)
    feats = embed(model.features, store.signals, np.arange(len(store)), device, config["evaluation"]["batch_size"],
                  adapt)
    if feats.ndim != 2 or feats.shape[1] != model.feature_dim:
        raise BenchmarkError(f"methods/{method}: features() returned an array of shape {feats.shape}, but the method "
                             f"declares feature_dim = {model.feature_dim}; make the two agree (method.py)")
    if not np.isfinite(feats).all():
        raise BenchmarkError(f"methods/{method}: features() returned NaN or infinite values on dataset {dataset}")
    folder = paths.method_folder(method, paths.methods_dir(config))
    write_code_record(out, provenance.chain(train_log(config, method, seed).get("code"), store.meta.get("code"),
                                            provenance.step_record("features", folder)))
    write_npz(out, features=feats, ecg_id=store.records["ecg_id"].to_numpy().astype(str))
