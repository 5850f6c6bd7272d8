"""Which code a workflow step runs, read from the code itself: its rule, its command and the modules it imports.

A step is one rule running `python -m benchmark <command>` (benchmark/__main__.py). Its code is
  - the rule's text in workflow/ (comment lines and the rule's docstring left out);
  - the command's function in benchmark/__main__.py, and the helpers there every command shares;
  - every module of benchmark/ that function imports, transitively. An import inside a function counts like one
    at the top: it runs whenever the function does. Importing `a.b.c` also runs the top level of the packages
    `a` and `a.b`, so their __init__.py count, with what *their* top level imports (not what their functions
    import: those run only when called, by a step that imports the package by name);
  - the data files of benchmark/ a module names (e.g. "csn_split.csv" in benchmark/data/csn.py);
  - for a step of one method (pretrain, features, linear, zeroshot): the method's folder (method.py,
    config.yaml, any other code file) and the modules of benchmark/ its files import;
  - for a data preparation: the module of the dataset's source, which benchmark.data.sources names and the
    preparation imports by that name.

There is no list of files per step to keep up to date: add an import and the step's fingerprint covers the new
module. Files are compared by what they do, not how they are written (benchmark.provenance.normalised: comments,
docstrings and layout change nothing). The workflow passes each step's fingerprint to its rule as a parameter, so
Snakemake re-runs exactly the steps whose code changed (and, through their outputs, the steps after them); every
step records its fingerprint beside its result, so the board can say which result rests on code that has changed
since (benchmark.provenance.step_record). `python -m benchmark steps` prints what each step's fingerprint covers
(benchmark/steps.py: not here, since every step's fingerprint covers this module).
No torch here: the workflow imports this module while it builds the DAG.
"""
from __future__ import annotations

import ast
import copy
import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from benchmark.config import REPO_ROOT
from benchmark.errors import ConfigError
from benchmark.provenance import method_fingerprint, normalised, strip_docstrings

