"""The files of a published checkpoint a method folder brings (config.yaml `weights:`): where they live, whether
this machine has them, fetching them, and checking them against their SHA-256 before anything reads them.

```yaml
weights:
  pretrained_on: MIMIC-IV-ECG, 800,035 ECGs with reports     # shown beside the row on the leaderboard
  files:
    res18_best_encoder.pth:
      url: https://...        # fetched once into <cache_dir>/weights/<method>/<name> (resumable, verified)
      path: ...               # or a local file (absolute, or relative to the method folder)
      page: https://...       # where a person gets it by hand (named when the file is missing)
      sha256: 0123...         # required to use the file; null = not pinned yet (the folder is left out)
  state_dict: res18_best_encoder.pth   # the file holding the tensors (default: the only weights-like file)
  state_dict_key: null                 # an entry of a .pt dict holding them
  keys: {select: ..., strip_prefix: [...], rename: {...}, drop: [...]}   # benchmark.checkpoints.map_keys
```

A file with neither `url` nor `path` is put by hand at its cache location. Downloads use the PhysioNet
downloader (benchmark.data.download: `.part` files resumed with Range requests, retries, renamed only after
the checksum matched). A file's SHA-256 is computed once per (path, size, modification time) and remembered
in <cache_dir>/weights/.verified/, so the workflow can check every present file at start-up (a file that is
not the pinned one stops the run before anything else does) without hashing it again on every start.
No torch here: the workflow asks `unavailable` at start-up.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from benchmark import paths
from benchmark.data.download import DownloadError, MissingOnServer, Unreachable, download_file, sha256_file
from benchmark.errors import BenchmarkError, ConfigError
from benchmark.io import atomic_path, stable_hash

WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")


class WeightsError(BenchmarkError):
    """A checkpoint file that is missing or not the pinned one; the message names the file and the fix."""


def cache_path(config: dict, method: str, name: str) -> Path:
    return paths.weights_cache(config) / method / name


def location(config: dict, spec, name: str) -> Path:
    """Where file `name` of a folder's weights is read from: its `path`, else its cache location."""
    entry = _entry(spec, name)
    if entry.get("path"):
        path = Path(os.path.expanduser(entry["path"]))
        return path if path.is_absolute() else spec.folder / path
    return cache_path(config, spec.name, name)


def files(config: dict, spec) -> dict[str, Path]:
    """name -> location of every file of a folder's weights ({} for a folder without weights)."""
    weights = spec.config.get("weights")
    return {name: location(config, spec, name) for name in weights["files"]} if weights else {}


def _entry(spec, name: str) -> dict:
    found = spec.config["weights"]["files"]
    if name not in found:
        raise ConfigError(f"{_shown(spec.folder)}/config.yaml lists no file {name!r} under weights.files "
                          f"(it lists {sorted(found)})")
    return found[name]


def state_dict_file(spec) -> str:
    """The file of a folder's weights that holds the tensors: `weights.state_dict`, or the only weights-like one."""
    weights = spec.config["weights"]
    if weights.get("state_dict"):
        _entry(spec, weights["state_dict"])
        return weights["state_dict"]
    found = [n for n in weights["files"] if n.endswith(WEIGHT_SUFFIXES)]
    if len(found) != 1:
        raise ConfigError(f"{_shown(spec.folder)}/config.yaml: weights.files has {len(found)} weights files "
                          f"({found}); name the one holding the tensors with weights.state_dict")
    return found[0]


