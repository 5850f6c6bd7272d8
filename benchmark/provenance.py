"""Which code made a result: the git commit, and fingerprints of the code itself.

A commit names a state of the repository but not of the working tree (uncommitted edits, a new method folder);
a fingerprint is a hash of the files' contents, so it says exactly which code ran. Each workflow step has its own
fingerprint, over the code it runs (benchmark.stepcode: its rule, its command, the modules it imports and, for a
step of one method, that method's folder), so a change re-runs exactly the steps that run it.

Only code and data files count (.py, .smk, Snakefile, .yaml, .csv, .json; nothing under a hidden folder), and
they are compared by what they do, not how they are written: Python as its syntax tree without docstrings,
YAML as its parsed value, Snakemake files without comment lines. Editing a comment or a docstring re-runs
nothing; changing a line of code re-runs every step that runs it.

Every step writes a code record beside its result (`step_record`): its own fingerprint and commit, and those of
the steps whose outputs it read (`chain`), so a metrics file names every step it rests on. The leaderboard
compares each with the fingerprint the same step has in the working tree (`changed_steps`): a row is stale when
a step it rests on ran other code, whatever else changed, and results computed at several commits form one board
when every step they rest on ran the code of this tree.
No torch here: the light evaluation steps import this module too.
"""
from __future__ import annotations

import ast
import hashlib
import json
import subprocess
from pathlib import Path

import yaml

from benchmark.config import REPO_ROOT, yaml_load

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


def strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree


def normalised(path: Path, tree: ast.AST | None = None) -> bytes:
    """A file's content as far as behaviour goes (see the module docstring); the raw bytes when it does not parse.
    `tree`: the Python file already parsed (it is changed)."""
    if tree is not None:
        return ast.dump(strip_docstrings(tree)).encode()
    raw = path.read_bytes()
    try:
        if path.suffix == ".py":
            return ast.dump(strip_docstrings(ast.parse(raw))).encode()
        if path.suffix in (".yaml", ".yml"):
            return json.dumps(yaml_load(raw), sort_keys=True, default=str).encode()
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


def step_record(command: str, method_folder: str | Path | None = None, source: str | None = None,
                dataset: str | None = None, task: str | None = None) -> dict:
    """The code record of the step running `command` now, in this process: {key: {step, its method, dataset or
    task, fingerprint, commit}} (benchmark.stepcode.fingerprint)."""
    from benchmark import stepcode

    entry = {"step": command, "fingerprint": stepcode.fingerprint(command, method_folder, source),
             "commit": code_commit()}
    if method_folder is not None:
        entry["method"] = Path(method_folder).name
    if source is not None:
        entry["source"] = source
    entry.update({k: v for k, v in (("dataset", dataset), ("task", task)) if v is not None})
    return {step_key(entry): entry}


def step_key(entry: dict) -> str:
    """'linear/etp', 'prepare/ptbxl' (a dataset), 'compare/ptbxl_super' style keys of a code record."""
    qualifier = entry.get("method") or entry.get("dataset") or entry.get("task")
    return f"{entry['step']}/{qualifier}" if qualifier else entry["step"]


def chain(*records: dict | None) -> dict:
    """One code record from the records of the inputs a step read and its own (the last one wins a key)."""
    out = {}
    for r in records:
        out.update(r or {})
    return out


def changed_steps(record: dict, methods_dir: str | Path) -> list[str]:
    """Why a result no longer describes the working tree's code: one line per step of `record` (its entries; the
    keys are not read) whose fingerprint differs from the same step's now (empty: every step it rests on ran this
    tree's code)."""
    from benchmark import stepcode

    reasons = []
    for entry in sorted(record.values(), key=step_key):
        folder = Path(methods_dir) / entry["method"] if entry.get("method") else None
        try:
            now = stepcode.fingerprint(entry["step"], folder, entry.get("source"))
        except Exception as e:  # a step, method folder or source this code no longer has
            now = f"none ({e})"
        if now != entry.get("fingerprint"):
            reasons.append(f"the code of step {step_key(entry)} changed since it ran (at commit {entry.get('commit')})")
    return reasons
