"""The PhysioNet downloader against a loopback HTTP server (127.0.0.1 only) serving a PhysioNet-shaped tree."""
from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.data import download as dl
from benchmark.data.serve import LoopbackServer
from conftest import REPO

FILES = {
    "ptbxl_database.csv": b"ecg_id,patient_id\n1,15709.0\n2,13243.0\n",
    "scp_statements.csv": b",description\nNORM,normal ECG\n",
    "records100/00000/00001_lr.hea": b"00001_lr 12 100 1000\n",
    "records100/00000/00001_lr.dat": bytes(range(256)) * 90,
    "records500/00000/00001_hr.dat": b"\x01\x02" * 5000,
}


BASE = "files/ptb-xl/1.0.3/"


class Server(LoopbackServer):
    """The package's loopback server (benchmark.data.serve) serving a PhysioNet-shaped tree under BASE, with
    its misbehaviour switches (cut_after, ignore_range); `file_requests` takes paths relative to BASE."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.url += BASE

    def file_requests(self, rel: str) -> list[str | None]:
        return super().file_requests(BASE + rel)


def make_tree(root: Path, files=FILES, sums_override: dict | None = None) -> Path:
    base = root / "files" / "ptb-xl" / "1.0.3"
    lines = []
    for rel, data in files.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(data)
        digest = (sums_override or {}).get(rel) or hashlib.sha256(data).hexdigest()
        lines.append(f"{digest} {rel}")
    (base / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")
    return base


@pytest.fixture
def server(tmp_path, monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    make_tree(tmp_path / "www")
    with Server(tmp_path / "www") as srv:
        yield srv


def fetch(server, dest, patterns=("ptbxl_database.csv", "scp_statements.csv", "records100/"), **kw):
    kw = {"workers": 2, "retries": 2, "backoff": 0.01, "timeout": 5, "hint": "set ptbxl_dir", **kw}
    return dl.download_tree(server.url, dest, patterns, log=lambda m: None, **kw)


def test_full_download_verifies_and_never_refetches(server, tmp_path):
    dest = tmp_path / "raw"
    summary = fetch(server, dest, required=("ptbxl_database.csv",))
    assert summary["files"] == 4 and summary["downloaded"] == 4 and summary["present"] == 0
    for rel in ("ptbxl_database.csv", "records100/00000/00001_lr.dat"):
        assert (dest / rel).read_bytes() == FILES[rel]
    assert not (dest / "records500").exists()  # only the selected part
    assert not list(dest.rglob("*.part"))

    server.requests.clear()
    again = fetch(server, dest)
    assert again["present"] == 4 and again["downloaded"] == 0
    assert [p for p, _ in server.requests if not p.endswith("SHA256SUMS.txt")] == []  # no file fetched again


def test_resume_of_a_partial_file_uses_range(server, tmp_path):
    dest = tmp_path / "raw"
    rel = "records100/00000/00001_lr.dat"
    part = dest / (rel + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(FILES[rel][:1000])  # an interrupted earlier run
    summary = fetch(server, dest)
    assert summary["resumed"] == 1
    assert server.file_requests(rel) == ["bytes=1000-"]
    assert (dest / rel).read_bytes() == FILES[rel] and not part.exists()


def test_connection_dropped_mid_file_is_resumed(server, tmp_path):
    dest = tmp_path / "raw"
    rel = "records100/00000/00001_lr.dat"
    server.cut_after[BASE + rel] = 5000
    summary = fetch(server, dest)
    assert summary["resumed"] == 1
    ranges = server.file_requests(rel)
    assert ranges[0] is None and ranges[-1] == "bytes=5000-"
    assert (dest / rel).read_bytes() == FILES[rel]


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    dest = tmp_path / "raw"
    rel = "records100/00000/00001_lr.dat"
    (dest / rel).parent.mkdir(parents=True)
    (dest / (rel + ".part")).write_bytes(FILES[rel][:777])
    server.ignore_range = True
    fetch(server, dest)
    assert (dest / rel).read_bytes() == FILES[rel]  # not the first 777 bytes twice


def test_stale_partial_with_wrong_bytes_is_discarded(server, tmp_path):
    dest = tmp_path / "raw"
    rel = "records100/00000/00001_lr.dat"
    (dest / rel).parent.mkdir(parents=True)
    (dest / (rel + ".part")).write_bytes(b"\xff" * 100)  # garbage from some other transfer
    summary = fetch(server, dest)
    assert (dest / rel).read_bytes() == FILES[rel]
    assert summary["files"] == 4
    assert server.file_requests(rel) == ["bytes=100-", None]  # resumed, mismatched, fetched whole once


def test_checksum_mismatch_is_an_error_and_the_file_is_not_kept(tmp_path, monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(var, raising=False)
    rel = "records100/00000/00001_lr.dat"
    make_tree(tmp_path / "www", sums_override={rel: "0" * 64})
    with Server(tmp_path / "www") as srv:
        dest = tmp_path / "raw"
        with pytest.raises(dl.DownloadError) as err:
            fetch(srv, dest)
        msg = str(err.value)
        assert rel in msg and "SHA-256" in msg and "0" * 64 in msg
        assert not (dest / rel).exists() and not (dest / (rel + ".part")).exists()
        assert (dest / "ptbxl_database.csv").exists()  # the good files are kept
        assert len(srv.file_requests(rel)) == 1  # a fresh full download that mismatches is not retried


def test_a_copy_from_another_server_is_checked_against_that_servers_checksums(tmp_path):
    """download.mirror changed (a synthetic PhysioNet mirror first, then PhysioNet itself, into the same raw_dir):
    the first server's cached SHA256SUMS.txt must not vouch for its files when the second one's are wanted."""
    other = {**FILES, "ptbxl_database.csv": b"ecg_id,patient_id\n1,1.0\n"}
    make_tree(tmp_path / "a")
    make_tree(tmp_path / "b", files=other)
    dest = tmp_path / "raw"
    with Server(tmp_path / "a") as a:
        fetch(a, dest)
    with Server(tmp_path / "b") as b:
        summary = fetch(b, dest)
        again = fetch(b, dest)
    assert (dest / "ptbxl_database.csv").read_bytes() == other["ptbxl_database.csv"]
    assert (summary["downloaded"], summary["present"]) == (1, 3)
    assert (again["downloaded"], again["present"]) == (0, 4)
    assert (dest / "SHA256SUMS.txt").read_bytes() == (tmp_path / "b" / BASE / "SHA256SUMS.txt").read_bytes()


def test_file_missing_on_the_server(server, tmp_path):
    (server.root / "files/ptb-xl/1.0.3/records100/00000/00001_lr.hea").unlink()
    dest = tmp_path / "raw"
    with pytest.raises(dl.DownloadError) as err:
        fetch(server, dest)
    msg = str(err.value)
    assert "records100/00000/00001_lr.hea" in msg and "404" in msg
    assert not (dest / "records100/00000/00001_lr.hea").exists()
    assert (dest / "records100/00000/00001_lr.dat").read_bytes() == FILES["records100/00000/00001_lr.dat"]
    assert len(server.file_requests("records100/00000/00001_lr.hea")) == 1  # 404 is not retried


def test_unreachable_host_says_how_to_use_a_local_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(dl.Unreachable) as err:
        dl.download_tree(f"http://127.0.0.1:{port}/files/ptb-xl/1.0.3/", tmp_path / "raw", ("records100/",),
                         retries=1, backoff=0.01, timeout=2, log=lambda m: None,
                         hint=dl.local_copy_hint("ptbxl_dir", "PTB-XL v1.0.3"))
    msg = str(err.value)
    assert "ptbxl_dir" in msg and "--config ptbxl_dir=" in msg and "2 attempts" in msg


def test_parse_sums_rejects_unsafe_and_malformed_lines():
    good = "a" * 64
    assert dl.parse_sums(f"{good}  ./records100/x.dat\n{good} *y.csv\n") == {"records100/x.dat": good, "y.csv": good}
    with pytest.raises(dl.DownloadError, match="unsafe"):
        dl.parse_sums(f"{good} ../etc/passwd\n")
    with pytest.raises(dl.DownloadError, match="line 1"):
        dl.parse_sums("nothex file\n")


def test_cli_download_rule_through_a_mirror(server, tmp_path):
    """`python -m benchmark download` (what the Snakemake rule runs), pointed at the loopback mirror."""
    import yaml

    cfg = yaml.safe_load((REPO / "config" / "local.yaml").read_text())
    cfg.update(ptbxl_dir=None, raw_dir=str(tmp_path / "raw"), results_dir=str(tmp_path / "results"),
               download={"mirror": server.url.removesuffix("ptb-xl/1.0.3/"), "retries": 1, "backoff": 0.01})
    path = tmp_path / "preset.yaml"
    path.write_text(yaml.safe_dump(cfg))
    marker = tmp_path / "raw" / "ptbxl" / ".downloads" / "metadata.json"
    run = subprocess.run([sys.executable, "-m", "benchmark", "download", "--config", str(path), "--source", "ptbxl",
                          "--part", "metadata", "--out", str(marker)], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    info = json.loads(marker.read_text())
    assert info["files"] == 2 and info["downloaded"] == 2
    assert (tmp_path / "raw" / "ptbxl" / "scp_statements.csv").read_bytes() == FILES["scp_statements.csv"]
