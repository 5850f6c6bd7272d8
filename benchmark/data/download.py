"""PhysioNet downloads, verified file by file against the project's published SHA256SUMS.txt.

Guarantees (issue 3, "Acquire"):
- every file is checked against the SHA-256 that PhysioNet publishes for the project version;
- a file is written as `NAME.part` and renamed to `NAME` only after its checksum matched, so a file with its
  final name is always a verified one, and an interrupted or corrupt download is never taken for a finished one;
- an interrupted `NAME.part` is resumed with an HTTP Range request (a server that ignores Range sends the
  whole file again, which is detected and handled);
- a file already present under its final name and matching its checksum is never fetched again;
- network errors (refused or dropped connections, timeouts, HTTP 408/429/5xx) are retried with exponential
  back-off; a file the server does not have (404) or that arrives with the wrong checksum is an error that names
  the file; when the host cannot be reached at all, the error says how to point the config at a local copy.

Only the standard library is used (urllib), so downloads need no extra dependency. Proxies set in the
environment (https_proxy, no_proxy) are honoured, as urllib does by default.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable

from benchmark.errors import BenchmarkError
from benchmark.io import atomic_path, sha256_file

SUMS_FILE = "SHA256SUMS.txt"
PHYSIONET_FILES = "https://physionet.org/files/"   # what download.mirror replaces
CHUNK = 1 << 20
USER_AGENT = "ecg-benchmark/0.1 (+https://physionet.org; reproducible ECG benchmark downloader)"
RETRY_HTTP = {408, 425, 429, 500, 502, 503, 504}


class DownloadError(BenchmarkError):
    """A download that cannot complete; the message names the file and what to do."""


class ChecksumMismatch(DownloadError):
    pass


class MissingOnServer(DownloadError):
    pass


class Unreachable(DownloadError):
    pass


class _Transient(Exception):
    """Internal: an error worth retrying (network trouble, 5xx)."""


@dataclass(frozen=True)
class Remote:
    """One PhysioNet project version and the named parts of it the benchmark can fetch."""
    title: str
    base_url: str
    config_key: str                        # the preset key that points at a local copy instead
    parts: dict                            # part name -> tuple of path prefixes ("dir/") or exact file names
    required: dict                         # part name -> exact names that must be listed in SHA256SUMS.txt

    @property
    def files_path(self) -> str:
        """The project version's path under PhysioNet's files/ (e.g. ptb-xl/1.0.3/): where a mirror keeps it."""
        return self.base_url.removeprefix(PHYSIONET_FILES)

    def url(self, mirror: str | None = None) -> str:
        """The base URL to download from: PhysioNet's, or the same path under `mirror`."""
        return mirror.rstrip("/") + "/" + self.files_path if mirror else self.base_url


PHYSIONET = {
    "ptbxl": Remote(
        title="PTB-XL v1.0.3",
        base_url="https://physionet.org/files/ptb-xl/1.0.3/",
        config_key="ptbxl_dir",
        parts={"metadata": ("ptbxl_database.csv", "scp_statements.csv", "LICENSE.txt", "RECORDS"),
               "records100": ("records100/",),
               "records500": ("records500/",)},
        required={"metadata": ("ptbxl_database.csv", "scp_statements.csv")},
    ),
    # The original CPSC2018 site is gone; PhysioNet serves the recordings as part of the CinC Challenge 2020
    # training set (WFDB .hea/.mat, labels as SNOMED-CT codes in the header's #Dx line).
    "cpsc2018": Remote(
        title="CPSC2018 (PhysioNet/CinC Challenge 2020 v1.0.2, training/cpsc_2018)",
        base_url="https://physionet.org/files/challenge-2020/1.0.2/",
        config_key="cpsc2018_dir",
        parts={"records": ("training/cpsc_2018/",)},
        required={},
    ),
    # MIMIC-IV-ECG, MERL's pre-training set (benchmark.data.mimic): two tables and ~800,000 WFDB records
    "mimic_ecg": Remote(
        title="MIMIC-IV-ECG 1.0",
        base_url="https://physionet.org/files/mimic-iv-ecg/1.0/",
        config_key="mimic_ecg_dir",
        parts={"metadata": ("record_list.csv", "machine_measurements.csv", "LICENSE.txt", "RECORDS"),
               "records": ("files/",)},
        required={},   # (see csn) the index step stops naming a missing table
    ),
    # Chapman-Shaoxing-Ningbo, MERL's sixth task (benchmark.data.csn): WFDB .hea/.mat, #Dx SNOMED-CT codes
    "csn": Remote(
        title="Chapman-Shaoxing-Ningbo (PhysioNet ecg-arrhythmia 1.0.0)",
        base_url="https://physionet.org/files/ecg-arrhythmia/1.0.0/",
        config_key="csn_dir",
        parts={"records": ("WFDBRecords/", "ConditionNames_SNOMED-CT.csv", "LICENSE.txt", "RECORDS")},
        # (a .csv named here would become an output of the download rule, which only PTB-XL's metadata rule has;
        # the preparation stops naming the condition table when it is missing)
        required={},
    ),
}


