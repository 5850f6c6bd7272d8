"""Where every artefact lives. The Snakefile and the CLI both build paths here, so they cannot drift."""
from __future__ import annotations

from pathlib import Path


def results(config: dict) -> Path:
    return Path(config["results_dir"])


def dataset_dir(config: dict, dataset: str) -> Path:
    return results(config) / "data" / dataset


def report_embeddings(config: dict) -> Path:
    model = config["pretrain"]["text_model"].replace("/", "__")
    return results(config) / "text" / model / f"{config['pretrain']['dataset']}_reports.npy"


def text_cache(config: dict) -> Path:
    return Path(config["cache_dir"]) / "text"


def pretrain_dir(config: dict, method: str, seed: int) -> Path:
    return results(config) / "pretrain" / method / f"seed{seed}"


def features(config: dict, method: str, seed: int, task: str) -> Path:
    return results(config) / "features" / method / f"seed{seed}" / f"{task}.npz"


def metrics(config: dict, kind: str, method: str, seed: int, task: str) -> Path:
    return results(config) / "metrics" / kind / method / f"seed{seed}" / f"{task}.json"
