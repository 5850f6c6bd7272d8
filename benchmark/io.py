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


@contextlib.contextmanager
def exclusive(folder: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (flock on folder/.lock) while the block runs; refuse at once, naming the
    holder, if another process holds it. The kernel releases it when the holder exits, however it exits, so a
    stale lock cannot block a re-run. Guards against two writers of one folder: e.g. a job left running by a
    killed Snakemake, and the same job started again after `snakemake --unlock`."""
    import fcntl
    import socket
    import time

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise BenchmarkError(
            f"{folder} is being written by {holder}: {what} already runs there (perhaps a job left running by a "
            "Snakemake that was killed). Wait for it to finish, or stop it (kill that pid), then re-run") from None
    except OSError as e:  # a file system without flock (some Lustre, NFS or FUSE mounts): run, but say so
        import sys

        print(f"warning: {folder} cannot be locked on this file system ({e.strerror or e}); nothing stops a second "
              f"process from writing it while {what} runs", file=sys.stderr)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}"
                  .encode(), 0)
        yield
    finally:
        os.close(fd)


FINISHED = ".finished"


def keep_finished(files: list[Path], key: dict) -> None:
    """Keep finished outputs also under <their folder>/.finished/ (hard links: no extra space), with the `key`
    they were made under and each file's SHA-256. Snakemake deletes a job's outputs before it runs the job again,
    and it runs finished jobs again when a SIGINT to snakemake alone flagged them incomplete (it waits for running
    jobs to finish, then marks their outputs incomplete): `reuse_finished` then puts them back instead of
    recomputing them."""
    for f in map(Path, files):
        kept = f.parent / FINISHED / f.name
        kept.parent.mkdir(exist_ok=True)
        with atomic_path(kept) as tmp:
            _link_or_copy(f, tmp)
        write_json(kept.with_name(kept.name + ".key.json"), {"key": key, "sha256": sha256_file(kept)})


def reuse_finished(files: list[Path], key: dict) -> bool:
    """Put back outputs kept by `keep_finished` under the same `key` (same settings, code and commit) and with the
    bytes they were finished with; True when every one was there, False (nothing put back) otherwise. A kept file
    is a hard link to the output, so an output damaged in place (truncated, edited) damaged it too: its checksum
    tells, and the kept copies are dropped so that the step computes its outputs again."""
    kept = [Path(f).parent / FINISHED / Path(f).name for f in files]
    for k in kept:
        try:
            record = json.loads(k.with_name(k.name + ".key.json").read_text())
            if not k.exists() or record.get("key") != _plain(key):
                return False
        except (OSError, ValueError, AttributeError):
            return False
        if sha256_file(k) != record.get("sha256"):
            import sys

            print(f"warning: {k} no longer holds the bytes it was finished with (damaged or edited in place); it is "
                  "not put back, and the step runs again", file=sys.stderr)
            forget_finished(files)
            return False
    for f, k in zip(map(Path, files), kept):
        with atomic_path(f) as tmp:
            _link_or_copy(k, tmp)
    return True


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def forget_finished(files: list[Path]) -> None:
    """Drop the kept copies of outputs about to be rebuilt in place (a half-rebuilt folder must never be taken for
    the finished one they describe)."""
    for f in map(Path, files):
        kept = f.parent / FINISHED / f.name
        kept.unlink(missing_ok=True)
        kept.with_name(kept.name + ".key.json").unlink(missing_ok=True)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # a file system without hard links
        import shutil

        shutil.copyfile(src, dst)


def _plain(obj):
    """`obj` as it reads back from JSON (tuples become lists, NaN null): what a stored copy compares equal to."""
    return json.loads(json.dumps(_finite(obj), default=_json_default))


def write_json(path: str | os.PathLike, obj) -> None:
    """Strict JSON (NaN and infinities, e.g. the AUC of a class without test positives, become null)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_finite(obj), indent=2, sort_keys=False, default=_json_default,
                                  allow_nan=False) + "\n")


def write_json_once(path: str | os.PathLike, obj) -> None:
    """Write `obj` to a content-addressed file unless it is there already: such a file is never rewritten (a
    reader may hold it open). One that exists with other content is damaged and stops with its name."""
    path = Path(path)
    if path.exists():
        try:
            same = json.loads(path.read_text()) == _plain(obj)
        except (OSError, ValueError):
            same = False
        if not same:
            raise BenchmarkError(f"{path} exists with other content than its name promises (edited or damaged); "
                                 "delete it and re-run")
        return
    write_json(path, obj)


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


def remake_advice(path: str | os.PathLike) -> str:
    """How to make a damaged workflow output again. Not "re-run the same command": Snakemake does not remake a file
    that is missing or damaged while the files made from it (the board) are up to date."""
    return (f"make it again: run the same snakemake command with `--forcerun {path}` added (Snakemake then runs the "
            "step that writes it and every step after it)")


def read_arrays(path: str | os.PathLike, mmap_mode: str | None = None, output: str | os.PathLike | None = None):
    """An .npy file's array, or an .npz file's arrays as a dict (read whole, so a damaged member shows here); a
    file cut short or edited after it was written stops with its name and a command that makes it again (`output`:
    the workflow output whose step writes `path`, if not `path` itself)."""
    import zipfile
    import zlib

    import numpy as np

    try:
        if Path(path).suffix == ".npz":
            with np.load(path) as f:
                return {k: f[k] for k in f.files}
        return np.load(path, mmap_mode=mmap_mode)
    except FileNotFoundError:
        raise BenchmarkError(f"{path} does not exist; run the step that produces it first") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise BenchmarkError(f"{path} is damaged ({type(e).__name__}: {e}): it was cut short or changed after it was "
                             f"written; {remake_advice(output or path)}") from None


def code_record_path(path: str | os.PathLike) -> Path:
    """Where the code record of an output that cannot hold one (an .npy, .npz or .csv file) lives: beside it."""
    path = Path(path)
    return path.with_name(path.name + ".code.json")


def write_code_record(path: str | os.PathLike, record: dict) -> None:
    """The code record (benchmark.provenance.step_record) of the output `path` is about to be written; written first,
    so it is never older than the output it describes."""
    write_json(code_record_path(path), record)


def read_code_record(path: str | os.PathLike) -> dict:
    """The code record beside an output ({} for one written by an older version of the benchmark)."""
    side = code_record_path(path)
    return read_json(side) if side.exists() else {}


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