def _shown(path: Path) -> str:
    """A path as a message shows it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _pin(spec, name: str) -> str:
    return f"weights.files.{name}.sha256 in {_shown(spec.folder)}/config.yaml"


def _by_hand(config: dict, spec, name: str) -> str:
    entry = _entry(spec, name)
    where = entry.get("page") or entry.get("url")
    return (f"put it by hand at {_shown(location(config, spec, name))}" + (f" (from {where})" if where else "")
            + (f", SHA-256 {entry['sha256']}" if entry.get("sha256") else ""))


def digest(config: dict, path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, modification time) under <cache_dir>/weights/.verified/."""
    stat = path.stat()
    key = {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    stamp = paths.weights_cache(config) / ".verified" / f"{stable_hash(key['path'], 16)}.json"
    try:
        saved = json.loads(stamp.read_text())
        if {k: saved.get(k) for k in key} == key:
            return saved["sha256"]
    except (OSError, ValueError, KeyError):
        pass
    value = sha256_file(path)
    with atomic_path(stamp) as tmp:
        tmp.write_text(json.dumps({**key, "sha256": value}))
    return value


def _mismatch(spec, name: str, path: Path, found: str) -> WeightsError:
    return WeightsError(
        f"methods/{spec.name}: {_shown(path)} has SHA-256 {found}, but {_pin(spec, name)} pins "
        f"{_entry(spec, name)['sha256']}: it is another file (a different release, or damaged). Replace it with the "
        "published file, or, if you have checked that this one is what you mean to evaluate, pin its checksum there")


def unavailable(config: dict, spec) -> str | None:
    """Why this machine cannot evaluate a folder's checkpoint in this preset (None: it can). A file present on
    this machine is checked against its pin here (a mismatch raises WeightsError: the file is meant to be used,
    so it stops the run rather than leaving the folder out)."""
    if not spec.config.get("weights"):
        return None
    for name, entry in spec.config["weights"]["files"].items():
        if entry.get("sha256") is None:
            where = entry.get("page") or entry.get("url") or "its publisher"
            return f"no SHA-256 is pinned for {name}: check the file's checksum at {where} and set {_pin(spec, name)}"
        path = location(config, spec, name)
        if path.is_file():
            found = digest(config, path)
            if found != entry["sha256"]:
                raise _mismatch(spec, name, path, found)
            continue
        if entry.get("path"):
            return f"{name} is not at {_shown(path)} (weights.files.{name}.path)"
        if not entry.get("url"):
            return f"{name} is not on this machine: {_by_hand(config, spec, name)}"
        if not config["download"]["weights"]:
            return (f"{name} is not in {_shown(path.parent)} and this preset downloads no weights (download.weights: "
                    f"false); the paper preset fetches it, or {_by_hand(config, spec, name)}")
    return None


def to_fetch(spec) -> list[str]:
    """Files of a folder's weights the workflow downloads: those with a url and no local path."""
    weights = spec.config.get("weights") or {"files": {}}
    return [n for n, e in weights["files"].items() if e.get("url") and not e.get("path")]


def fetch(config: dict, spec, name: str) -> Path:
    """Download file `name` of a folder's weights into the cache (once; resumed; verified)."""
    entry, dest = _entry(spec, name), cache_path(config, spec.name, name)
    if name not in to_fetch(spec):
        raise ConfigError(f"methods/{spec.name}: {name} has no url to fetch it from (weights.files.{name}); "
                          f"{_by_hand(config, spec, name)}")
    if entry["sha256"] is None:
        raise WeightsError(f"methods/{spec.name}: {unavailable(config, spec)}; nothing unverified is downloaded")
    dl = config["download"]
    try:
        outcome = download_file(entry["url"], dest, entry["sha256"], retries=dl["retries"], backoff=dl["backoff"],
                                timeout=dl["timeout"], pinned_by=_pin(spec, name))
    except (Unreachable, MissingOnServer) as e:
        raise type(e)(f"methods/{spec.name}: {e}. If this machine cannot download it, "
                      f"{_by_hand(config, spec, name)}") from None
    except DownloadError as e:   # a checksum mismatch: the pin or the release changed; a copy by hand would not help
        raise type(e)(f"methods/{spec.name}: {e}") from None
    print(f"methods/{spec.name}: {name} {outcome} and verified ({_shown(dest)})")
    return dest


def verify(config: dict, spec) -> dict[str, dict]:
    """Check every file of a folder's weights against its pinned SHA-256; return what the provenance records:
    name -> {sha256, source, bytes}."""
    out = {}
    for name, path in files(config, spec).items():
        entry = _entry(spec, name)
        if entry.get("sha256") is None:
            raise WeightsError(f"methods/{spec.name}: {unavailable(config, spec)}")
        if not path.is_file():
            how = (f"run the workflow (or `python -m benchmark fetch-weights --config <preset> --method {spec.name} "
                   f"--file {name}`), or {_by_hand(config, spec, name)}") if name in to_fetch(spec) else \
                _by_hand(config, spec, name)
            raise WeightsError(f"methods/{spec.name}: {name} is not at {_shown(path)}: {how}")
        found = digest(config, path)
        if found != entry["sha256"]:
            raise _mismatch(spec, name, path, found)
        out[name] = {"sha256": found, "source": entry.get("url") or entry.get("page") or str(path),
                     "bytes": path.stat().st_size}
    return out
