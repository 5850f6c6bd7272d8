"""The evaluation steps the workflow runs, one function each (`python -m benchmark <step>` only parses arguments
and calls them): the label-fraction subsets of a task, frozen features, the linear probe, zero-shot, and the
statistics of a task.

Features and zero-shot go through the method (`Method.features`, `Method.embed_ecg`), built by its folder
(`build_encoder`, the input it declares) and loaded from the weights its pre-training step exported, whether
that step trained it, exported its initialisation or loaded a published checkpoint. Stored signals reach it
through benchmark.inputs (resampled, cropped and reordered to its input, in one place). The linear probe needs
torch (its solver, benchmark.evaluate.logistic) but not the method.
"""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from benchmark import paths, provenance
from benchmark.config import preset_hash
from benchmark.data.store import load_store
from benchmark.errors import BenchmarkError
from benchmark.evaluate.tasks import label_subsets, split_sizes, subset_positions, task_data
from benchmark.io import atomic_path, read_json, write_json, write_npz


def task(config: dict, name: str):
    """A task's settings, its dataset's store and its records (light: no torch)."""
    settings = config["tasks"][name]
    store = load_store(paths.dataset_dir(config, settings["dataset"]))
    return settings, store, task_data(store, settings, name)


def train_log(config: dict, method: str, seed: int) -> dict:
    return read_json(paths.pretrain_dir(config, method, seed) / "train_log.json")


def _provenance(config: dict, method: str, seed: int, task_name: str, data, t0: float, info: dict,
                eval_device: str, device=None) -> dict:
    """What a metrics file records besides its numbers: which run, which code, which machine (the library
    versions, CPU or GPU, vector paths, threads and determinism of pre-training and of this step)."""
    from benchmark import runtime

    code = provenance.record(paths.method_folder(method, paths.methods_dir(config)))
    return {"method": method, "title": info["title"], "seed": seed, "task": task_name, "preset": config["preset"],
            "split_sizes": split_sizes(data), "classes": data.classes,
            "provenance": {"text_model": info.get("text_model") or config["pretrain"]["text_model"],
                           "config_hash": preset_hash(config), "pretrain_run_hash": info["run_hash"],
                           **code,
                           "pretrain_commit": info.get("commit"),
                           "pretrain_code_fingerprint": info.get("code_fingerprint"),
                           "pretrain_method_fingerprint": info.get("method_fingerprint"),
                           "pretrain_command": info.get("command"),
                           "pretrain_device": info["device"], "pretrain_epochs": info["epochs"],
                           "pretrain_steps": info.get("steps"), "pretrain_batch_size": info["batch_size"],
                           "pretrain_settings": info.get("settings") or {},
                           "pretrain_records": info["n_train_records"],
                           "pretrain_external": info.get("external"),
                           "input": info.get("input"), "feature_dim": info.get("feature_dim"),
                           "pretrain_wall_seconds": info["wall_seconds"],
                           "pretrain_environment": info.get("environment"),
                           "eval_device": eval_device, "eval_environment": runtime.environment(device),
                           "eval_wall_seconds": round(time.time() - t0, 2)}}


def _method(config: dict, name: str, seed: int, store, device):
    """(spec, the method as its pre-training step exported it, the adapter from `store` to its input)."""
    from benchmark.evaluate.encode import load_weights
    from benchmark.inputs import InputAdapter, InputSpec
    from benchmark.method import load_method
    from benchmark.pretrain import build_method

    spec = load_method(paths.method_folder(name, paths.methods_dir(config)))
    info = train_log(config, name, seed)
    # built as it was pre-trained (heads may depend on the input length); this store is adapted to that input
    trained = InputSpec(int(info["sampling_rate"]), int(info["n_samples"]))
    method = build_method(spec, config, trained, info.get("text_dim"))
    load_weights(method, paths.pretrain_dir(config, name, seed) / "model.safetensors", f"method {name}")
    return spec, method.to(device), InputAdapter(InputSpec.of_store(store.meta, store.signals.shape[-1]),
                                                 method.input_spec)


def write_subsets(config: dict, task_name: str, out) -> None:
    """The label-fraction subsets of a task's train split (record ids), drawn once, shared by every method."""
    ev = config["evaluation"]
    _, _, data = task(config, task_name)
    table = label_subsets(data, task_name, ev["label_fractions"], ev["fraction_draws"], ev["subset_seed"])
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False)
    counts = table.groupby(["fraction", "draw"]).size()
    print(f"{task_name}: " + ", ".join(f"{f:g} draw {d}: {n} records" for (f, d), n in counts.items()),
          file=sys.stderr)


