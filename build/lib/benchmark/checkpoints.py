r"""Reading tensors from checkpoint files without running code from them, renaming their keys, loading strictly.

- `.safetensors` files are read with safetensors (a header and raw tensors: nothing to execute).
- Every other file (`.pt`, `.pth`, `.bin`, `.ckpt`, our training checkpoints) is read with
  `torch.load(weights_only=True)`, which refuses any pickled object other than tensors and plain data. A
  refusal is reported as such, naming the object the file wanted imported; the file is never unpickled.
- A published checkpoint's keys rarely match our module names. `map_keys` applies a folder's rules, in this
  order: `select` (keep only keys in which a regex is found, e.g. `ecg_encoder\.` for the encoder of a whole
  pre-training model, with or without a `module.` in front), `strip_prefix` (each prefix in turn, e.g.
  `[module., ecg_encoder.]`), `rename` (regex -> replacement, in the order given), `drop` (regexes of keys to
  leave out, e.g. a classification head). No rule may map two keys onto one. The method's
  `map_checkpoint_keys` runs last.
- `load_strict` loads the result into a module only if every key and shape matches, and otherwise lists the
  missing keys, the unexpected keys and the shape mismatches in one error.
"""
from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch
from torch import nn

from benchmark.errors import BenchmarkError

SHOWN = 5  # keys shown per kind of mismatch


class CheckpointError(BenchmarkError):
    """A checkpoint that cannot be read or does not fit; the message names the file and the fix."""


def torch_load(path: str | Path, what: str, remedy: str, refused: str | None = None):
    """`torch.load(path, weights_only=True)` onto the CPU; errors name `what` (e.g. "the checkpoint"), the file
    and `remedy` (`refused`, when given, replaces it for a file that asks to be unpickled)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL (\S+)", str(e))  # torch names the first object it would have had to import
        held = f"a reference to {found.group(1)}" if found else "objects other than tensors and plain data"
        raise CheckpointError(f"refusing to load {what} {path}: it holds {held}, which only unpickling could "
                              f"rebuild (code from the file would run). It was not unpickled. "
                              f"{refused or remedy}") from None
    except FileNotFoundError:
        raise CheckpointError(f"{what} {path} does not exist. {remedy}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"cannot read {what} {path} ({type(e).__name__}: {str(e)[:160]}). {remedy}") from None


def read_tensors(path: str | Path, key: str | None = None, remedy: str = "", where: str = "") -> dict[str, torch.Tensor]:
    """The name -> tensor mapping of a weights file; `key` picks it out of a dict that holds more than tensors
    (e.g. {"epoch": 3, "state_dict": {...}}). `where` (e.g. "methods/merl_resnet18: ") starts every error."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        if key is not None:
            raise CheckpointError(f"{where}{path} is a safetensors file, a flat mapping of names to tensors: it has no "
                                  f"entry {key!r}; remove weights.state_dict_key. {remedy}")
        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"cannot read {path} as safetensors ({e}). {remedy}") from None
    obj = torch_load(path, "the published checkpoint", remedy,
                     refused=f"Ask its publisher for a safetensors copy (or a plain state dict), or convert it on a "
                             f"machine you trust. {remedy}")
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            found = sorted(obj)[:10] if isinstance(obj, dict) else type(obj).__name__
            raise CheckpointError(f"{where}{path} has no entry {key!r} (found {found}); set weights.state_dict_key in "
                                  "the method's config.yaml to the entry holding the tensors")
        obj = obj[key]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{where}{path} holds a {type(obj).__name__}, not a mapping of names to tensors")
    other = sorted(k for k, v in obj.items() if not isinstance(v, torch.Tensor))
    if other:
        hint = next((k for k in ("state_dict", "model_state_dict", "model", "encoder") if k in obj), None)
        kinds = ", ".join(f"{k!r} ({type(obj[k]).__name__})" for k in other[:SHOWN])
        raise CheckpointError(f"{where}{path} holds entries that are not tensors: {kinds}"
                              + (f" and {len(other) - SHOWN} more" if len(other) > SHOWN else "")
                              + "; set weights.state_dict_key in the method's config.yaml to the entry holding the "
                              "tensors" + (f" (probably {hint!r})" if hint else ""))
    return obj