PACKAGE = "benchmark"
# data files a module may name (by file name, in a string constant): read at run time, so they are its code too
DATA_SUFFIXES = {".csv", ".json", ".yaml", ".yml"}
# (workflow/schemas/ is not among them: a schema's defaults and checks reach a step as the settings it validated,
# which the rules hash as parameters)
DATA_FOLDERS = ("benchmark",)
RULE_FILES = ("workflow/Snakefile", "workflow/rules")
# the steps of one method, whose fingerprint covers its folder (benchmark/__main__.py's --method commands)
METHOD_STEPS = ("pretrain", "features", "linear", "zeroshot")
# the steps of one dataset source, whose fingerprint covers its module (benchmark.data.sources)
SOURCE_STEPS = ("prepare", "prepare-index", "prepare-shard")
# The modules that identify code rather than run it: this one and benchmark.provenance (records, commits). Every
# step imports them to record what ran; they change no number a step writes, and a change to how fingerprints are
# computed shows in the fingerprints themselves (every rule's `code` parameter changes, so every step re-runs), so
# they are not part of any step's fingerprint: fixing or refactoring them re-runs nothing that would come out the
# same.
IDENTIFYING = ("benchmark.stepcode", "benchmark.provenance")
# steps whose rules take no code fingerprint: what they fetch is checked against a pinned SHA-256, and fetching
# gigabytes again because their code changed would change no byte
UNTRACKED = ("download", "fetch-weights", "fetch-prompts")


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    package: bool
    top: frozenset      # (module, mode) imported by the top level; mode "run" or "parent" (see _targets)
    inner: frozenset    # imported inside functions
    data: frozenset     # data files named by the module


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(node: ast.AST, here: str, package: bool, known: set[str]) -> set[tuple[str, str]]:
    """The benchmark modules an import statement runs: ("a.b.c", "run") for a module it imports (any of its code may
    run) and ("a", "parent"), ("a.b", "parent") for the packages above it (only their top level runs)."""
    if isinstance(node, ast.Import):
        wanted = [(alias.name, "run") for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = here.split(".") if package else here.split(".")[:-1]
            anchor = anchor[:len(anchor) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        # `from a.b import c`: the submodule a.b.c where there is one; a.b runs whole only when a name it defines
        # is imported, else only its top level runs
        subs = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
        wanted = [(s, "run") for s in subs] + [(base, "run" if len(subs) < len(node.names) else "parent")]
    out = set()
    for name, mode in wanted:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            parts = name.split(".")
            out |= {(".".join(parts[:i]), "parent") for i in range(1, len(parts))}
            out.add((name, mode))
    return {t for t in out if t[0] in known}


def _imports(tree: ast.AST, here: str, package: bool, known: set[str]) -> tuple[set, set]:
    """(imports of the top level, imports inside functions) of a parsed module."""
    top, inner = set(), set()

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                (inner if in_function else top).update(_targets(child, here, package, known))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
    visit(tree, False)
    return top, inner - top


def _dynamic_imports(tree: ast.AST) -> list[int]:
    """Lines calling importlib.import_module or __import__: imports no graph can read."""
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and (
        (isinstance(n.func, ast.Attribute) and n.func.attr == "import_module")
        or (isinstance(n.func, ast.Name) and n.func.id in ("__import__", "import_module")))]


def _named_files(tree: ast.AST, data_files: dict[str, list[Path]]) -> set[Path]:
    """The data files whose name a string of the module's code holds (a tree without its docstrings: those do not
    count)."""
    found = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and "." in n.value:
            for name, files in data_files.items():
                if name in n.value:
                    found.update(files)
    return found


class Graph:
    """The import graph of a checkout's benchmark/ package, and its steps' fingerprints. A module is parsed when a
    step first reaches it, once: a job that records its own step's fingerprint reads only the modules it runs."""

    def __init__(self, root: Path = REPO_ROOT):
        self.root = Path(root)
        pkg = self.root / PACKAGE
        self.paths = {_module_name(p, self.root): p for p in sorted(pkg.rglob("*.py"))
                      if "__pycache__" not in p.parts
                      and not any(part.startswith(".") for part in p.relative_to(self.root).parts)}
        self.known = set(self.paths)
        self.data_files: dict[str, list[Path]] = {}
        for folder in DATA_FOLDERS:
            for p in sorted((self.root / folder).rglob("*")):
                if p.is_file() and p.suffix in DATA_SUFFIXES and "__pycache__" not in p.parts:
                    self.data_files.setdefault(p.name, []).append(p)
        self._modules: dict[str, Module] = {}
        self._normalised: dict[Path, bytes] = {}
        self._digests: dict[Path, bytes] = {}
        self.trees: dict[str, ast.AST] = {}

    def module(self, name: str) -> Module:
        """A module's imports and named data files (parsed on first use; its normalised form kept beside)."""
        if name not in self._modules:
            p = self.paths[name]
            # the syntax tree without docstrings: what the fingerprint hashes, and where data files are named
            tree = strip_docstrings(ast.parse(p.read_bytes(), filename=str(p)))
            package = p.name == "__init__.py"
            top, inner = _imports(tree, name, package, self.known)
            named = _named_files(tree, self.data_files)
            self._modules[name] = Module(name, p, package, frozenset(top), frozenset(inner), frozenset(named))
            self._normalised[p] = ast.dump(tree).encode()   # benchmark.provenance.normalised of the file
            self.trees[name] = tree
        return self._modules[name]

    @property
    def dynamic(self) -> dict[str, list[int]]:
        """Lines of every module that import by a name computed at run time (importlib): no graph reads those."""
        for name in self.paths:
            self.module(name)
        return {name: _dynamic_imports(self.trees[name]) for name in sorted(self.paths)}

    # ---------------------------------------------------------------------------------------------- the graph
    def closure(self, roots: set[tuple[str, str]]) -> set[Path]:
        """Files of every module `roots` run, transitively, with the data files those modules name."""
        seen, todo = set(), list(roots)
        while todo:
            name, mode = todo.pop()
            if (name, mode) in seen or name not in self.paths:
                continue
            seen.add((name, mode))
            m = self.module(name)
            if name in IDENTIFYING:
                continue   # its imports serve the identification too
            todo.extend(m.top)
            if mode == "run" or not m.package:
                todo.extend(m.inner)
        files = set()
        for name, _ in seen:
            if name not in IDENTIFYING:
                files.add(self.paths[name])
                files |= self.module(name).data
        return files

    def roots_of_files(self, files: list[Path]) -> set[tuple[str, str]]:
        """The benchmark modules imported by Python files outside the package (a method folder's)."""
        roots = set()
        for p in files:
            if p.suffix == ".py":
                tree = _outside_tree(p, *_files_state([p])[0][1:])
                if tree is not None:   # a file that does not parse fails when it is loaded; its bytes are hashed
                    top, inner = _imports(tree, f"{PACKAGE}_methods.{p.stem}", False, self.known)
                    roots |= top | inner
        return roots

    def module_roots(self, name: str) -> set[tuple[str, str]]:
        parts = name.split(".")
        return {(".".join(parts[:i]), "parent") for i in range(1, len(parts))} | {(name, "run")}

    # ------------------------------------------------------------------------------------------ the entry point
    @functools.cached_property
    def commands(self) -> dict[str, ast.FunctionDef]:
        """benchmark/__main__.py: command name -> its function (registered by `@command("name", ...)`)."""
        out = {}
        self.module(f"{PACKAGE}.__main__")
        for node in self.trees[f"{PACKAGE}.__main__"].body:
            if isinstance(node, ast.FunctionDef):
                for dec in node.decorator_list:
                    if (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Name) and dec.func.id == "command"
                            and dec.args and isinstance(dec.args[0], ast.Constant)):
                        out[dec.args[0].value] = node
        return out

    @functools.cached_property
    def shared_entry(self) -> list[ast.AST]:
        """What every command runs in benchmark/__main__.py: its top level outside the command functions."""
        commands = set(map(id, self.commands.values()))
        return [n for n in self.trees[f"{PACKAGE}.__main__"].body if id(n) not in commands]

    @functools.lru_cache(maxsize=None)
    def entry(self, command: str) -> tuple[bytes, set[tuple[str, str]]]:
        """(the command's own code in __main__.py, normalised; the modules it and the shared part import)."""
        if command not in self.commands:
            raise ConfigError(f"benchmark/__main__.py has no command {command!r} (known: {sorted(self.commands)})")
        here = f"{PACKAGE}.__main__"
        nodes = [self.commands[command]] + self.shared_entry
        roots = set()
        for node in nodes:
            top, inner = _imports(node, here, False, self.known)
            roots |= top | inner
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                roots |= _targets(node, here, False, self.known)
        code = "\n".join(ast.dump(strip_docstrings(copy.deepcopy(ast.Module(body=[n], type_ignores=[]))))
                         for n in nodes)
        return code.encode(), roots

    # ---------------------------------------------------------------------------------------------- the rules
    @functools.cached_property
    def rules(self) -> dict[str, tuple[str, str]]:
        """rule name -> (the command its shell runs, its text without comment lines and docstring)."""
        out = {}
        paths = []
        for entry in RULE_FILES:
            p = self.root / entry
            paths += sorted(p.glob("*.smk")) if p.is_dir() else [p] if p.exists() else []
        for p in paths:
            for name, text in _rule_blocks(p.read_text()):
                found = re.search(r"-m benchmark ([a-z][a-z-]*)", text)
                if found:
                    out[name] = (found.group(1), text)
        return out

    def rule_text(self, command: str) -> str:
        return "\n".join(text for _, (cmd, text) in sorted(self.rules.items()) if cmd == command)

    # ------------------------------------------------------------------------------------------ fingerprints
    def files(self, command: str, method_folder: Path | None = None, source: str | None = None) -> list[Path]:
        """Every file of benchmark/ the step's fingerprint covers (the method folders' files not included)."""
        roots = set(self.entry(command)[1])   # a copy: the command's roots are remembered for the next step
        for folder in method_folders(method_folder) if method_folder is not None else []:
            roots |= self.roots_of_files(_folder_files(folder))
        if source is not None:
            roots |= self.module_roots(source_module(source))
        return sorted(self.closure(roots))

    def digest(self, path: Path) -> bytes:
        """SHA-256 of a file's normalised content (benchmark.provenance.normalised), once per file."""
        if path not in self._digests:
            self._digests[path] = hashlib.sha256(self._normalised.pop(path, None) or normalised(path)).digest()
        return self._digests[path]

    def fingerprint(self, command: str, method_folder: Path | None = None, source: str | None = None) -> str:
        """Short SHA-256 of the step's code: its rule, its command, the modules it runs, its method folder."""
        # remembered while the method folders' files are unchanged (size and time)
        state = _files_state([p for f in method_folders(method_folder) for p in _folder_files(f)]) \
            if method_folder is not None else ()
        return self._fingerprint(command, method_folder, source, state)

    @functools.lru_cache(maxsize=None)
    def _fingerprint(self, command: str, method_folder: Path | None, source: str | None, state: tuple) -> str:
        h = hashlib.sha256()
        h.update(b"rule\0" + self.rule_text(command).encode() + b"\0")
        h.update(b"command\0" + self.entry(command)[0] + b"\0")
        for p in self.files(command, method_folder, source):
            h.update(p.relative_to(self.root).as_posix().encode() + b"\0" + self.digest(p))
        for folder in method_folders(method_folder) if method_folder is not None else []:
            h.update(f"method {folder.name}\0".encode() + method_fingerprint(folder).encode())
        return h.hexdigest()[:12]