def extract_features(config: dict, method: str, seed: int, dataset: str, out, threads: int | None = None) -> None:
    """`Method.features` of every record of a dataset, once per (method, seed, dataset): every task on the dataset
    and every label fraction reuses them."""
    from benchmark import runtime
    from benchmark.evaluate.encode import embed

    runtime.setup(threads, seed)
    store = load_store(paths.dataset_dir(config, dataset))
    device = runtime.pick_device(config["device"])
    _, model, adapt = _method(config, method, seed, store, device)
    feats = embed(model.features, store.signals, np.arange(len(store)), device, config["evaluation"]["batch_size"],
                  adapt)
    if feats.ndim != 2 or feats.shape[1] != model.feature_dim:
        raise BenchmarkError(f"methods/{method}: features() returned an array of shape {feats.shape}, but the method "
                             f"declares feature_dim = {model.feature_dim}; make the two agree (method.py)")
    if not np.isfinite(feats).all():
        raise BenchmarkError(f"methods/{method}: features() returned NaN or infinite values on dataset {dataset}")
    write_npz(out, features=feats, ecg_id=store.records["ecg_id"].to_numpy().astype(str))


def linear(config: dict, method: str, seed: int, task_name: str, features, subsets, out, predictions,
           threads: int | None = None) -> None:
    """The linear probe at every label fraction (C chosen on val), its metrics and its test scores."""
    from benchmark import runtime
    from benchmark.evaluate.linear import evaluate_fractions

    t0 = time.time()
    runtime.setup(threads, seed)
    device = runtime.pick_device(config["device"])
    settings, store, data = task(config, task_name)
    info = train_log(config, method, seed)
    saved = np.load(features)
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
    write_npz(predictions, y=data.y[test], **{f"scores_f{f:g}_d{d}": v for (f, d), v in scores.items()})
    write_json(out, {**_provenance(config, method, seed, task_name, data, t0, info, runtime.device_name(device),
                                   device),
                     "kind": "linear", "metrics": metrics})


def zeroshot(config: dict, method: str, seed: int, task_name: str, out, predictions, threads: int | None = None) -> None:
    """Zero-shot classification of a task's test split: cosine of each ECG and each class prompt in the method's
    ECG-text space, argmax prediction."""
    import torch

    from benchmark import runtime
    from benchmark.evaluate import prompts as prompt_sets
    from benchmark.evaluate.encode import embed
    from benchmark.evaluate.zeroshot import zero_shot_metrics, zero_shot_scores
    from benchmark.text import embed_texts

    t0 = time.time()
    settings, store, data = task(config, task_name)
    info = train_log(config, method, seed)
    runtime.setup(threads, seed)
    device = runtime.pick_device(config["device"])
    spec, model, adapt = _method(config, method, seed, store, device)
    if not spec.cls.zero_shot:
        raise BenchmarkError(f"method {method} has no ECG-text space (zero_shot = False); "
                             "it takes no zero-shot evaluation")
    test = data.split == "test"
    names = {**data.names, **settings.get("prompt_names", {})}  # the config's phrase wins over the store's name
    chosen = prompt_sets.prompts(config, method, task_name, data.classes, names)
    prompts = chosen["prompts"]
    prompt_emb = embed_texts(info["text_model"], prompts, paths.text_cache(config), device=str(device))
    with torch.no_grad():
        text_space = model.embed_text(torch.from_numpy(prompt_emb).to(device)).float().cpu().numpy()
    ecg_space = embed(model.embed_ecg, store.signals, data.rows[test], device, config["evaluation"]["batch_size"],
                      adapt)
    scores = zero_shot_scores(ecg_space, text_space)
    metrics = zero_shot_metrics(data.y[test], scores, data.classes)
    metrics.update(prompts=prompts, prompt_set=chosen["set"], prompt_note=chosen["note"])
    write_npz(predictions, y=data.y[test], scores=scores)
    write_json(out, {**_provenance(config, method, seed, task_name, data, t0, info, runtime.device_name(device),
                                   device),
                     "kind": "zeroshot", "metrics": metrics})


def write_stats(config: dict, task_name: str, out, threads: int | None = None) -> None:
    """Bootstrap CIs and paired tests between the methods of a task (benchmark.evaluate.compare)."""
    from benchmark.evaluate.compare import compare_linear, compare_zeroshot
    from benchmark.method import run_selection

    specs, seeds, _ = run_selection(config)
    external = [m for m, s in specs.items() if s.external]
    ev = config["evaluation"]
    _, _, data = task(config, task_name)
    result = {"task": task_name, "seeds": seeds, "external": external, "bootstrap": ev["bootstrap"],
              "test_records": int((data.split == "test").sum())}
    if task_name in ev["linear_tasks"]:
        result["linear"] = compare_linear(config, task_name, seeds, external, threads)
    zero_shot = {m: seeds[m] for m, s in specs.items() if s.cls.zero_shot}
    if task_name in ev["zeroshot_tasks"] and zero_shot:
        result["zeroshot"] = compare_zeroshot(config, task_name, zero_shot, data.classes, external, threads)
    write_json(out, result)
