"""The `zeroshot` step: zero-shot classification of a task's test split, the cosine of each ECG and each class
prompt in the method's ECG-text space, argmax prediction; its metrics and its test scores."""
from __future__ import annotations

import time

import torch

from benchmark import paths, provenance, runtime
from benchmark.errors import BenchmarkError
from benchmark.evaluate import prompts as prompt_sets
from benchmark.evaluate.encode import embed
from benchmark.evaluate.steps.common import result_fields, task, train_log
from benchmark.evaluate.steps.trained import load_trained
from benchmark.evaluate.zeroshot import zero_shot_metrics, zero_shot_scores
from benchmark.io import write_json, write_npz
from benchmark.text import embed_texts


def zeroshot(config: dict, method: str, seed: int, task_name: str, out, predictions, threads: int | None = None) -> None:
    t0 = time.time()
    settings, store, data = task(config, task_name)
    info = train_log(config, method, seed)
    runtime.setup(threads, seed)
    device = runtime.pick_device(config["device"])
    spec, model, adapt = load_trained(config, method, seed, store, device)
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
    code = provenance.chain(info.get("code"), store.meta.get("code"), provenance.step_record("zeroshot", spec.folder))
    write_npz(predictions, y=data.y[test], scores=scores)
    write_json(out, {**result_fields(config, method, seed, task_name, data, t0, info, runtime.device_name(device),
                                     runtime.environment(device), code),
                     "kind": "zeroshot", "metrics": metrics})
