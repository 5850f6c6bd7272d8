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
the checksum matched), and its errors, with where to put the file by hand added. No torch here: the workflow
asks `unavailable` at start-up.
"""
from __future__ import annotations

import os
from pathlib import Path

from benchmark import paths
from benchmark.data.download import DownloadError, download_file, sha256_file
from benchmark.errors import BenchmarkError

WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")


class WeightsError(BenchmarkError):
    """A checkpoint file that is missing or not the pinned one; the message names the file and the fix."""


def cache_path(config: dict, method: str, name: str) -> Path:
    return paths.weights_cache(config) / method / name


def location(config: dict, spec, name: str) -> Path:
    """Where file `name` of a folder's weights is read from: its `path`, else its cache location."""
    entry = spec.config["weights"]["files"][name]
    if entry.get("path"):
        path = Path(os.path.expanduser(entry["path"]))
        return path if path.is_absolute() else spec.folder / path
    return cache_path(config, spec.name, name)


def files(config: dict, spec) -> dict[str, Path]:
    """name -> location of every file of a folder's weights ({} for a folder without weights)."""
    weights = spec.config.get("weights")
    return {name: location(config, spec, name) for name in weights["files"]} if weights else {}


def state_dict_file(spec) -> str:
    """The file of a folder's weights that holds the tensors: `weights.state_dict`, or the only weights-like one."""
    weights = spec.config["weights"]
    if weights.get("state_dict"):
        return weights["state_dict"]
    found = [n for n in weights["files"] if n.endswith(WEIGHT_SUFFIXES)]
    if len(found) != 1:
        raise WeightsError(f"{spec.folder}/config.yaml: weights.files has {len(found)} weights files ({found}); "
                           "name the one holding the tensors with weights.state_dict")
    return found[0]


def _shown(path: Path) -> str:
    """A path as a message shows it: relative to the working directory when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _by_hand(config: dict, spec, name: str) -> str:
    entry = spec.config["weights"]["files"][name]
    where = entry.get("page") or entry.get("url")
    return (f"put it by hand at {_shown(location(config, spec, name))}" + (f" (from {where})" if where else "")
            + (f", SHA-256 {entry['sha256']}" if entry.get("sha256") else ""))


def unavailable(config: dict, spec) -> str | None:
    """Why this machine cannot evaluate a folder's checkpoint in this preset (None: it can). Looks at file
    presence only; the checksums are checked when the files are used (`verify`)."""
    if not spec.config.get("weights"):
        return None
    for name, entry in spec.config["weights"]["files"].items():
        if entry.get("sha256") is None:
            where = entry.get("page") or entry.get("url") or "its publisher"
            return (f"no SHA-256 is pinned for {name}: check the file's checksum at {where} and set "
                    f"weights.files.{name}.sha256 in {_shown(spec.folder)}/config.yaml")
        path = location(config, spec, name)
        if path.is_file():
            continue
        if entry.get("path"):
            return f"{name} is not at {_shown(path)} (weights.files.{name}.path)"
        if not entry.get("url"):
            return f"{name} is not on this machine: {_by_hand(config, spec, name)}"
        if not config["download"]["weights"]:
            return (f"{name} is not in {_shown(path.parent)} and this preset downloads no weights (download.weights: false); "
                    f"the paper preset fetches it, or {_by_hand(config, spec, name)}")
    return None


def to_fetch(config: dict, spec) -> list[str]:
    """Files of a folder's weights the workflow downloads: those with a url and no local path."""
    weights = spec.config.get("weights") or {"files": {}}
    return [n for n, e in weights["files"].items() if e.get("url") and not e.get("path")]


def fetch(config: dict, spec, name: str) -> Path:
    """Download file `name` of a folder's weights into the cache (once; resumed; verified)."""
    entry, dest = spec.config["weights"]["files"][name], cache_path(config, spec.name, name)
    dl = config["download"]
    try:
        outcome = download_file(entry["url"], dest, entry["sha256"], retries=dl["retries"], backoff=dl["backoff"],
                                timeout=dl["timeout"])
    except DownloadError as e:
        raise type(e)(f"methods/{spec.name}: {e}. If this machine cannot download it, "
                      f"{_by_hand(config, spec, name)}") from None
    print(f"methods/{spec.name}: {name} {outcome} and verified ({_shown(dest)})")
    return dest


def verify(config: dict, spec) -> dict[str, dict]:
    """Check every file of a folder's weights against its pinned SHA-256; return what the provenance records:
    name -> {sha256, source, bytes}."""
    out = {}
    for name, path in files(config, spec).items():
        entry = spec.config["weights"]["files"][name]
        if entry.get("sha256") is None or not path.is_file():
            raise WeightsError(f"methods/{spec.name}: {unavailable(config, spec)}")
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            raise WeightsError(
                f"methods/{spec.name}: {_shown(path)} has SHA-256 {digest}, but config.yaml pins {entry['sha256']} "
                f"for {name}: it is another file (a different release, or damaged). Replace it with the published "
                f"file, or, if you have checked that this one is what you mean to evaluate, pin its checksum "
                f"(weights.files.{name}.sha256 in {_shown(spec.folder)}/config.yaml)")
        out[name] = {"sha256": digest, "source": entry.get("url") or entry.get("page") or str(path),
                     "bytes": path.stat().st_size}
    return out
