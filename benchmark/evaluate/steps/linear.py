"""The `linear` step: the linear probe of a task at every label fraction (C chosen on val), its metrics and its test
scores. It needs torch (its solver, benchmark.evaluate.logistic) but not the method: it reads the features."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from benchmark import paths, provenance, runtime
from benchmark.errors import BenchmarkError
from benchmark.evaluate.linear import evaluate_fractions
from benchmark.evaluate.steps.common import result_fields, task, train_log
from benchmark.evaluate.tasks import subset_positions
from benchmark.io import read_arrays, read_code_record, write_json, write_npz


def linear(config: dict, method: str, seed: int, task_name: str, features, subsets, out, predictions,
           threads: int | None = None) -> None:
    t0 = time.time()
    runtime.setup(threads, seed)
    device = runtime.pick_device(config["device"])
    settings, store, data = task(config, task_name)
    info = train_log(config, method, seed)
    saved = read_arrays(features)
    if not np.array_equal(saved["ecg_id"], store.records["ecg_id"].to_numpy().astype(str)):
        raise BenchmarkError(f"{features} was extracted from another version of dataset {settings['dataset']}; "
                             "delete it and re-run")
    table = pd.read_csv(subsets, dtype={"ecg_id": str})
    chosen = {(f, d): subset_positions(data, table, f, d, subsets)
              for f, d in table[["fraction", "draw"]].drop_duplicates().itertuples(index=False)}
    test = data.split == "test"
    fractions, scores = evaluate_fractions(saved["features"][data.rows], data, chosen, config["evaluation"]["c_grid"],
                                           device)
    full = fractions["1"]  # the paper's protocol (100 % of the labels) is the headline
    metrics = {"auc": full["auc"], "f1": full["f1"], "classes_evaluated": full["draws"][0]["classes_evaluated"],
               "per_class_auc": full["draws"][0]["per_class_auc"], "selected_C": full["draws"][0]["selected_C"],
               "model_selection": full["draws"][0]["model_selection"], "fractions": fractions}
    code = provenance.chain(read_code_record(features), read_code_record(subsets),
                            provenance.step_record("linear", paths.method_folder(method, paths.methods_dir(config))))
    write_npz(predictions, y=data.y[test], **{f"scores_f{f:g}_d{d}": v for (f, d), v in scores.items()})
    write_json(out, {**result_fields(config, method, seed, task_name, data, t0, info, runtime.device_name(device),
                                     runtime.environment(device), code),
                     "kind": "linear", "metrics": metrics})