# ------------------------------------------------------------------------------------------------ checksums
def parse_sums(text: str, source: str = SUMS_FILE) -> dict[str, str]:
    """`<sha256> <relative path>` per line (sha256sum's format, optionally with `*` binary markers)."""
    sums = {}
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or len(parts[0]) != 64 or any(c not in "0123456789abcdefABCDEF" for c in parts[0]):
            raise DownloadError(f"{source} line {n} is not '<sha256> <path>': {line[:120]!r}")
        path = parts[1].strip().lstrip("*")
        path = path[2:] if path.startswith("./") else path
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts:
            raise DownloadError(f"{source} line {n} names an unsafe path {path!r}; refusing to write outside the "
                                "download folder")
        sums[str(pure)] = parts[0].lower()
    if not sums:
        raise DownloadError(f"{source} lists no files")
    return sums


def select(sums: dict[str, str], patterns: Iterable[str]) -> dict[str, str]:
    """Entries whose path equals one of `patterns` or starts with one ending in '/'."""
    patterns = tuple(patterns)
    return {p: h for p, h in sums.items()
            if any(p == pat or (pat.endswith("/") and p.startswith(pat)) for pat in patterns)}


# ------------------------------------------------------------------------------------------------ one file
def _open(url: str, offset: int, timeout: float, opener):
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return opener.open(urllib.request.Request(url, headers=headers), timeout=timeout)


def _hash_prefix(path: Path) -> "hashlib._Hash":
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h