def map_keys(state: dict[str, torch.Tensor], rules: dict | None, where: str = "") -> dict[str, torch.Tensor]:
    """Apply a folder's key rules (select, strip_prefix, rename, drop; see the module docstring). `where` (e.g.
    "methods/merl_resnet18: ") starts every error."""
    rules = rules or {}
    out = dict(state)
    if rules.get("select"):
        pattern = re.compile(rules["select"])
        out = {k: v for k, v in out.items() if pattern.search(k)}
        if not out:
            raise CheckpointError(f"{where}weights.keys.select {rules['select']!r} matches none of the checkpoint's keys "
                                  f"(e.g. {_sample(state)}); the regex is searched anywhere in a key")

    def rekey(rule: str, fn) -> None:
        nonlocal out
        renamed, source = {}, {}
        for k, v in out.items():
            new = fn(k)
            if new in renamed:
                raise CheckpointError(f"{where}weights.keys.{rule} maps two of the checkpoint's keys, {source[new]!r} "
                                      f"and {k!r}, onto {new!r}; make the rule tell them apart (or drop one first)")
            renamed[new], source[new] = v, k
        out = renamed

    for prefix in rules.get("strip_prefix", []):
        rekey(f"strip_prefix {prefix!r}", lambda k: k.removeprefix(prefix))
    for pattern, replacement in (rules.get("rename") or {}).items():
        rekey(f"rename {pattern!r} -> {replacement!r}", lambda k: re.sub(pattern, replacement, k))
    for pattern in rules.get("drop", []):
        regex = re.compile(pattern)
        out = {k: v for k, v in out.items() if not regex.search(k)}
    return out


def _sample(keys, n: int = SHOWN) -> str:
    keys = sorted(keys)
    return ", ".join(keys[:n]) + (f", ... ({len(keys) - n} more)" if len(keys) > n else "")


def load_strict(module: nn.Module, state: dict[str, torch.Tensor], what: str, remedy: str) -> None:
    """Load `state` into `module` only if its keys and shapes are exactly the module's; otherwise one error that
    lists what is missing, what is unexpected and what has another shape (`what` names folder and file)."""
    expected = module.state_dict()
    missing = set(expected) - set(state)
    unexpected = set(state) - set(expected)
    shapes = sorted(k for k in set(state) & set(expected) if tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or shapes:
        lines = [f"cannot load {what}: its tensors do not fit the model"]
        if missing:
            lines.append(f"  {len(missing)} key(s) of the model missing from the checkpoint: {_sample(missing)}")
        if unexpected:
            lines.append(f"  {len(unexpected)} key(s) of the checkpoint unknown to the model: {_sample(unexpected)}")
        if shapes:
            lines.append(f"  {len(shapes)} shape mismatch(es): " + "; ".join(
                f"{k} checkpoint {list(state[k].shape)} vs model {list(expected[k].shape)}" for k in shapes[:SHOWN]))
        lines.append(f"  {remedy}")
        raise CheckpointError("\n".join(lines))
    module.load_state_dict(state, strict=True)


def load_published(method: nn.Module, spec, config: dict) -> dict:
    """Load a folder's published checkpoint into `method.checkpoint_target()`: every file checked against its
    pinned SHA-256 first (benchmark.weights.verify), the tensors read without unpickling, the keys mapped by
    config.yaml `weights.keys` and then `method.map_checkpoint_keys`, loaded strictly. Returns what the provenance
    records of the files."""
    from benchmark import weights
    from benchmark.method import method_code

    record = weights.verify(config, spec)
    cfg = spec.config["weights"]
    name = weights.state_dict_file(spec)
    path = weights.location(config, spec, name)
    folder = f"methods/{spec.name}"
    where = f"{folder}: "
    state = read_tensors(path, cfg.get("state_dict_key"), f"Check weights.files.{name} in {folder}/config.yaml",
                         where=where)
    state = map_keys(state, cfg.get("keys"), where=f"{folder}/config.yaml ")
    with method_code(spec, "map_checkpoint_keys"):
        state = method.map_checkpoint_keys(state)
    load_strict(method.checkpoint_target(), state, f"{folder}: {name} ({path}), after its key mapping,",
                f"Fix the mapping (weights.keys in {folder}/config.yaml, or map_checkpoint_keys in its method.py); "
                "shape mismatches usually mean another architecture than the checkpoint's (build_encoder, or the "
                "architecture file it reads). README.md, 'Bringing a published checkpoint'")
    return record
