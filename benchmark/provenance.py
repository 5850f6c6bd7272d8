"""Which code made a result: the git commit, and fingerprints of the code itself.

A commit names a state of the repository but not of the working tree (uncommitted edits, a new method folder);
a fingerprint is a hash of the files' contents, so it says exactly which code ran. Two fingerprints:

- the shared code: everything under benchmark/ and workflow/ that can change a number (the leaderboard's
  rendering, benchmark/leaderboard/, the figures and the paper's reference tables, is left out: it changes no
  result; so are the Snakemake profiles, workflow/profiles/, which say where jobs run and with what resources);
- one per method: the files of its folder methods/<name>/ other than its README.

Only code and data files count (.py, .smk, Snakefile, .yaml, .csv, .json; nothing under a hidden folder), and
they are compared by what they do, not how they are written: Python as its syntax tree without docstrings,
YAML as its parsed value, Snakemake files without comment lines. Editing a comment or a docstring re-runs
nothing; changing a line of code re-runs every step that runs it.

Every step records both (with the commit); the Snakefile passes them as parameters, so a change re-runs exactly
the steps it affects, and the leaderboard marks a row whose code changed since it was computed.
No torch here: the light evaluation steps import this module too.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import subprocess
from pathlib import Path

import yaml

from benchmark.config import REPO_ROOT

# Shared code that decides results, relative to the repository root; RENDERING only draws the tables, EXECUTION
# only says where and with which resources the jobs run (Snakemake profiles: threads, memory, SLURM requests).
SHARED = ("benchmark", "workflow")
RENDERING = ("benchmark/leaderboard", "benchmark/reference", "benchmark/evaluate/plots.py")
EXECUTION = ("workflow/profiles",)
CODE_SUFFIXES = {".py", ".smk", ".yaml", ".yml", ".csv", ".json"}


def _files(root: Path, folders, exclude=()) -> list[Path]:
    out = []
    for folder in folders:
        base = root / folder
        candidates = [base] if base.is_file() else base.rglob("*")
        for p in candidates:
            rel = p.relative_to(root)
            if (not p.is_file() or (p.suffix not in CODE_SUFFIXES and p.name != "Snakefile")
                    or any(part.startswith(".") or part == "__pycache__" for part in rel.parts)
                    or any(rel.as_posix() == e or rel.as_posix().startswith(e + "/") for e in exclude)):
                continue
            out.append(p)
    return sorted(out)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def normalised(path: Path) -> bytes:
    """A file's content as far as behaviour goes (see the module docstring); the raw bytes when it does not parse."""
    raw = path.read_bytes()
    try:
        if path.suffix == ".py":
            return ast.dump(_strip_docstrings(ast.parse(raw))).encode()
        if path.suffix in (".yaml", ".yml"):
            return json.dumps(yaml.safe_load(raw), sort_keys=True, default=str).encode()
        if path.suffix == ".smk" or path.name == "Snakefile":
            return b"\n".join(ln for ln in raw.splitlines() if ln.strip() and not ln.lstrip().startswith(b"#"))
    except (SyntaxError, ValueError, yaml.YAMLError):
        pass
    return raw


def fingerprint(files: list[Path], root: Path) -> str:
    """Short SHA-256 over (relative path, normalised content) of each file."""
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + normalised(p) + b"\0")
    return h.hexdigest()[:12]


@functools.lru_cache(maxsize=None)
def code_fingerprint(root: Path = REPO_ROOT) -> str:
    """The shared code's fingerprint (see the module docstring)."""
    return fingerprint(_files(root, SHARED, exclude=RENDERING + EXECUTION), root)


@functools.lru_cache(maxsize=None)
def rendering_fingerprint(root: Path = REPO_ROOT) -> str:
    return fingerprint(_files(root, RENDERING), root)


def method_fingerprint(folder: str | Path) -> str:
    """A method folder's fingerprint: its method.py, config.yaml and any other code file, not its README."""
    folder = Path(folder)
    return fingerprint(_files(folder, ["."]), folder)


# What "-dirty" looks at: the code and presets. An edited README or a just-published leaderboard.md leave the
# commit an exact description of the code that ran; an edited or new (untracked) method file does not.
CODE_PATHS = ("benchmark", "workflow", "methods", "config", "pyproject.toml")


def code_commit(root: Path = REPO_ROOT) -> str:
    """Short commit of HEAD, with '-dirty' when code or presets differ from it (CODE_PATHS, untracked files
    included); 'unknown' outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--", *CODE_PATHS], cwd=root,
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
