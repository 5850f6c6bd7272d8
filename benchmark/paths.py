"""Where every artefact lives. The Snakefile and the CLI both build paths here, so they cannot drift."""
from __future__ import annotations

from pathlib import Path

from benchmark.config import REPO_ROOT

METHODS_DIR = REPO_ROOT / "methods"
PUBLISHED = REPO_ROOT / "leaderboard.md"  # the published board: copied from one finished run (benchmark publish)


def results(config: dict) -> Path:
    return Path(config["results_dir"])


def leaderboard(config: dict) -> Path:
    """A preset's own board (its DAG's final target); a .json copy lies beside it."""
    return results(config) / "leaderboard.md"


def methods_dir(config: dict) -> Path:
    """Where a preset's method folders are: its `methods_dir`, else methods/ of this repository."""
    return Path(config.get("methods_dir") or METHODS_DIR)


def method_folder(name: str, methods_dir: str | Path = METHODS_DIR) -> Path:
    from benchmark.errors import ConfigError

    folder = Path(methods_dir) / name
    if not (folder / "method.py").is_file():
        raise ConfigError(f"no method folder {folder} (with a method.py); `python -m benchmark methods` lists them")
    return folder


def selection(config: dict) -> Path:
    """The methods, seeds and left-out folders of the preset's workflow run (benchmark.method.freeze_selection)."""
    return results(config) / "selection.json"


def dataset_dir(config: dict, dataset: str) -> Path:
    return results(config) / "data" / dataset


def report_embeddings(config: dict) -> Path:
    model = config["pretrain"]["text_model"].replace("/", "__")
    return results(config) / "text" / model / f"{config['pretrain']['dataset']}_reports.npy"


def text_cache(config: dict) -> Path:
    return Path(config["cache_dir"]) / "text"


def weights_cache(config: dict) -> Path:
    """Published checkpoints fetched by the workflow (benchmark.weights), shared by presets."""
    return Path(config["cache_dir"]) / "weights"


def pretrain_dir(config: dict, method: str, seed: int) -> Path:
    return results(config) / "pretrain" / method / f"seed{seed}"


def features(config: dict, method: str, seed: int, dataset: str) -> Path:
    """Frozen features of every record of a dataset (shared by its tasks and label fractions)."""
    return results(config) / "features" / method / f"seed{seed}" / f"{dataset}.npz"


def metrics(config: dict, kind: str, method: str, seed: int, task: str) -> Path:
    return results(config) / "metrics" / kind / method / f"seed{seed}" / f"{task}.json"


def predictions(config: dict, kind: str, method: str, seed: int, task: str) -> Path:
    """Test labels and scores behind a metrics file (what the paired comparisons resample)."""
    return results(config) / "predictions" / kind / method / f"seed{seed}" / f"{task}.npz"


def subsets(config: dict, task: str) -> Path:
    """The label-fraction subsets of a task's train split (record ids), shared by every method."""
    return results(config) / "subsets" / f"{task}.csv"


def stats(config: dict, task: str) -> Path:
    """CIs of the seed means and paired tests between the methods of a task."""
    return results(config) / "stats" / f"{task}.json"


def plots(config: dict) -> Path:
    return results(config) / "plots"


def check_writable(config: dict) -> None:
    """The folders a run writes (results_dir, cache_dir) must be writable: checked when the workflow is built, so a
    read-only mount is named at once, not as Snakemake's "write-protected output files" of the first job to run."""
    import os

    from benchmark.errors import ConfigError

    for key in ("results_dir", "cache_dir"):
        folder = Path(config[key]).absolute()
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not os.access(folder, os.W_OK):
            why = ("it is on a read-only file system" if os.statvfs(folder).f_flag & os.ST_RDONLY else
                   "this user may not write it")
            raise ConfigError(f"{key} is {config[key]!r}, and {folder} cannot be written ({why}): make it writable, "
                              f"or point {key} at a writable folder (--config {key}=...)")
