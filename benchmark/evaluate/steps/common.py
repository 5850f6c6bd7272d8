"""What the evaluation steps share: a task's records, a pre-training's log, and the fields every metrics file
records besides its numbers (which run, which code, which machine). Light: no torch."""
from __future__ import annotations

import time

from benchmark import paths
from benchmark.config import preset_hash
from benchmark.data.store import load_store
from benchmark.evaluate.tasks import split_sizes, task_data
from benchmark.io import read_json


def task(config: dict, name: str):
    """A task's settings, its dataset's store and its records."""
    settings = config["tasks"][name]
    store = load_store(paths.dataset_dir(config, settings["dataset"]))
    return settings, store, task_data(store, settings, name)


def train_log(config: dict, method: str, seed: int) -> dict:
    return read_json(paths.pretrain_dir(config, method, seed) / "train_log.json")


def result_fields(config: dict, method: str, seed: int, task_name: str, data, t0: float, info: dict,
                  eval_device: str, eval_environment: dict, code: dict) -> dict:
    """What a metrics file records besides its numbers: which run, which code (`code`: the record of every step the
    result rests on, benchmark.provenance.chain), which machine (the library versions, CPU or GPU, vector paths,
    threads and determinism of pre-training and of this step)."""
    return {"method": method, "title": info["title"], "seed": seed, "task": task_name, "preset": config["preset"],
            "split_sizes": split_sizes(data), "classes": data.classes, "code": code,
            "provenance": {"text_model": info.get("text_model") or config["pretrain"]["text_model"],
                           "config_hash": preset_hash(config), "pretrain_run_hash": info["run_hash"],
                           "commit": code[next(reversed(code))]["commit"],
                           "pretrain_commit": info.get("commit"),
                           "pretrain_command": info.get("command"),
                           "pretrain_device": info["device"], "pretrain_epochs": info["epochs"],
                           "pretrain_steps": info.get("steps"), "pretrain_batch_size": info["batch_size"],
                           "pretrain_settings": info.get("settings") or {},
                           "pretrain_records": info["n_train_records"],
                           "pretrain_external": info.get("external"),
                           "input": info.get("input"), "feature_dim": info.get("feature_dim"),
                           "pretrain_wall_seconds": info["wall_seconds"],
                           "pretrain_environment": info.get("environment"),
                           "eval_device": eval_device, "eval_environment": eval_environment,
                           "eval_wall_seconds": round(time.time() - t0, 2)}}
