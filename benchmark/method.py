"""The method contract and the discovery of methods/*/.

A method is a folder methods/<name>/ with
  method.py     `class Method(benchmark.Method)`: the pre-training objective on top of the shared encoder
  config.yaml   its optimiser, schedule and hyper-parameters (validated by workflow/schemas/method.schema.yaml)
  README.md     the paper, how it was adapted to 12-lead ECG, every deviation
Dropping such a folder in is all it takes to appear on the leaderboard.

A folder may also bring a published checkpoint instead of being pre-trained here (`trains: false` and
`weights:` in config.yaml, benchmark.weights), its own encoder (`build_encoder`), the input that encoder
expects (`input:`, benchmark.inputs) and how a batch becomes one feature vector (`features`). Such a row is
marked external on the leaderboard: it was pre-trained elsewhere, on other data.
"""
from __future__ import annotations

import contextlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from benchmark import paths, weights
from benchmark.config import REPO_ROOT, config_hash, read_yaml, validate
from benchmark.errors import BenchmarkError, ConfigError
from benchmark.io import stable_hash
from benchmark.params import check as check_params
from benchmark.paths import METHODS_DIR

METHOD_SCHEMA = REPO_ROOT / "workflow" / "schemas" / "method.schema.yaml"


class Method(nn.Module):
    """Base class. Subclasses set `title`, `paper` and implement `training_step`.

    `encoder` is what `build_encoder` returns: by default the shared ResNet18-1D ((B, 12, T) -> (B, 512),
    `encoder.feature_map` -> (B, 512, T/16)). `cfg` is the `params` section of the method's config.yaml plus run
    facts the loop adds: the input the method sees (`sampling_rate`, `n_samples`, `leads`: the store's, or the
    folder's `input:` declaration), `epochs`, `steps_per_epoch`, `text_dim` (when `needs_text`) and, for a folder
    with `weights:`, `weights` (file name -> local path of each checked file).
    Everything else (optimiser, epochs, batching, device, AMP, checkpoints, export, input adaptation) belongs to
    the benchmark.
    """

    title: str = ""
    paper: str = ""
    needs_text: bool = False   # the loop then adds batch["text_emb"] (frozen report embeddings)
    zero_shot: bool = False    # implements embed_ecg / embed_text into a shared ECG-text space
    # every key of config.yaml `params` -> the JSON schema of its value (benchmark.params); config.yaml must give
    # exactly these keys, so a misspelt one stops the run at start-up. Read them as cfg["key"].
    params_schema: dict = {}

    def __init__(self, encoder: nn.Module, cfg: dict):
        super().__init__()
        self.encoder = encoder
        self.cfg = dict(cfg)

    @classmethod
    def build_encoder(cls, cfg: dict) -> nn.Module:
        """The network this method trains or evaluates. Default: the shared ResNet18-1D over the input's leads.
        A folder that brings another architecture (e.g. a Hugging Face model) overrides this."""
        from benchmark.encoders import ResNet18_1D

        return ResNet18_1D(in_leads=len(cfg["leads"]))

    @property
    def feature_dim(self) -> int:
        """Size of the vectors `features` returns (checked after every extraction)."""
        if not hasattr(self.encoder, "out_dim"):
            raise ConfigError(f"{type(self.encoder).__name__} (the encoder build_encoder returned) has no out_dim: "
                              "override Method.feature_dim in method.py")
        return int(self.encoder.out_dim)

    def features(self, ecg: torch.Tensor) -> torch.Tensor:
        """(B, leads, T) in the method's input -> (B, feature_dim): what the linear probe sees. Default: the
        encoder's pooled output."""
        return self.encoder(ecg)

    def checkpoint_target(self) -> nn.Module:
        """The module a published checkpoint (config.yaml `weights:`) is loaded into, strictly. Default: the encoder."""
        return self.encoder

    def map_checkpoint_keys(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Rename a published checkpoint's keys beyond what config.yaml `weights.keys` can say (runs after it)."""
        return state

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

    @property
    def external(self) -> bool:
        """Evaluated from a published checkpoint (config.yaml `weights:`), not pre-trained here."""
        return bool(self.config.get("weights"))

    @property
    def pretrained_on(self) -> str | None:
        return self.config["weights"]["pretrained_on"] if self.external else None


@contextlib.contextmanager
def method_code(spec: MethodSpec, what: str):
    """Run a method folder's own code (`what`, e.g. its Method.__init__): an exception it raises becomes one error
    naming the folder and the line of the folder's code it came from, not a traceback from inside torch."""
    try:
        yield
    except BenchmarkError:
        raise
    except Exception as e:
        raise ConfigError(f"methods/{spec.name}: {what} failed{_origin(spec, e)}: {type(e).__name__}: "
                          f"{_first_line(e)}") from e


def _origin(spec: MethodSpec, e: BaseException) -> str:
    """' (at method.py line 12: <the line>)': the last line of the folder's own code an exception passed through."""
    frames = [f for f in traceback.extract_tb(e.__traceback__)
              if Path(f.filename).resolve().is_relative_to(spec.folder.resolve())]
    return f" (at {Path(frames[-1].filename).name} line {frames[-1].lineno}: {frames[-1].line})" if frames else ""


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [""])[0][:300]


