"""The one training loop every method uses.

Per epoch: a seeded permutation of the pre-training split, batches read from the memory-mapped store,
`method.training_step`, an optimiser step and the method's `on_step_end` hook; after each epoch the loss is
logged and a checkpoint written (atomically), so a killed run resumes at the next epoch with the same data
order and random state. At the end the encoder (and the whole method, heads included) is exported as
safetensors; train_log.json is written last and marks the run finished.

The checkpoint holds only tensors, numbers, strings, lists and dicts, and is read back with
`torch.load(weights_only=True)`: a file that needs unpickling of anything else is refused, never executed.
It is always read onto the CPU (the model and optimiser states are then copied to the training device by
load_state_dict), because the random-number-generator states must stay CPU byte tensors.
"""
from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from tqdm import tqdm

from benchmark import paths, provenance, runtime, stepcode
from benchmark.batches import BatchReader
from benchmark.checkpoints import load_published, torch_load
from benchmark.config import config_hash, result_settings
from benchmark.data.store import load_store
from benchmark.errors import BenchmarkError, TrainingDiverged
from benchmark.inputs import InputAdapter, InputSpec
from benchmark.io import (FINISHED, atomic_path, exclusive, keep_finished, read_arrays, read_code_record, read_json,
                          reuse_finished, write_json)
from benchmark.method import MethodSpec, build_method
from benchmark.optim import build_optimizer, build_schedule

