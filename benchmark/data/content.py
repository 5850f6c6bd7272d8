"""What a folder of raw files holds, by content, cheaply: a SHA-256 per file, remembered by (path, size,
modification time), so only files that look changed are read again.

A raw copy's fingerprint decides whether its store is prepared again (benchmark.data.physionet.raw_fingerprint).
By size and modification time alone, a content-identical copy (`cp` without `-p`, a restored backup, a re-mounted
volume) looks new and re-runs a whole preset; by content alone, every start-up of the workflow would read
gigabytes. So the fingerprint is over contents, and two cache files per folder (under the preset's cache_dir)
keep what was read:
  <key>.tsv   each file's digest with the size and time it had: a file whose size and time are unchanged is not
              read again;
  <key>.layout.json  the folder's layout: every directory with its modification time and its files' names;
  <key>.head.json    the digests of the last look (every file's size and time; the content).
When no directory's time changed (a directory's time changes whenever an entry is added, removed or renamed in
it), the layout is known without listing a directory, and one `stat` per directory and per file (a large tree's
in one process per core) tells whether anything changed; listing MIMIC-IV-ECG's 800,000 study folders costs two
to eight times as much (scripts/bench_raw_fingerprint.py). When only files changed, those are read again.
A file or directory written in the last seconds is not trusted (its clock tick could hide a second change): it is
looked at again next time (git's "racily clean" entries). The caches are only ever shortcuts: deleting them costs
one read of the folder, never a different answer.
"""
from __future__ import annotations

import hashlib
import os
import json
import sys
import time
from pathlib import Path

from benchmark.data.download import sha256_file
from benchmark.io import atomic_path

VERSION = "content-2"
RACY_NS = 3 * 10 ** 9


def listing(root: Path, skip_top=frozenset()) -> list[tuple[str, int, list[tuple[str, int, int]]]]:
    """Every directory under `root` (itself included) as (relative path ending in '/' or '', modification time in
    ns, its files as (name, size, mtime in ns)), sorted by path, files by name; names starting with '.' (download
    markers, partial files) and the top-level folders in `skip_top` are left out."""
    out, stack = [], [("", str(root))]
    while stack:
        rel, folder = stack.pop()
        files = []
        with os.scandir(folder) as it:
            for e in it:
                if e.name.startswith("."):
                    continue
                if e.is_dir(follow_symlinks=True):
                    if not (rel == "" and e.name in skip_top):
                        stack.append((f"{rel}{e.name}/", e.path))
                else:
                    st = e.stat()
                    files.append((e.name, st.st_size, st.st_mtime_ns))
        files.sort()
        out.append((rel, os.stat(folder).st_mtime_ns, files))
    out.sort(key=lambda d: d[0])
    return out


STAT_CHUNK = 4096   # directories per chunk of the stat digest: the chunks of a large tree are stat'ed in parallel
PARALLEL_DIRS = 50_000


def _lines(tree_or_dirs, with_stats: bool, root: Path | None = None):
    """The stat lines of a chunk of directories: from a listing's entries, or by one stat per directory and file of
    a remembered layout (None when a directory's time differs from the remembered one, or one is gone)."""
    parts = []
    for rel, mtime, files in tree_or_dirs:
        if with_stats:
            parts += [f"{rel}{name}\0{size}\0{ftime}\n" for name, size, ftime in files]
            continue
        base = f"{root}/{rel}"
        try:
            if os.stat(base).st_mtime_ns != mtime:
                return None
            for name in files:
                st = os.stat(base + name)
                parts.append(f"{rel}{name}\0{st.st_size}\0{st.st_mtime_ns}\n")
        except OSError:
            return None
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def _combine(chunks: list[str | None]) -> str | None:
    return None if None in chunks else hashlib.sha256("\n".join(chunks).encode()).hexdigest()


def _stat_digest(dirs) -> str:
    """The digest of every file's path, size and time, in the listing's order (by chunks of directories)."""
    return _combine([_lines(dirs[i:i + STAT_CHUNK], True) for i in range(0, len(dirs), STAT_CHUNK)])


_WORK: tuple = ()   # (root, remembered layout) for the processes forked by _unchanged


def _chunk(start: int) -> str | None:
    root, tree = _WORK
    return _lines(tree[start:start + STAT_CHUNK], False, root)


def _unchanged(root: Path, tree: list) -> str | None:
    """The digest of every file's path, size and time, when no directory of the remembered layout changed (one
    stat per directory and per file, no listing; a large tree's chunks in one process per core); None when one
    did."""
    global _WORK
    starts = list(range(0, len(tree), STAT_CHUNK))
    workers = min(os.cpu_count() or 1, 8)
    if len(tree) < PARALLEL_DIRS or workers < 2 or sys.platform == "win32":
        return _combine([_lines(tree[s:s + STAT_CHUNK], False, root) for s in starts])
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _WORK = (root, tree)   # forked processes see it without a copy through a pipe
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return _combine(list(pool.map(_chunk, starts, chunksize=4)))
    finally:
        _WORK = ()