def check_io(method: Method, spec: MethodSpec) -> None:
    """Run one batch of two zero records of the method's declared input through `features` (eval mode, no
    gradient, the random state untouched) and check what comes out against `feature_dim`: a folder whose
    encoder expects other leads or another length, or whose feature_dim is wrong, is stopped here, naming the
    folder and the setting, before anything is extracted, trained or written."""
    target, folder = method.input_spec, f"methods/{spec.name}"
    x = torch.zeros(2, len(target.leads), target.n_samples)
    was_training = method.training
    method.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            out = method.features(x)
    except Exception as e:
        declared = spec.config.get("input") or {}
        leads = ("" if "leads" in declared else
                 f" `input: leads` is not declared, so it gets the store's {len(target.leads)} leads; if the encoder "
                 "was trained on fewer, declare them by name.")
        raise ConfigError(
            f"{folder}: its encoder fails on a batch of the input it declares ({target.describe()}; "
            f"{len(target.leads)} leads {', '.join(target.leads)}){_origin(spec, e)}: {type(e).__name__}: "
            f"{_first_line(e)}. "
            f"Declare the input the encoder expects under `input:` (leads, sampling_rate, seconds) in "
            f"{spec.folder}/config.yaml.{leads}") from None
    finally:
        method.train(was_training)
    dim = method.feature_dim
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or tuple(out.shape) != (2, dim):
        shape = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ConfigError(f"{folder}: features() of a batch of 2 records returns {shape}, but feature_dim is {dim} "
                          f"(expected [2, {dim}]); fix feature_dim or features() in {spec.folder}/method.py "
                          "(feature_dim defaults to the encoder's out_dim)")


def build_method(spec: MethodSpec, config: dict, stored, text_dim: int | None = None, epochs: int = 0,
                 steps_per_epoch: int = 0):
    """A folder's method for signals stored as `stored`: its encoder (`build_encoder`) and heads, built for the input
    it declares (config.yaml `input:`, benchmark.inputs; `method.input_spec`). Not trained, not loaded. `stored`: the
    stored signals' benchmark.inputs.InputSpec."""
    target = stored.declared(spec.config.get("input"), f"{spec.folder}/config.yaml")
    cfg = dict(spec.config["params"], sampling_rate=target.sampling_rate, n_samples=target.n_samples,
               leads=list(target.leads), epochs=epochs, steps_per_epoch=steps_per_epoch)
    if spec.cls.needs_text:
        cfg["text_dim"] = text_dim
    if spec.external:  # every file is checked before build_encoder may read one (digests are remembered)
        weights.verify(config, spec)
        cfg["weights"] = {name: str(path) for name, path in weights.files(config, spec).items()}
    with method_code(spec, "build_encoder"):
        encoder = spec.cls.build_encoder(cfg)
    with method_code(spec, "Method.__init__"):
        method = spec.cls(encoder, cfg)
    method.input_spec = target
    check_io(method, spec)  # one batch through it now: a wrong input or feature_dim is named before any work
    return method


def run_seeds(config: dict, spec: MethodSpec) -> list[int]:
    """The seeds a method runs with: the preset's, or only the first for a published checkpoint (its weights do
    not depend on our seed, and its evaluation is deterministic: more seeds would repeat one number)."""
    return config["seeds"][:1] if spec.external else list(config["seeds"])


def _load_class(name: str, folder: Path) -> type:
    # one module per folder (two folders of the same name, e.g. a test's copy, never share a module)
    module_name = f"benchmark_methods.{name}_{stable_hash(str(folder.resolve()), 8)}"
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
                          "`class Method(benchmark.Method)` (copy methods/_template/, a complete method that trains) "
                          "or remove the folder")
    if not (folder / "config.yaml").is_file():
        raise ConfigError(f"method folder {folder} has no config.yaml; copy methods/_template/config.yaml and adapt it")
    config = validate(read_yaml(folder / "config.yaml"), METHOD_SCHEMA, f"{folder}/config.yaml")
    if config.get("weights") and config["trains"]:
        raise ConfigError(f"{folder}/config.yaml names weights: but trains: true; a published checkpoint is "
                          "evaluated as released: set trains: false")
    cls = _load_class(name, folder)
    check_params(folder, config["params"], cls.params_schema)
    spec = MethodSpec(name, folder, config, cls)
    if spec.external:
        weights.state_dict_file(spec)  # the file holding the tensors is known (or the error says how to name it)
    return spec


