"""What a folder of raw files holds, by content, cheaply: a SHA-256 per file, remembered by (path, size,
modification time), so only files that look changed are read again.

A raw copy's fingerprint decides whether its store is prepared again (benchmark.data.physionet.raw_fingerprint).
By size and modification time alone, a content-identical copy (`cp` without `-p`, a restored backup, a re-mounted
volume) looks new and re-runs a whole preset; by content alone, every start-up of the workflow would read
gigabytes. So the fingerprint is over contents, and a cache file per folder (under the preset's cache_dir) keeps
each file's digest with the size and time it had: a file whose size and time are unchanged is not read again, and
when no file changed at all (the listing's own digest is the one remembered) the cache's first line is all that is
read. The cache is only ever a shortcut: deleting it costs one read of the folder, never a different answer.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

from benchmark.data.download import sha256_file
from benchmark.io import atomic_path

VERSION = "content-1"
RACY_NS = 3 * 10 ** 9


def listing(root: Path, skip_top: frozenset[str] = frozenset()) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime in ns) of every file under `root`, in a fixed order; names starting with '.'
    (download markers, partial files) and the top-level folders in `skip_top` are left out."""
    out = []
    stack = [("", root)]
    while stack:
        prefix, folder = stack.pop()
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name, reverse=True)
        subfolders = []
        for e in entries:
            if e.name.startswith("."):
                continue
            rel = prefix + e.name
            if e.is_dir(follow_symlinks=True):
                if not (prefix == "" and e.name in skip_top):
                    subfolders.append((rel + "/", e.path))
            else:
                st = e.stat()
                out.append((rel, st.st_size, st.st_mtime_ns))
        stack.extend(subfolders)   # reverse-sorted names, popped in order: a depth-first walk in name order
    out.sort()
    return out


def _cache_file(cache_dir: Path, root: Path, skip_top: frozenset[str]) -> Path:
    key = hashlib.sha256(f"{VERSION}\0{root.resolve()}\0{sorted(skip_top)}".encode()).hexdigest()[:20]
    return cache_dir / f"{key}.tsv"


def _stat_digest(files: list[tuple[str, int, int]]) -> str:
    h = hashlib.sha256()
    for rel, size, mtime in files:
        h.update(f"{rel}\0{size}\0{mtime}\n".encode())
    return h.hexdigest()


def _read_cache(path: Path) -> tuple[str | None, str | None, dict]:
    """(the listing's digest, the content fingerprint, {path: (size, mtime, sha256)}) of a cache file."""
    try:
        with open(path) as f:
            head = f.readline().split()
            if len(head) != 4 or head[0] != VERSION:
                return None, None, {}
            rows = {}
            for line in f:
                rel, size, mtime, sha = line.rstrip("\n").rsplit("\t", 3)
                rows[rel] = (int(size), int(mtime), sha)
            return head[1], head[3], rows
    except (OSError, ValueError):
        return None, None, {}


def _read_head(path: Path) -> tuple[str | None, str | None]:
    try:
        with open(path) as f:
            head = f.readline().split()
    except OSError:
        return None, None
    return (head[1], head[3]) if len(head) == 4 and head[0] == VERSION else (None, None)


def fingerprint(root: str | Path, cache_dir: str | Path, skip_top=(), length: int = 16) -> str:
    """A hash of what every file under `root` holds and is named (not of where `root` is, nor of when its files were
    written): the same for any content-identical copy."""
    root, cache_dir, skip_top = Path(root), Path(cache_dir), frozenset(skip_top)
    files = listing(root, skip_top)
    stat = _stat_digest(files)
    cache = _cache_file(cache_dir, root, skip_top)
    known_stat, known_fp = _read_head(cache)
    if known_stat == stat and known_fp:
        return known_fp[:length]
    _, _, rows = _read_cache(cache)
    changed = [(rel, size, mtime) for rel, size, mtime in files if rows.get(rel, (None, None))[:2] != (size, mtime)]
    if changed:
        print(f"reading {len(changed):,} of the {len(files):,} files of {root} to fingerprint their content "
              f"(remembered in {cache})", file=sys.stderr)
    digests = {rel: rows[rel][2] for rel, _, _ in files if rel in rows}
    digests.update({rel: sha256_file(root / rel) for rel, _, _ in changed})
    h = hashlib.sha256()
    for rel, _, _ in files:
        h.update(f"{rel}\0{digests[rel]}\n".encode())
    content = h.hexdigest()
    # a file written in the last seconds may change again within its clock tick, keeping size and time: it is
    # remembered without its time, so the next call reads it again (git's "racily clean" entries)
    recent = time.time_ns() - RACY_NS
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache) as tmp:
        with open(tmp, "w") as f:
            f.write(f"{VERSION} {stat} content {content}\n")
            f.writelines(f"{rel}\t{size}\t{mtime if mtime < recent else -1}\t{digests[rel]}\n"
                         for rel, size, mtime in files)
    return content[:length]