def _transfer(url: str, part: Path, timeout: float, opener, pinned_by: str = SUMS_FILE) -> tuple[str, bool]:
    """One attempt: continue `part` from its current size (or start it); return (sha256 of part, resumed)."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        resp = _open(url, offset, timeout, opener)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and offset:  # nothing left to send: the part may already be complete
            return _hash_prefix(part).hexdigest(), True
        if e.code == 404 or e.code == 410:
            raise MissingOnServer(f"{url} is listed in {pinned_by} but the server answers HTTP {e.code} "
                                  "(file not found); the mirror may be incomplete or the file's version moved")
        if e.code in RETRY_HTTP:
            raise _Transient(f"HTTP {e.code} from {url}") from None
        raise DownloadError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, http.client.HTTPException, OSError) as e:
        raise _Transient(f"{url}: {getattr(e, 'reason', e)}") from None

    with resp:
        status = getattr(resp, "status", 200)
        append = False
        if offset and status == 206:
            content_range = resp.headers.get("Content-Range", "")
            append = content_range.startswith(f"bytes {offset}-")
            if not append:  # a range we did not ask for: start over rather than guess
                raise _Transient(f"{url}: unexpected Content-Range {content_range!r} for offset {offset}")
        h = _hash_prefix(part) if append else hashlib.sha256()
        try:
            with open(part, "ab" if append else "wb") as f:
                while True:
                    block = resp.read(CHUNK)
                    if not block:
                        break
                    f.write(block)
                    h.update(block)
        except (http.client.HTTPException, TimeoutError, ConnectionError) as e:  # not disk errors: those surface
            raise _Transient(f"{url}: connection lost during transfer ({type(e).__name__})") from None
        expected = resp.headers.get("Content-Length")
        if expected is not None and expected.isdigit():
            got = part.stat().st_size - (offset if append else 0)
            if got < int(expected):
                raise _Transient(f"{url}: transfer ended after {got} of {expected} bytes")
    return h.hexdigest(), append


def download_file(url: str, dest: str | os.PathLike, sha256: str, *, retries: int = 4, backoff: float = 2.0,
                  timeout: float = 60.0, opener=None, log: Callable[[str], None] | None = None,
                  pinned_by: str = SUMS_FILE) -> str:
    """Fetch `url` to `dest`, verified against `sha256`. Returns 'present', 'downloaded' or 'resumed'.

    The bytes go to `dest.part` (kept between attempts and runs, so a later call resumes it) and are renamed to
    `dest` only once the checksum matched. `pinned_by` names where the checksum comes from, for the errors.
    """
    dest = Path(dest)
    opener = opener or urllib.request.build_opener()
    log = log or (lambda msg: print(msg, file=sys.stderr))
    sha256 = sha256.lower()
    if dest.exists():
        if sha256_file(dest) == sha256:
            return "present"
        log(f"warning: {dest} does not match its published checksum (changed since it was verified?); "
            "fetching it again")
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    resumed_any = part.exists() and part.stat().st_size > 0
    fresh_retry_done = False
    last: Exception | None = None
    attempt = 0
    while attempt <= retries:
        try:
            digest, resumed = _transfer(url, part, timeout, opener, pinned_by)
        except _Transient as e:
            last = e
            attempt += 1
            if attempt <= retries:
                delay = backoff * (2 ** (attempt - 1))
                log(f"retry {attempt}/{retries} for {url} in {delay:.1f}s ({e})")
                time.sleep(delay)
            continue
        resumed_any |= resumed
        if digest == sha256:
            os.replace(part, dest)
            return "resumed" if resumed_any else "downloaded"
        part.unlink(missing_ok=True)
        if resumed_any and not fresh_retry_done:
            # The kept part may have come from an older or corrupt transfer: try once from scratch.
            log(f"checksum mismatch after resuming {url}; discarding the partial file and fetching it whole")
            fresh_retry_done, resumed_any = True, False
            continue
        raise ChecksumMismatch(
            f"{url}: SHA-256 of the downloaded file is {digest}, but {pinned_by} says {sha256}. The file was "
            f"deleted (not kept as {dest.name}). Re-run to try again; if it persists, the server copy is corrupt "
            f"or {pinned_by} describes another version of the file")
    raise Unreachable(f"{url}: giving up after {retries + 1} attempts ({last})")


# ------------------------------------------------------------------------------------------------ whole trees
def fetch_sums(base_url: str, dest: Path, *, retries: int = 4, backoff: float = 2.0, timeout: float = 60.0,
               opener=None, log=None) -> dict[str, str]:
    """The project's SHA256SUMS.txt, kept in `dest` (the pinned version URL makes it immutable) with the URL it came
    from beside it (.SHA256SUMS.txt.url): one from another server (download.mirror changed: a synthetic mirror
    first, PhysioNet next) is fetched again, so the files of the first are checked against the second's sums."""
    path, origin = dest / SUMS_FILE, dest / f".{SUMS_FILE}.url"
    url = urllib.parse.urljoin(base_url, SUMS_FILE)
    came_from = origin.read_text().strip() if origin.exists() else None   # None: kept by an older version
    stale = path.exists() and came_from not in (None, url)
    if stale:
        (log or (lambda m: print(m, file=sys.stderr)))(
            f"{path} came from {came_from}; fetching {url} instead, and checking every file against it")
    if stale or not path.exists():
        opener = opener or urllib.request.build_opener()
        last = None
        for attempt in range(retries + 1):
            try:
                with _open(url, 0, timeout, opener) as resp:
                    body = resp.read()
                break
            except urllib.error.HTTPError as e:
                e.close()
                if e.code not in RETRY_HTTP:
                    raise DownloadError(f"{url}: HTTP {e.code} {e.reason}; is the base URL {base_url} right?") from None
                last = f"HTTP {e.code}"
            except (urllib.error.URLError, socket.timeout, ConnectionError, http.client.HTTPException, OSError) as e:
                last = getattr(e, "reason", e)
            if attempt < retries:
                delay = backoff * (2 ** attempt)
                (log or (lambda m: print(m, file=sys.stderr)))(
                    f"retry {attempt + 1}/{retries} for {url} in {delay:.1f}s ({last})")
                time.sleep(delay)
        else:
            raise Unreachable(f"cannot reach {url} after {retries + 1} attempts ({last})")
        parse_sums(body.decode("utf-8", "replace"), url)  # validate before keeping it
        with atomic_path(path) as tmp:
            tmp.write_bytes(body)
        with atomic_path(origin) as tmp:   # a half-written origin would name no server, and fetch the sums again
            tmp.write_text(url + "\n")
    return parse_sums(path.read_text(encoding="utf-8", errors="replace"), str(path))