def method_folders(folder: Path) -> list[Path]:
    """A method folder and the sibling folders its code loads, transitively (`load_method(METHODS_DIR / "etp")` in
    methods/random_init/method.py makes ETP's folder part of random init's code)."""
    folder = Path(folder)
    found, todo = [], [folder]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.append(current)
        for p in _folder_files(current):
            tree = _outside_tree(p, *_files_state([p])[0][1:]) if p.suffix == ".py" else None
            for call in ast.walk(tree) if tree is not None else []:
                name = getattr(call.func, "id", None) or getattr(call.func, "attr", None) \
                    if isinstance(call, ast.Call) else None
                if name == "load_method":
                    todo += [current.parent / c.value for arg in call.args for c in ast.walk(arg)
                             if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value
                             and "/" not in c.value and (current.parent / c.value).is_dir()]
    return found


@functools.lru_cache(maxsize=256)
def _outside_tree(path: Path, size, mtime) -> ast.AST | None:
    """A method folder's Python file, parsed once per (size, modification time); None when it does not parse."""
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, OSError, ValueError):
        return None


def _folder_files(folder: Path) -> list[Path]:
    from benchmark.provenance import _files

    return _files(folder, ["."]) if folder.is_dir() else []


def _rule_blocks(text: str):
    """(name, text) of each `rule NAME:` block of a Snakemake file: its lines up to the next unindented one, without
    blank lines, comment lines and the docstring."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        found = re.match(r"rule (\w+):", lines[i])
        if not found:
            i += 1
            continue
        block, i = [lines[i]], i + 1
        while i < len(lines) and (not lines[i].strip() or lines[i][0] in " \t#"):
            block.append(lines[i])
            i += 1
        body = [ln for ln in block if ln.strip() and not ln.lstrip().startswith("#")]
        if len(body) > 1 and body[1].lstrip().startswith(('"""', "'''")):
            quote = body[1].lstrip()[:3]
            end = 1 if body[1].count(quote) >= 2 else next(
                (k for k in range(2, len(body)) if quote in body[k]), len(body) - 1)
            body = body[:1] + body[end + 1:]
        yield found.group(1), "\n".join(ln.rstrip() for ln in body)