def _folders(root: Path) -> list[Path]:
    """Method folders under root: every folder whose name does not start with '_' or '.'."""
    return sorted(p for p in Path(root).iterdir() if p.is_dir() and p.name[0] not in "._")


def discover(root: str | Path = METHODS_DIR) -> dict[str, MethodSpec]:
    """Every method folder under root (default methods/), validated."""
    return {f.name: load_method(f) for f in _folders(root)}


def selection(config: dict) -> tuple[dict[str, MethodSpec], dict[str, str]]:
    """(the methods a preset runs, {folder: why} of those left out). `methods: all` runs every folder whose
    checkpoint this machine can get (benchmark.weights.unavailable) and leaves the others out, saying why; a
    list must name existing folders that can run."""
    root, wanted = paths.methods_dir(config), config.get("methods", "all")
    if wanted == "all":
        specs = discover(root)
    else:
        available = [f.name for f in _folders(root)]
        unknown = [m for m in wanted if m not in available]
        if unknown:
            raise ConfigError(f"config key `methods` names {unknown}, which have no folder under {root}; "
                              f"available: {available}")
        specs = {m: load_method(root / m) for m in wanted}
    left_out = {m: why for m, s in specs.items() if (why := weights.unavailable(config, s))}
    if left_out and wanted != "all":
        m = next(iter(left_out))
        raise ConfigError(f"config key `methods` names {m}, which cannot run on this machine: {left_out[m]}")
    return {m: s for m, s in specs.items() if m not in left_out}, left_out


def selected(config: dict) -> dict[str, MethodSpec]:
    """The methods a preset runs (see `selection`)."""
    return selection(config)[0]


def runnable(config: dict, name: str) -> MethodSpec:
    """One method folder of a preset, which must be able to run here (a step run by hand names why not)."""
    spec = load_method(paths.method_folder(name, paths.methods_dir(config)))
    why = weights.unavailable(config, spec)
    if why:
        raise ConfigError(f"methods/{name} cannot run on this machine: {why}")
    return spec


def freeze_selection(config: dict) -> tuple[dict[str, MethodSpec], dict[str, list[int]], dict[str, str], dict]:
    """The selection of a workflow run: (specs, each method's seeds, folders left out and why, the frozen record
    of all three). The workflow stores the record in the run's settings file (`run_selection`, see
    `run_settings`): the steps that gather every method's results (statistics, figures, board) read it there,
    so they see the methods the DAG was built with even if a checkpoint file appears or disappears while it
    runs. Nothing is written here."""
    specs, left_out = selection(config)
    frozen = {"methods": list(specs), "seeds": {m: run_seeds(config, s) for m, s in specs.items()},
              "left_out": left_out}
    return specs, frozen["seeds"], left_out, frozen


def run_settings(config: dict, frozen: dict) -> tuple[dict, Path]:
    """(the settings of one workflow run: the preset plus its frozen selection, and the file they go to). The file
    is named by the hash of its content (<results_dir>/settings/<hash>.json) and written once, after Snakemake
    holds its lock (the Snakefile's onstart), never rewritten: a second command on the same preset, refused,
    dry or running beside this one, cannot change what this run's jobs read."""
    settings = dict(config, run_selection=frozen)
    return settings, paths.results(config) / "settings" / f"{config_hash(settings)}.json"


def run_selection(config: dict) -> tuple[dict[str, MethodSpec], dict[str, list[int]], dict[str, str]]:
    """(specs, seeds, left out) of a workflow run: the selection frozen in its settings file (`run_selection`),
    or, for a preset given by hand, the selection made now."""
    frozen = config.get("run_selection")
    if frozen:
        root = paths.methods_dir(config)
        return ({m: load_method(root / m) for m in frozen["methods"]}, frozen["seeds"], frozen["left_out"])
    specs, left_out = selection(config)
    return specs, {m: run_seeds(config, s) for m, s in specs.items()}, left_out


def describe(config: dict | None = None) -> list[str]:
    """One line per method folder (`python -m benchmark methods`): name, title, paper, flags; with a preset,
    why a folder would be left out of it."""
    lines = []
    for name, spec in discover(paths.methods_dir(config or {})).items():
        flags = [f for f, on in (("text", spec.cls.needs_text), ("zero-shot", spec.cls.zero_shot),
                                 ("untrained", not spec.config["trains"]),
                                 (f"external: pre-trained on {spec.pretrained_on}", spec.external)) if on]
        why = weights.unavailable(config, spec) if config else None
        lines.append(f"{name:14s} {spec.title:18s} {spec.cls.paper}  [{', '.join(flags)}]"
                     + (f"\n{'':14s} left out here: {why}" if why else ""))
    return lines
