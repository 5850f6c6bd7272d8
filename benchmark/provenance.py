"""Which code made a result: the git commit, and fingerprints of the code itself.

A commit names a state of the repository but not of the working tree (uncommitted edits, a new method folder);
a fingerprint is a hash of the files' contents, so it says exactly which code ran. Two fingerprints:

- the shared code: everything under benchmark/ and workflow/ that can change a number (the leaderboard's
  rendering, benchmark/leaderboard.py and the paper's reference tables, is left out: it changes no result);
- one per method: the files of its folder methods/<name>/ other than its README.

Every step records both (with the commit); the Snakefile passes them as parameters, so a change re-runs exactly
the steps it affects, and the leaderboard marks a row whose code changed since it was computed.
No torch here: the light evaluation steps import this module too.
"""
from __future__ import annotations

import functools
import hashlib
import subprocess
from pathlib import Path

from benchmark.config import REPO_ROOT

# Shared code that decides results, relative to the repository root; RENDERING only draws the tables.
SHARED = ("benchmark", "workflow")
RENDERING = ("benchmark/leaderboard.py", "benchmark/reference")
_SKIP_PARTS = {"__pycache__", ".pytest_cache"}
_SKIP_SUFFIXES = {".pyc", ".md"}


def _files(root: Path, folders, exclude=()) -> list[Path]:
    out = []
    for folder in folders:
        base = root / folder
        candidates = [base] if base.is_file() else base.rglob("*")
        for p in candidates:
            rel = p.relative_to(root).as_posix()
            if (not p.is_file() or _SKIP_PARTS & set(p.parts) or p.suffix in _SKIP_SUFFIXES
                    or p.name.startswith(".") or any(rel == e or rel.startswith(e + "/") for e in exclude)):
                continue
            out.append(p)
    return sorted(out)


def fingerprint(files: list[Path], root: Path) -> str:
    """Short SHA-256 over (relative path, content) of each file."""
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:12]


@functools.lru_cache(maxsize=None)
def code_fingerprint(root: Path = REPO_ROOT) -> str:
    """The shared code's fingerprint (see the module docstring)."""
    return fingerprint(_files(root, SHARED, exclude=RENDERING), root)


@functools.lru_cache(maxsize=None)
def rendering_fingerprint(root: Path = REPO_ROOT) -> str:
    return fingerprint(_files(root, RENDERING), root)


def method_fingerprint(folder: str | Path) -> str:
    """A method folder's fingerprint: its method.py, config.yaml and any other code file, not its README."""
    folder = Path(folder)
    return fingerprint(_files(folder, ["."]), folder)


def code_commit(root: Path = REPO_ROOT) -> str:
    """Short commit of HEAD, with '-dirty' when tracked files differ from it; 'unknown' outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(method_folder: str | Path | None = None) -> dict:
    """The provenance fields every step writes: commit and fingerprints."""
    out = {"commit": code_commit(), "code_fingerprint": code_fingerprint()}
    if method_folder is not None:
        out["method_fingerprint"] = method_fingerprint(method_folder)
    return out