def source_module(source: str) -> str:
    """The module that prepares a dataset source (benchmark.data.sources)."""
    from benchmark.data.sources import SOURCES

    if source not in SOURCES:
        raise ConfigError(f"no dataset source {source!r} (known: {sorted(SOURCES)})")
    return SOURCES[source].split(":")[0]


def _files_state(paths) -> tuple:
    """(path, size, modification time) of files: what tells a process that a file it read has changed since."""
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((str(p), None, None))
    return tuple(out)


def _code_state(root: Path) -> tuple:
    files = [p for p in (root / PACKAGE).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for entry in RULE_FILES:
        p = root / entry
        files += sorted(p.glob("*.smk")) if p.is_dir() else [p]
    return _files_state(sorted(files))


_GRAPHS: dict[Path, tuple[tuple, Graph]] = {}


def graph(root: Path = REPO_ROOT) -> Graph:
    """The checkout's graph, parsed once per process (a step, or the workflow while it builds the DAG) and again
    only when a file of benchmark/ or a rule file changed since (a long-lived process: the tests, a notebook)."""
    root = Path(root)
    state = _code_state(root)
    known = _GRAPHS.get(root)
    if known is None or known[0] != state:
        known = _GRAPHS[root] = (state, Graph(root))
    return known[1]


def fingerprint(command: str, method_folder: str | Path | None = None, source: str | None = None,
                root: Path = REPO_ROOT) -> str:
    """The fingerprint of the step that runs `command` (for one method's folder, or one dataset source)."""
    if command in METHOD_STEPS and method_folder is None:
        raise ConfigError(f"step {command!r} is a step of one method: name its folder")
    if command in SOURCE_STEPS and source is None:
        raise ConfigError(f"step {command!r} prepares one dataset source: name it")
    folder = Path(method_folder).resolve() if method_folder is not None else None
    return graph(Path(root)).fingerprint(command, folder, source)