def _restat(root: Path, tree: list) -> list | None:
    """The listing of a remembered layout whose directories are unchanged, by one stat per directory and file (no
    directory listed); None when a directory changed meanwhile."""
    out = []
    for rel, mtime, names in tree:
        base = f"{root}/{rel}"
        try:
            st = os.stat(base)
            if st.st_mtime_ns != mtime:
                return None
            files = []
            for name in names:
                fs = os.stat(base + name)
                files.append((name, fs.st_size, fs.st_mtime_ns))
        except OSError:
            return None
        out.append((rel, st.st_mtime_ns, files))
    return out


def _cache_files(cache_dir: Path, root: Path, skip_top: frozenset) -> tuple[Path, Path, Path]:
    """(<key>.head.json: the digests of the last look; <key>.layout.json: the directories and their files' names;
    <key>.tsv: each file's digest, size and time)."""
    key = hashlib.sha256(f"{VERSION}\0{root.resolve()}\0{sorted(skip_top)}".encode()).hexdigest()[:20]
    return cache_dir / f"{key}.head.json", cache_dir / f"{key}.layout.json", cache_dir / f"{key}.tsv"


def _read_json(path: Path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _read_digests(path: Path) -> dict[str, tuple[int, int, str]]:
    rows = {}
    try:
        with open(path) as f:
            for line in f:
                rel, size, mtime, sha = line.rstrip("\n").rsplit("\t", 3)
                rows[rel] = (int(size), int(mtime), sha)
    except (OSError, ValueError):
        return {}
    return rows


def _write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            write(f)


def fingerprint(root: str | Path, cache_dir: str | Path, skip_top=(), length: int = 16) -> str:
    """A hash of what every file under `root` holds and is named (not of where `root` is, nor of when its files were
    written): the same for any content-identical copy."""
    root, cache_dir, skip_top = Path(root), Path(cache_dir), frozenset(skip_top)
    head_file, layout_file, digest_file = _cache_files(cache_dir, root, skip_top)
    head = _read_json(head_file)
    head = head if isinstance(head, dict) and head.get("version") == VERSION else None
    layout = _read_json(layout_file) if head else None
    dirs = None
    if layout is not None and head.get("layout") == len(layout) and not head["racy"]:
        stat = _unchanged(root, layout)
        if stat == head["stat"]:
            return head["content"][:length]
        if stat is not None:   # no directory changed, some file did: its layout is known, no listing needed
            dirs = _restat(root, layout)
    dirs = dirs if dirs is not None else listing(root, skip_top)
    stat = _stat_digest(dirs)
    files = [(f"{rel}{name}", size, mtime) for rel, _, entries in dirs for name, size, mtime in entries]
    recent = time.time_ns() - RACY_NS
    if head and not head["racy"] and stat == head["stat"]:
        content = head["content"]   # a directory changed (a file added and removed), no file did
    else:
        rows = _read_digests(digest_file)
        changed = [(rel, size, mtime) for rel, size, mtime in files if rows.get(rel, (None, None))[:2] != (size, mtime)]
        if changed:
            print(f"reading {len(changed):,} of the {len(files):,} files of {root} to fingerprint their content "
                  f"(remembered in {digest_file})", file=sys.stderr)
        digests = {rel: rows[rel][2] for rel, _, _ in files if rel in rows}
        digests.update({rel: sha256_file(root / rel) for rel, _, _ in changed})
        content = hashlib.sha256("".join(f"{rel}\0{digests[rel]}\n" for rel, _, _ in files).encode()).hexdigest()
        # a file written in the last seconds is remembered without its time: read again next time
        _write(digest_file, lambda f: f.writelines(f"{rel}\t{size}\t{mtime if mtime < recent else -1}\t{digests[rel]}\n"
                                                   for rel, size, mtime in files))
    # a directory written in the last seconds is remembered without its time: listed again next time
    new_layout = [[rel, mtime if mtime < recent else -1, [name for name, _, _ in entries]] for rel, mtime, entries in dirs]
    if new_layout != layout:
        _write(layout_file, lambda f: json.dump(new_layout, f, separators=(",", ":")))
    _write(head_file, lambda f: json.dump({"version": VERSION, "stat": stat, "content": content,
                                           "racy": any(mtime >= recent for _, _, mtime in files),
                                           "layout": len(new_layout)}, f))
    return content[:length]
