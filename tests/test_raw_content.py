"""A raw copy's fingerprint is over what its files hold (benchmark.data.content): the same for a copy with new times
or at another path, different for one changed byte, an added or a removed file; its caches only save reading."""
import os
import shutil

import pytest

from benchmark.data import content


def _tree(root, n=30):
    for i in range(n):
        folder = root / "files" / f"p{i % 3}" / f"s{i}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.hea").write_text(f"{i} 12 500 5000\n")
        (folder / f"{i}.dat").write_bytes(bytes([i]) * 64)
    (root / "record_list.csv").write_text("study_id\n" + "\n".join(map(str, range(n))) + "\n")
    (root / ".partial").write_text("a download in progress: not part of the copy")
    return root


def _age(root, seconds=10):
    """Every file and folder dated `seconds` back: older than the window in which a change could hide in a tick."""
    for p in [root, *root.rglob("*")]:
        st = p.stat()
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10 ** 9))


def test_a_copy_with_other_times_or_another_path_fingerprints_the_same(tmp_path):
    a = _tree(tmp_path / "a")
    _age(a)
    fp = content.fingerprint(a, tmp_path / "cache")
    b = tmp_path / "b"
    shutil.copytree(a, b, copy_function=shutil.copyfile)   # `cp` without -p: new modification times
    assert content.fingerprint(b, tmp_path / "cache") == fp
    assert content.fingerprint(a, tmp_path / "other_cache") == fp   # the cache only saves reading


def test_one_byte_an_added_or_a_removed_file_changes_it(tmp_path, capsys):
    a = _tree(tmp_path / "a")
    _age(a)
    cache = tmp_path / "cache"
    fp = content.fingerprint(a, cache)
    assert content.fingerprint(a, cache) == fp and "reading" not in capsys.readouterr().err.split("\n", 1)[1]
    dat = a / "files" / "p1" / "s4" / "4.dat"
    raw = bytearray(dat.read_bytes())
    raw[10] ^= 1
    dat.write_bytes(bytes(raw))   # same size
    edited = content.fingerprint(a, cache)
    assert edited != fp and "reading 1 of the 61 files" in capsys.readouterr().err
    (a / "files" / "p1" / "s4" / "extra.txt").write_text("x")
    added = content.fingerprint(a, cache)
    assert added not in (fp, edited)
    (a / "files" / "p1" / "s4" / "extra.txt").unlink()
    assert content.fingerprint(a, cache) == edited
    (a / "record_list.csv").unlink()
    assert content.fingerprint(a, cache) not in (fp, edited, added)


def test_a_change_hidden_in_a_clock_tick_is_still_seen(tmp_path):
    """A file changed right after it was fingerprinted, keeping its size and (restored) time: it was written in the
    last seconds, so it is read again rather than trusted."""
    a = _tree(tmp_path / "a")
    cache = tmp_path / "cache"
    fp = content.fingerprint(a, cache)
    dat = a / "files" / "p0" / "s3" / "3.dat"
    st = dat.stat()
    dat.write_bytes(b"\xff" * 64)
    os.utime(dat, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert content.fingerprint(a, cache) != fp


def test_the_parallel_check_of_a_large_tree_agrees_with_the_serial_one(tmp_path, monkeypatch):
    a = _tree(tmp_path / "a", n=200)
    _age(a)
    serial = content.fingerprint(a, tmp_path / "cache")
    monkeypatch.setattr(content, "PARALLEL_DIRS", 1)
    monkeypatch.setattr(content, "STAT_CHUNK", 7)   # chunks change the stat digest, not the content fingerprint
    assert content.fingerprint(a, tmp_path / "cache2") == serial
    assert content.fingerprint(a, tmp_path / "cache2") == serial   # the remembered layout, checked in parallel
    dat = a / "files" / "p2" / "s5" / "5.dat"
    dat.write_bytes(b"\x01" * 64)
    st = dat.stat()
    os.utime(dat, ns=(st.st_atime_ns, st.st_mtime_ns - 10 ** 10))
    assert content.fingerprint(a, tmp_path / "cache2") != serial


@pytest.mark.parametrize("skip", [{"records500"}])
def test_top_level_folders_left_out_do_not_count(tmp_path, skip):
    a = _tree(tmp_path / "a")
    fp = content.fingerprint(a, tmp_path / "cache", skip)
    (a / "records500").mkdir()
    (a / "records500" / "x.dat").write_bytes(b"1")
    assert content.fingerprint(a, tmp_path / "cache", skip) == fp
