"""Crash-safe file writing: a half-written file is never taken for a finished one.

Every output is written under a temporary name in the same folder and renamed into place only when
complete (os.replace is atomic on POSIX), so an interrupted run leaves either the old file or nothing.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Iterator
from benchmark.errors import BenchmarkError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | os.PathLike, obj) -> None:
    """Strict JSON (NaN and infinities, e.g. the AUC of a class without test positives, become null)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_finite(obj), indent=2, sort_keys=False, default=_json_default,
                                  allow_nan=False) + "\n")


def _finite(o):
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if hasattr(o, "tolist") and hasattr(o, "ndim"):  # numpy / torch arrays and scalars
        return _finite(o.tolist())
    return o


def write_npz(path: str | os.PathLike, **arrays) -> None:
    """Arrays to an .npz file, atomically (np.savez on a path would append .npz to the temporary name)."""
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def read_json(path: str | os.PathLike):
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise BenchmarkError(f"{path} does not exist; run the step that produces it first") from None
    except json.JSONDecodeError as e:
        raise BenchmarkError(f"{path} is not valid JSON ({e}); delete it and re-run the step that writes it") from None


def _json_default(o):
    if hasattr(o, "item"):  # numpy / torch scalars
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot serialise {type(o).__name__} to JSON")


def stable_hash(obj, length: int = 12) -> str:
    """Short SHA-256 of a JSON-serialisable object with sorted keys (config hashes, cache keys)."""
    blob = json.dumps(obj, sort_keys=True, default=_json_default).encode()
    return hashlib.sha256(blob).hexdigest()[:length]