CHECKPOINT = "checkpoint.pt"


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, block: int = 1) -> list[np.ndarray]:
    """Positions 0..n-1 in a (seed, epoch)-determined order, cut into full batches (contrastive losses need
    batch-mates, so a short last batch is dropped; all records are seen across epochs).

    `block` > 1: the positions are cut into runs of `block` consecutive ones and the *runs* are shuffled, so a
    batch is batch_size / block runs of neighbours on disk (`pretrain.read_block`, for stores larger than RAM). A
    batch then holds records that were neighbours in the store, which a preparation that writes its rows in a
    random order (MIMIC-IV-ECG: benchmark.data.mimic) makes a random draw too; across epochs the run boundaries
    stay fixed, so two records of one run always share their batch."""
    rng = np.random.default_rng([seed, epoch])
    if block > 1:
        runs = rng.permutation(-(-n // block))
        order = (runs[:, None] * block + np.arange(block)).ravel()
        order = order[order < n]
    else:
        order = rng.permutation(n)
    bs = min(batch_size, n)
    return [np.sort(order[i:i + bs]) for i in range(0, n - bs + 1, bs)]


def loss_and_terms(out, method: str) -> tuple[torch.Tensor, dict]:
    """A training_step's result -> (the loss to minimise, its named terms): a tensor, or a dict with "loss"."""
    if isinstance(out, dict):
        if "loss" not in out:
            raise BenchmarkError(f"methods/{method}/method.py: training_step returned a dict without the key "
                                 f"'loss' (found {sorted(out)}); put the total to minimise under 'loss'")
        return out["loss"], {k: v for k, v in out.items() if k != "loss"}
    return out, {}


def check_finite(loss_sum: torch.Tensor, steps: int, checked: int, method: str, seed: int, epoch: int,
                 ckpt_path: Path, saved: int, terms: dict | None = None, lr: float | None = None,
                 peak_lr: float | None = None, amp: bool = False, check_every: int = 50) -> float:
    """Read the running loss sum (one host synchronisation); stop, naming the steps since the last check, the loss
    terms that are not finite (`terms`: training_step's named terms, name -> (running sum, count)), causes that fit
    (`lr`, given during warm-up, of `peak_lr`; `amp`: bf16 autocast) and what is kept on disk, if it is not finite.
    `saved`: the epochs of this run the checkpoint on disk holds (0: none, even if a checkpoint of other settings
    lies there). Returns the running mean."""
    total = float(loss_sum)
    if math.isfinite(total):
        return total / steps
    where = f"step {steps}" if steps - checked == 1 else f"steps {checked + 1}-{steps}"
    bad = [name for name, (value, _) in (terms or {}).items() if not math.isfinite(float(value))]
    which = (f"; not finite: the term{'s' if len(bad) > 1 else ''} {', '.join(repr(b) for b in bad)} of "
             "training_step's dict" if bad else "")
    causes = []
    if lr is not None and peak_lr:   # given during warm-up only
        causes.append(f"the learning rate is still warming up ({lr:.3g} of {peak_lr:.3g}), so it is not too high: "
                      "the loss itself breaks (a log of 0, a division by zero, the norm of a zero vector: clamp it "
                      "or add an eps)")
    else:
        causes.append("a log of 0, a division by zero or the norm of a zero vector in the loss (clamp it or add an "
                      f"eps), or a learning rate too high (optimizer.lr in methods/{method}/config.yaml)")
    if amp:
        causes.append("a loss computed in bfloat16 under the GPU's autocast (decorate it with benchmark.losses.float32)")
    if steps - checked > 1:
        causes.append(f"to find the exact step, set pretrain.check_every: 1 (past the first epoch's first {check_every} "
                      f"steps the loss is read every {check_every} steps)")
    kept = (f"The checkpoint written after epoch {saved} is kept in {ckpt_path}; a re-run with unchanged settings "
            "resumes from it (a changed config.yaml starts afresh)." if saved else
            f"No epoch of this run finished, so {ckpt_path.parent} holds no checkpoint of it: a re-run starts from "
            "scratch.")
    raise TrainingDiverged(
        f"method {method} (seed {seed}): the loss became {total} at epoch {epoch + 1}, {where}{which}; likely "
        f"causes: {'; '.join(causes)}. {kept}")


def pretrain_run_hash(config: dict, spec: MethodSpec, seed: int) -> str:
    """What a checkpoint must share to be resumed: settings, the data it trains on (the store as prepared, and the
    report embeddings of a text method), the seed and the code (a checkpoint of other code or data is not
    continued: the run would mix two states under the new one's name). Threads are left out: they change the
    speed, not the run."""
    from benchmark.data.store import store_identity
    from benchmark.data.download import sha256_file

    store = paths.dataset_dir(config, config["pretrain"]["dataset"])
    reports = paths.report_embeddings(config)
    return config_hash({"method": spec.config, "pretrain": result_settings(config["pretrain"]), "data": config["data"],
                        "dataset": config["datasets"][config["pretrain"]["dataset"]], "seed": seed,
                        "store": store_identity(read_json(store / "meta.json")) if (store / "meta.json").exists()
                        else None,
                        "reports": sha256_file(reports) if spec.cls.needs_text and reports.exists() else None,
                        "code": stepcode.fingerprint("pretrain", spec.folder), "kernels": config["kernels"]})


def epochs_for(config: dict, spec: MethodSpec) -> int:
    """Every trained method gets the preset's epochs (with the preset's batch size: the same optimiser steps,
    so a table compares objectives, not budgets); an untrained baseline none."""
    return config["pretrain"]["epochs"] if spec.config["trains"] else 0


def save_checkpoint(path: Path, state: dict, device: torch.device) -> None:
    """Atomically write `state` plus the RNG states of the CPU and, when training on a GPU, of every GPU."""
    state = dict(state, torch_rng=torch.get_rng_state())
    if device.type == "cuda":  # the training GPU's generator only: a resume may see another set of GPUs
        state["cuda_rng"] = torch.cuda.get_rng_state(device)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint written by save_checkpoint onto the CPU, refusing anything but plain data."""
    return torch_load(path, "the checkpoint", "Delete it to restart this pre-training from scratch",
                      refused="Delete it to restart this pre-training from scratch (this benchmark never writes such "
                              "objects: the file was altered or comes from elsewhere)")


def restore_rng(ckpt: dict, device: torch.device) -> None:
    """Put back the generators' states: the CPU one always, the training GPU's when the run trains on a GPU."""
    torch.set_rng_state(ckpt["torch_rng"].to("cpu", torch.uint8))
    if device.type == "cuda" and ckpt.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(ckpt["cuda_rng"].to("cpu", torch.uint8), device)


def resume(ckpt_path: Path, run_hash: str, method, optimizer, scheduler, device: torch.device) -> tuple[list, int]:
    """Load a checkpoint of the same run (same run hash) into the training objects; return (loss log, epochs
    done). No checkpoint, or one of another configuration, means starting afresh: ([], 0)."""
    if not ckpt_path.exists():
        return [], 0
    ckpt = load_checkpoint(ckpt_path)
    if ckpt.get("run_hash") != run_hash:
        print(f"{ckpt_path} belongs to another configuration; starting afresh")
        return [], 0
    method.load_state_dict(ckpt["method"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    restore_rng(ckpt, device)
    return ckpt["log"], ckpt["epoch"]


OUTPUTS = ("encoder.safetensors", "model.safetensors", "train_log.json")  # train_log.json last: marks a finished run


def pretrain(config: dict, spec: MethodSpec, seed: int, out_dir: str | Path, threads: int | None = None) -> dict:
    """Pre-train (or, for a published checkpoint, load and export) one method with one seed into `out_dir`, which
    this process holds exclusively meanwhile. A run finished earlier with the same settings, data and code,
    whose outputs Snakemake deleted to run it again (it flags the outputs of jobs that were running when
    snakemake alone got a SIGINT incomplete, though they finished), is put back, not trained again."""
    out_dir = Path(out_dir)
    with exclusive(out_dir, f"the pre-training of {spec.name} seed {seed}"):
        outputs = [out_dir / name for name in OUTPUTS]
        # what the outputs were made from and on: settings, data, seed, the step's code (run hash), device, precision
        finished_key = {"run_hash": pretrain_run_hash(config, spec, seed), "device": config["device"],
                        "amp": config["amp"]}
        if reuse_finished(outputs, finished_key):
            print(f"[{spec.name} seed {seed}] this run finished earlier with the same settings, data, code and "
                  f"device; its outputs are put back from {out_dir / FINISHED} instead of training again (delete "
                  f"{out_dir} to train it again)", file=sys.stderr)
            return read_json(out_dir / "train_log.json")
        info = _pretrain(config, spec, seed, out_dir, threads)
        keep_finished(outputs, finished_key)
        return info


def _pretrain(config: dict, spec: MethodSpec, seed: int, out_dir: Path, threads: int | None) -> dict:
    runtime.setup(threads, seed, config["pretrain"].get("deterministic", True))
    device = runtime.pick_device(config["device"])
    t0 = time.time()
    store = load_store(paths.dataset_dir(config, config["pretrain"]["dataset"]))
    idx = store.indices("train")
    text = None
    if spec.cls.needs_text:
        text = read_arrays(paths.report_embeddings(config), mmap_mode="r")
        if text.shape[0] != len(store):
            raise BenchmarkError(f"{paths.report_embeddings(config)} has {text.shape[0]} rows but the dataset has "
                                 f"{len(store)} records; delete it and re-run")
        empty = store.records["report"].iloc[idx].str.strip() == ""
        idx = idx[~empty.to_numpy()]  # a record without a report cannot be aligned with text
    patients = torch.as_tensor(store.records["patient_id"].factorize()[0])
    batch_size = config["pretrain"]["batch_size"]  # one for every method: the same steps per epoch
    epochs = epochs_for(config, spec)
    if epochs and len(idx) < 2:
        raise BenchmarkError(f"{spec.name}: the pre-training split has {len(idx)} usable records; need at least 2")
    steps_per_epoch = len(epoch_batches(len(idx), batch_size, seed, 0, config["pretrain"].get("read_block", 1))) \
        if epochs else 0
    stored = InputSpec.of_store(store.meta, store.signals.shape[-1])
    method = build_method(spec, config, stored, text.shape[1] if text is not None else None, epochs, steps_per_epoch)
    # a published checkpoint (config.yaml `weights:`): checked against its SHA-256, its keys mapped, loaded strictly
    external = {"pretrained_on": spec.pretrained_on, "files": load_published(method, spec, config)} \
        if spec.external else None
    method.to(device)
    adapt = InputAdapter(stored, method.input_spec)
    compiled = bool(config["pretrain"].get("compile") and epochs)
    if compiled:
        # in place, on the blocks both forward() and feature_map() run through; state_dict keys (and so
        # checkpoints and exports) are unchanged
        enc = method.encoder
        for block in [getattr(enc, n) for n in ("stem", "layers") if hasattr(enc, n)] or [enc]:
            block.compile()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)  # this run's peak, not an earlier one's in the same process
    optimizer = build_optimizer(method.param_groups(), spec.config["optimizer"], batch_size)
    scheduler = build_schedule(optimizer, spec.config["schedule"], steps_per_epoch, epochs)
    run_hash = pretrain_run_hash(config, spec, seed)
    use_amp = config["amp"] and device.type == "cuda"

    ckpt_path = out_dir / CHECKPOINT
    log, start = resume(ckpt_path, run_hash, method, optimizer, scheduler, device)
    if start:
        print(f"[{spec.name} seed {seed}] resuming after epoch {start}/{epochs} from {ckpt_path}")

    check_every = config["pretrain"].get("check_every", 50)
    peak_lr = optimizer.param_groups[0].get("initial_lr", optimizer.param_groups[0]["lr"])
    for epoch in range(start, epochs):
        method.train()
        t_epoch = time.perf_counter()
        block, io_threads = config["pretrain"].get("read_block", 1), config["pretrain"].get("read_threads", 1)
        batches = BatchReader(store.signals, idx, patients, epoch_batches(len(idx), batch_size, seed, epoch, block),
                              device, text, adapt=adapt, io_threads=io_threads)
        bar = tqdm(batches, desc=f"{spec.name} s{seed} epoch {epoch + 1}/{epochs}", mininterval=2.0, leave=False)
        # losses are summed on the device and read every `check_every` steps and at the epoch's end: no host
        # synchronisation per step (the GPU runs ahead); a non-finite loss is reported with its step range
        loss_sum, term_sums, checked = torch.zeros((), device=device), {}, 0
        try:
            for step, batch in enumerate(bar):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    loss, terms = loss_and_terms(method.training_step(batch), spec.name)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                method.on_step_end(epoch * steps_per_epoch + step, epochs * steps_per_epoch)
                loss_sum += loss.detach().float()
                for name, value in terms.items():
                    total, count = term_sums.get(name, (0.0, 0))
                    term_sums[name] = (total + torch.as_tensor(value).detach().float(), count + 1)
                # every step of the first epoch's first `check_every` (a loss broken from the start is named at
                # its step), then every `check_every` steps and at the epoch's end
                if (epoch == 0 and step < check_every) or (step + 1) % check_every == 0 or step + 1 == len(batches):
                    warming = epoch * steps_per_epoch + step < getattr(scheduler, "warmup_steps", 0)
                    mean = check_finite(loss_sum, step + 1, checked, spec.name, seed, epoch, ckpt_path, epoch,
                                        term_sums, scheduler.get_last_lr()[0] if warming else None, peak_lr,
                                        use_amp, check_every)
                    checked = step + 1
                    bar.set_postfix(loss=f"{mean:.4f}")
        finally:
            batches.close()  # the reader thread stops also when a step raises
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t_epoch
        log.append({"epoch": epoch + 1, "loss": float(loss_sum) / max(1, len(batches)), "lr": scheduler.get_last_lr()[0],
                    "seconds": round(time.time() - t0, 1), "epoch_seconds": round(seconds, 3),
                    "data_wait_seconds": round(batches.wait_seconds, 3),
                    "samples_per_second": round(len(batches) * min(batch_size, len(idx)) / max(seconds, 1e-9), 1)})
        if term_sums:
            log[-1]["terms"] = {name: float(total) / count for name, (total, count) in term_sums.items()}
        print(f"[{spec.name} seed {seed}] epoch {epoch + 1}/{epochs} loss {log[-1]['loss']:.4f} "
              f"({log[-1]['samples_per_second']:.0f} samples/s, data wait {100 * batches.wait_seconds / seconds:.0f}%)")
        save_checkpoint(ckpt_path, {"epoch": epoch + 1, "method": method.state_dict(),
                                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                    "log": log, "run_hash": run_hash}, device)

    method.cpu()
    with atomic_path(out_dir / "encoder.safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in method.encoder.state_dict().items()}, str(tmp))
    with atomic_path(out_dir / "model.safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in method.state_dict().items()}, str(tmp))
    info = {"method": spec.name, "title": spec.title, "seed": seed, "epochs": epochs, "batch_size": batch_size,
            "steps_per_epoch": steps_per_epoch, "steps": epochs * steps_per_epoch,
            "n_train_records": None if external else int(len(idx)), "external": external,
            "input": method.input_spec.describe(), "feature_dim": method.feature_dim,
            "settings": method.settings(),
            "text_model": config["pretrain"]["text_model"] if text is not None else None,
            "text_dim": int(text.shape[1]) if text is not None else None,
            "sampling_rate": store.meta["sampling_rate"], "n_samples": stored.n_samples,
            "device": runtime.device_name(device), "amp": use_amp, "threads": torch.get_num_threads(),
            "environment": runtime.environment(device),
            "compiled": compiled,
            "peak_gpu_memory_gib": (round(torch.cuda.max_memory_allocated(device) / 2 ** 30, 2)
                                    if device.type == "cuda" else None),
            "run_hash": run_hash, "commit": provenance.code_commit(),
            # the code of this step and of the steps whose outputs it read (the store, the report embeddings)
            "code": provenance.chain(store.meta.get("code"),
                                     read_code_record(paths.report_embeddings(config)) if text is not None else None,
                                     provenance.step_record("pretrain", spec.folder)),
            "command": os.environ.get("BENCHMARK_INVOCATION"),  # set by the Snakefile: the run's snakemake command
            "wall_seconds": round(time.time() - t0, 1),
            "loss_log": log}
    write_json(out_dir / "train_log.json", info)
    ckpt_path.unlink(missing_ok=True)  # finished: the exported weights supersede the checkpoint
    return info
