"""`python -m benchmark methods --check NAME`: a method folder tried in seconds, before any data is prepared.

It loads the folder (config.yaml against its schema, `params` against `params_schema`), builds the method for the
preset's input (the demo's when no preset is given), runs one batch of random ECGs through `features`, one
`training_step`, its backward pass and one optimiser step, and, for a zero-shot method, `embed_ecg` and
`embed_text`. A failure names the folder and the line of its code that raised (benchmark.method.method_code), or
the loss term that is not finite; the whole pre-training job would otherwise find it only after the data are
prepared. No file is written.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from benchmark import paths, weights
from benchmark.config import REPO_ROOT, load_config
from benchmark.errors import BenchmarkError
from benchmark.inputs import InputAdapter, InputSpec
from benchmark.method import MethodSpec, _folders, build_method, load_method, method_code
from benchmark.optim import build_optimizer, build_schedule

BATCH = 8          # records of the tiny batch: 4 patients with 2 records each (patient-level methods have positives)
TEXT_DIM = 384     # the demo's text model (all-MiniLM-L6-v2) when the preset's model is not loaded here


def _batch(spec: MethodSpec, stored: InputSpec, target: InputSpec, text_dim: int) -> dict:
    """A batch as the training loop gives it: random stored ECGs adapted to the method's input, patient ids, and
    report embeddings for a text method."""
    rng = np.random.default_rng(0)
    ecg = InputAdapter(stored, target)(rng.random((BATCH, len(stored.leads), stored.n_samples), dtype=np.float32))
    batch = {"ecg": torch.from_numpy(np.ascontiguousarray(ecg, dtype=np.float32)), "patient": torch.arange(BATCH) // 2}
    if spec.cls.needs_text:
        batch["text_emb"] = torch.from_numpy(rng.standard_normal((BATCH, text_dim), dtype=np.float32))
    return batch


def _finite(value, what: str, folder: str) -> float:
    value = float(torch.as_tensor(value).detach().float())
    if not math.isfinite(value):
        raise BenchmarkError(f"{folder}: {what} is {value} on the first step of a random batch; a division by zero, "
                             "the log of 0 or a loss computed in bfloat16 (decorate it with benchmark.losses.float32) "
                             "are the usual causes")
    return value


def check_one(config: dict, spec: MethodSpec, text_dim: int = TEXT_DIM) -> str:
    """Build `spec`'s method and run one training step on a tiny random batch; returns one line saying what ran."""
    folder = f"methods/{spec.name}"
    t0 = time.perf_counter()
    stored = InputSpec(config["data"]["sampling_rate"], int(round(config["data"]["seconds"]
                                                                  * config["data"]["sampling_rate"])))
    trains = spec.config["trains"]
    method = build_method(spec, config, stored, text_dim if spec.cls.needs_text else None, epochs=1 if trains else 0,
                          steps_per_epoch=1 if trains else 0)   # features() of 2 records checked here
    batch = _batch(spec, stored, method.input_spec, text_dim)
    did = ["built", "features"]
    if trains:
        from benchmark.pretrain import loss_and_terms

        optimizer = build_optimizer(method.param_groups(), spec.config["optimizer"], BATCH)
        scheduler = build_schedule(optimizer, spec.config["schedule"], 1, 1)
        method.train()
        with method_code(spec, "training_step"):
            loss, terms = loss_and_terms(method.training_step(batch), spec.name)
        value = _finite(loss, "the loss", folder)
        shown = {name: _finite(v, f"the loss term {name!r}", folder) for name, v in terms.items()}
        with method_code(spec, "the backward pass of training_step's loss"):
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
        if not any(p.grad is not None for p in method.encoder.parameters()):
            raise BenchmarkError(f"{folder}: no gradient reaches the encoder from training_step's loss (is the encoder "
                                 "called on batch['ecg'], and its output used without .detach() or torch.no_grad()?)")
        with method_code(spec, "the optimiser step or on_step_end"):
            optimizer.step()
            scheduler.step()
            method.on_step_end(0, 1)
        did.append("one training step (loss " + ", ".join([f"{value:.4g}"] + [f"{k} {v:.4g}" for k, v in
                                                                               shown.items()]) + ")")
    if spec.cls.zero_shot:
        method.eval()
        with torch.no_grad(), method_code(spec, "embed_ecg / embed_text"):
            ecg = method.embed_ecg(batch["ecg"])
            text = method.embed_text(torch.randn(3, text_dim))
        if ecg.ndim != 2 or text.ndim != 2 or ecg.shape[1] != text.shape[1]:
            raise BenchmarkError(f"{folder}: embed_ecg gives {list(ecg.shape)} and embed_text {list(text.shape)}; both "
                                 "must be (rows, the same dimension) for zero-shot cosines")
        did.append("zero-shot embeddings")
    return f"ok    {spec.name}: {', '.join(did)} in {time.perf_counter() - t0:.1f} s"


def check_methods(config: dict | None, names: list[str]) -> list[str]:
    """Check the named folders (every folder when none is named); raise with every line when one fails."""
    config = config or load_config(REPO_ROOT / "config" / "demo.yaml")
    root = paths.methods_dir(config)
    names = names or [f.name for f in _folders(root)]
    lines, failed = [], 0
    for name in names:
        try:
            spec = load_method(paths.method_folder(name, root))
            why = weights.unavailable(config, spec) if spec.external else None
            lines.append(f"skip  {name}: {why}" if why else check_one(config, spec))
        except BenchmarkError as e:
            failed += 1
            lines.append(f"FAIL  {name}: {e}")
    if failed:
        raise BenchmarkError(f"{failed} of {len(names)} method folder(s) failed the check:\n" + "\n".join(lines))
    return lines