def download_tree(base_url: str, dest: str | os.PathLike, patterns: Iterable[str], *, required: Iterable[str] = (),
                  workers: int = 8, retries: int = 4, backoff: float = 2.0, timeout: float = 60.0,
                  hint: str = "", opener=None, log=None) -> dict:
    """Download every file of `base_url`'s SHA256SUMS.txt matching `patterns` into `dest` (same layout).

    Files are fetched by `workers` threads. Failures of single files do not stop the others; they are listed
    together in one error at the end (a re-run then fetches only what is still missing).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    opener = opener or urllib.request.build_opener()
    try:
        sums = fetch_sums(base_url, dest, retries=retries, backoff=backoff, timeout=timeout, opener=opener, log=log)
    except Unreachable as e:
        raise Unreachable(f"{e}. {hint}".strip()) from None
    wanted = select(sums, patterns)
    absent = [r for r in required if r not in wanted]
    if absent or not wanted:
        raise DownloadError(f"{urllib.parse.urljoin(base_url, SUMS_FILE)} lists none of {absent or list(patterns)}; "
                            "is the base URL the right project version?")

    counts = {"present": 0, "downloaded": 0, "resumed": 0}
    failures: dict[str, Exception] = {}
    lock = threading.Lock()
    done, t0, last_report = 0, time.time(), [time.time()]

    def one(rel: str) -> str:
        return download_file(urllib.parse.urljoin(base_url, rel), dest / rel, wanted[rel], retries=retries,
                             backoff=backoff, timeout=timeout, opener=opener, log=log)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(one, rel): rel for rel in sorted(wanted)}
        for fut in as_completed(futures):
            rel = futures[fut]
            try:
                outcome = fut.result()
                with lock:
                    counts[outcome] += 1
            except DownloadError as e:
                failures[rel] = e
            done += 1
            if time.time() - last_report[0] > 10 or done == len(futures):
                last_report[0] = time.time()
                log(f"{base_url}: {done}/{len(futures)} files checked "
                    f"({counts['downloaded'] + counts['resumed']} fetched, {counts['present']} already verified, "
                    f"{len(failures)} failed; {time.time() - t0:.0f}s)")

    if failures:
        unreachable = all(isinstance(e, Unreachable) for e in failures.values())
        lines = "\n".join(f"  {rel}: {e}" for rel, e in sorted(failures.items())[:20])
        more = f"\n  ... and {len(failures) - 20} more" if len(failures) > 20 else ""
        cls = Unreachable if unreachable else DownloadError
        raise cls(f"{len(failures)} of {len(wanted)} files from {base_url} could not be downloaded and verified:\n"
                  f"{lines}{more}\nVerified files are kept; re-running resumes the rest. {hint}".rstrip())
    return {"base_url": base_url, "files": len(wanted), "bytes": sum((dest / r).stat().st_size for r in wanted),
            "sums_sha256": sha256_file(dest / SUMS_FILE), **counts, "seconds": round(time.time() - t0, 1)}


def local_copy_hint(config_key: str, title: str) -> str:
    return (f"If physionet.org cannot be reached from this machine, put a copy of {title} in PhysioNet's layout "
            f"somewhere and point the preset at it: set `{config_key}: /path/to/copy` in the config file, or pass "
            f"`--config {config_key}=/path/to/copy` to snakemake (the copy must be complete, unless the dataset "
            "sets `allow_partial: true`; missing records are then skipped and counted).")
