"""The method contract and the discovery of methods/*/.

A method is a folder methods/<name>/ with
  method.py     `class Method(benchmark.Method)`: the pre-training objective on top of the shared encoder
  config.yaml   its optimiser, schedule and hyper-parameters (validated by workflow/schemas/method.schema.yaml)
  README.md     the paper, how it was adapted to 12-lead ECG, every deviation
Dropping such a folder in is all it takes to appear on the leaderboard.
"""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from benchmark.config import REPO_ROOT, read_yaml, validate
from benchmark.errors import ConfigError
from benchmark.paths import METHODS_DIR

METHOD_SCHEMA = REPO_ROOT / "workflow" / "schemas" / "method.schema.yaml"


class Method(nn.Module):
    """Base class. Subclasses set `title`, `paper` and implement `training_step`.

    `encoder` is the shared ResNet18-1D ((B, 12, T) -> (B, 512), `encoder.feature_map` -> (B, 512, T/16)).
    `cfg` is the `params` section of the method's config.yaml plus run facts the loop adds: `text_dim`
    (when `needs_text`), `sampling_rate`, `epochs` and `steps_per_epoch`.
    Everything else (optimiser, epochs, batching, device, AMP, checkpoints, export) belongs to the loop.
    """

    title: str = ""
    paper: str = ""
    needs_text: bool = False   # the loop then adds batch["text_emb"] (frozen report embeddings)
    zero_shot: bool = False    # implements embed_ecg / embed_text into a shared ECG-text space

    def __init__(self, encoder: nn.Module, cfg: dict):
        super().__init__()
        self.encoder = encoder
        self.cfg = dict(cfg)

    def training_step(self, batch: dict) -> torch.Tensor | dict[str, torch.Tensor]:
        """batch["ecg"] (B, 12, T) float, batch["patient"] (B,) long, batch["text_emb"] (B, D) if needs_text.

        Returns the loss to minimise, or a dict of named scalars: "loss" (what is minimised) and the terms it is
        made of (e.g. {"loss": l_tc + 0.7 * l_cc, "temporal": l_tc, "contextual": l_cc}), which the loop
        averages per epoch into train_log.json so one can see which term dominates."""
        raise NotImplementedError

    def settings(self) -> dict[str, str]:
        """Choices of this run worth printing beside its row (e.g. {"augmentations": "`etp` (...)"}); they go
        into train_log.json and the leaderboard's header. Default: none."""
        return {}

    def param_groups(self) -> list[dict]:
        """The optimiser's parameter groups (torch's format); a group may set `fixed_lr: True` to keep the
        configured learning rate while the schedule moves the others. Default: every parameter, one group."""
        return [{"params": list(self.parameters())}]

    def on_step_end(self, step: int, total_steps: int) -> None:
        """Called after each optimiser step (e.g. a momentum-encoder update)."""

    def embed_ecg(self, ecg: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no ECG-text space (zero_shot = False)")

    def embed_text(self, text_emb: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no ECG-text space (zero_shot = False)")


@dataclass(frozen=True)
class MethodSpec:
    name: str
    folder: Path
    config: dict
    cls: type

    @property
    def title(self) -> str:
        return self.cls.title or self.name


def _load_class(name: str, folder: Path) -> type:
    module_name = f"benchmark_methods.{name}"
    if module_name in sys.modules:
        module = sys.modules[module_name]
    else:
        spec = importlib.util.spec_from_file_location(module_name, folder / "method.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            del sys.modules[module_name]
            raise ConfigError(f"{folder}/method.py fails to import: {type(e).__name__}: {e}") from e
    cls = getattr(module, "Method", None)
    if not (isinstance(cls, type) and issubclass(cls, Method)) or cls is Method:
        raise ConfigError(f"{folder}/method.py must define `class Method(benchmark.Method)`")
    return cls


def load_method(folder: str | Path) -> MethodSpec:
    folder = Path(folder)
    name = folder.name
    if not (folder / "method.py").is_file():
        raise ConfigError(f"method folder {folder} has no method.py; add one defining "
                          "`class Method(benchmark.Method)` (see methods/etp/method.py) or remove the folder")
    if not (folder / "config.yaml").is_file():
        raise ConfigError(f"method folder {folder} has no config.yaml; copy methods/etp/config.yaml and adapt it")
    config = validate(read_yaml(folder / "config.yaml"), METHOD_SCHEMA, f"{folder}/config.yaml")
    return MethodSpec(name, folder, config, _load_class(name, folder))


def discover(methods_dir: str | Path = METHODS_DIR) -> dict[str, MethodSpec]:
    """Every methods/<name>/ folder (names starting with '_' or '.' are skipped), validated."""
    folders = sorted(p for p in Path(methods_dir).iterdir() if p.is_dir() and p.name[0] not in "._")
    return {f.name: load_method(f) for f in folders}


def selected(config: dict, methods_dir: str | Path = METHODS_DIR) -> dict[str, MethodSpec]:
    """The methods a preset runs: `methods: all`, or a list that must name existing folders."""
    wanted = config.get("methods", "all")
    if wanted == "all":
        return discover(methods_dir)
    available = sorted(p.name for p in Path(methods_dir).iterdir() if p.is_dir() and p.name[0] not in "._")
    unknown = [m for m in wanted if m not in available]
    if unknown:
        raise ConfigError(f"config key `methods` names {unknown}, which have no folder under {methods_dir}; "
                          f"available: {available}")
    return {m: load_method(Path(methods_dir) / m) for m in wanted}
