"""A loopback static file server with HTTP Range support: serves a folder (a PhysioNet mirror written by
benchmark.data.mirror, or any tree in PhysioNet's layout) to the downloader (benchmark.data.download), so the
download, resume and checksum path runs without the internet.

    with serve("/tmp/mirror") as url:          # "http://127.0.0.1:PORT/"
        ...  # download.mirror = url: https://physionet.org/files/ptb-xl/1.0.3/x -> url + "ptb-xl/1.0.3/x"

`python -m benchmark serve DIR [--port P]` does the same until interrupted. It binds 127.0.0.1 only.

Range requests: `bytes=START-` and `bytes=START-END` get 206 with Content-Range, a start past the end gets 416
(what PhysioNet's server does, and what the downloader's resume relies on). For the downloader's tests the
server can misbehave on request: `cut_after` drops the connection after some bytes of a file (once),
`ignore_range` answers every Range request with the whole file (200); `requests` logs (path, Range header).
"""
from __future__ import annotations

import http.server
import os
import socket
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

from benchmark.errors import BenchmarkError

BLOCK = 1 << 16


class LoopbackServer:
    """Serves `root` on 127.0.0.1:`port` (0: any free port) in a background thread; `url` ends with '/'."""

    def __init__(self, root: str | os.PathLike, port: int = 0):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise BenchmarkError(f"cannot serve {root}: not a folder")
        self.requests: list[tuple[str, str | None]] = []
        self.cut_after: dict[str, int] = {}   # URL path (without the leading '/') -> bytes sent before a drop
        self.ignore_range = False
        try:
            self.httpd = _Server(("127.0.0.1", port), _handler(self))
        except OSError as e:
            raise BenchmarkError(f"cannot listen on 127.0.0.1:{port} ({e.strerror or e})") from None
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread: threading.Thread | None = None

    def start(self) -> "LoopbackServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="loopback-server", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *_) -> None:
        self.close()

    def file_requests(self, rel: str) -> list[str | None]:
        """The Range headers of every request for URL path `rel` (None: no Range)."""
        return [r for p, r in self.requests if p == rel]

    def resolve(self, rel: str) -> Path | None:
        """The file URL path `rel` names inside the root, or None (absent, a folder, or outside the root)."""
        path = (self.root / rel).resolve()
        if path != self.root and self.root not in path.parents:
            return None
        return path if path.is_file() else None


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128   # the downloader opens `workers` connections at a time, each file a new one


def _handler(server: LoopbackServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_HEAD(self):
            self._answer(body=False)

        def do_GET(self):
            self._answer(body=True)

        def _answer(self, body: bool) -> None:
            rel = unquote(urlsplit(self.path).path).lstrip("/")
            rng = self.headers.get("Range")
            server.requests.append((rel, rng))
            path = server.resolve(rel)
            if path is None:
                self.send_error(404)
                return
            size = path.stat().st_size
            start, end = 0, size - 1
            if rng and not server.ignore_range:
                parsed = _parse_range(rng, size)
                if parsed is None:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start, end = parsed
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            else:
                self.send_response(200)
            length = end - start + 1
            self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if not body:
                return
            cut = server.cut_after.pop(rel, None)
            with open(path, "rb") as f:
                f.seek(start)
                left = length if cut is None else min(length, cut)
                while left > 0:
                    block = f.read(min(BLOCK, left))
                    if not block:
                        break
                    self.wfile.write(block)
                    left -= len(block)
            if cut is not None:   # misbehave: drop the connection mid-file
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range, or None if unsatisfiable."""
    spec = header.strip().removeprefix("bytes=").split(",")[0].strip()
    first, _, last = spec.partition("-")
    try:
        if not first:  # suffix range: the last n bytes
            n = int(last)
            return (max(0, size - n), size - 1) if n > 0 and size else None
        a = int(first)
        b = int(last) if last else size - 1
    except ValueError:
        return None
    if a >= size or b < a:
        return None
    return a, min(b, size - 1)


@contextmanager
def serve(folder: str | os.PathLike, port: int = 0) -> Iterator[str]:
    """Serve `folder` on loopback for the duration of the block; yields the base URL (ending in '/')."""
    with LoopbackServer(folder, port) as srv:
        yield srv.url


def serve_forever(folder: str | os.PathLike, port: int = 0) -> None:
    """`python -m benchmark serve`: serve until interrupted, after printing the URL to use as download.mirror."""
    srv = LoopbackServer(folder, port)
    print(f"serving {srv.root} at {srv.url} (use it as download.mirror; Ctrl-C stops)", flush=True)
    try:
        srv.httpd.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        srv.httpd.server_close()
