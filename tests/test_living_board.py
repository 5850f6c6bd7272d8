"""A living board, on real runs: an edit re-runs exactly the steps whose code it changes (Snakemake's dry run after
one line of code in each place), a method folder added to a finished run runs its own steps and the statistics and
joins the published board, and a content-identical copy of a local data folder re-runs nothing."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

METHODS = "methods=[random_init,etp,simclr]"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


def committed_copy(tmp: Path) -> Path:
    """This checkout's files (tracked, and untracked but not ignored: the working tree as it is) committed into a
    repository of their own: publish needs a committed tree, and the test edits files."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout.split("\0")
    repo = tmp / "repo"
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "the code under test")
    return repo


def snakemake(repo: Path, *args: str, dry: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "config/demo.yaml", *args]
    run = subprocess.run(cmd + (["-n"] if dry else []), cwd=repo, capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run


def job_counts(output: str) -> dict[str, int]:
    """Per-rule job counts of a Snakemake run or dry run ({} when there is nothing to do)."""
    table = output.split("Job stats:")[-1].split("total")[0] if "Job stats:" in output else ""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def dry_after_edit(repo: Path, rel: str, *config: str) -> dict[str, int]:
    """The jobs a dry run schedules after appending one line of code to `rel` (then undone)."""
    path = repo / rel
    original = path.read_text()
    path.write_text(original + "\nEDITED_FOR_A_TEST = 1\n")
    try:
        return job_counts(snakemake(repo, "--config", *config, dry=True).stdout)
    finally:
        path.write_text(original)


@pytest.fixture(scope="module")
def finished_demo(tmp_path_factory):
    """A committed copy of the code and a finished one-seed demo run of three methods in it."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = committed_copy(tmp_path_factory.mktemp("living"))
    snakemake(repo, "--config", METHODS)
    assert job_counts(snakemake(repo, "--config", METHODS, dry=True).stdout) == {}
    return repo


@pytest.mark.slow
def test_an_edit_re_runs_exactly_the_steps_whose_code_it_changes(finished_demo):
    repo = finished_demo
    after = {"compare": 2, "plots": 1, "leaderboard": 1, "all": 1}   # the statistics and the board follow any result
    # the linear probe: the linear steps of every method and seed (3 methods x 2 tasks), no pre-training or features
    assert dry_after_edit(repo, "benchmark/evaluate/linear.py", METHODS) == {"linear": 6, **after}
    # the zero-shot scorer: zero-shot steps only (ETP and random init x 2 tasks)
    assert dry_after_edit(repo, "benchmark/evaluate/zeroshot.py", METHODS) == {"zeroshot": 4, **after}
    # the training loop: every pre-training and what follows from it; no data preparation, no text embedding
    assert dry_after_edit(repo, "benchmark/pretrain.py", METHODS) == {
        "pretrain": 3, "features": 6, "linear": 6, "zeroshot": 4, **after}
    # one method's folder: that method's steps only
    assert dry_after_edit(repo, "methods/simclr/method.py", METHODS) == {
        "pretrain": 1, "features": 2, "linear": 2, **after}
    # a data module the preset does not use: nothing
    assert dry_after_edit(repo, "benchmark/data/mimic.py", METHODS) == {}
    # the board's rendering: the board only
    assert dry_after_edit(repo, "benchmark/leaderboard/tables.py", METHODS) == {"leaderboard": 1, "all": 1}
    # a module every step imports: every step
    assert dry_after_edit(repo, "benchmark/io.py", METHODS) == {
        "prepare_dataset": 2, "embed_reports": 1, "pretrain": 3, "subsets": 2, "features": 6, "linear": 6,
        "zeroshot": 4, **after}


@pytest.mark.slow
def test_a_method_folder_added_to_a_finished_run_joins_the_published_board(finished_demo):
    from benchmark.io import read_json

    repo = finished_demo
    publish = [sys.executable, "-m", "benchmark", "publish", "--config"]
    settings = lambda run: re.search(r"publish --config (\S+)", run.stdout + run.stderr).group(1)  # noqa: E731
    [first] = (repo / "results" / "demo" / "settings").glob("*.json")   # the finished run's settings
    done = subprocess.run(publish + [str(first)], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    first_commit = _git(repo, "rev-parse", "--short=12", "HEAD").strip()

    # a newcomer's folder: the template, copied, committed
    shutil.copytree(repo / "methods" / "_template", repo / "methods" / "newbie")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "a new method")
    more = METHODS.replace("]", ",newbie]")
    run = snakemake(repo, "--config", more)
    # its own steps and the statistics, nothing of the three finished methods
    assert job_counts(run.stdout + run.stderr) == {"pretrain": 1, "features": 2, "linear": 2, "compare": 2,
                                                    "plots": 1, "leaderboard": 1, "all": 1}
    done = subprocess.run(publish + [settings(run)], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    second_commit = _git(repo, "rev-parse", "--short=12", "HEAD").strip()
    board = read_json(repo / "docs" / "leaderboard" / "demo" / "leaderboard.json")
    assert board["code"]["groups"] == [
        {"commits": [first_commit], "methods": ["random_init", "simclr", "etp"]},
        {"commits": [second_commit], "methods": ["newbie"]}]
    md = (repo / "docs" / "leaderboard" / "demo" / "leaderboard.md").read_text()
    assert (f"- Code: rows Random init, SimCLR, ETP computed at commit {first_commit}; Template computed at commit "
            f"{second_commit}; every step they rest on ran the code it has at the commit this board was drawn at") in md
    assert "| Template " in (repo / "leaderboard.md").read_text()   # its row in the top-level headline


@pytest.mark.slow
def test_a_content_identical_copy_of_a_local_folder_re_runs_nothing(shared_data, tmp_path):
    """`cp` without -p (new modification times) or another path: the store is not prepared again; one record's
    bytes edited (same size): it is."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    from test_data_ptbxl import mini_copy

    repo = committed_copy(tmp_path)
    original = mini_copy(shared_data, tmp_path / "a", ids=range(1, 41))
    target = ["results/local/data/ptbxl/meta.json"]
    local = lambda folder: ["--configfile", "config/local.yaml", "--config", f"ptbxl_dir={folder}"]  # noqa: E731

    def run(folder, dry=False):
        cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *target, *(["-n"] if dry else []), *local(folder)]
        done = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return job_counts(done.stdout + done.stderr)

    assert run(original) == {"prepare_dataset": 1}
    copy = tmp_path / "b" / "ptbxl"
    copy.parent.mkdir()
    subprocess.run(["cp", "-r", str(original), str(copy)], check=True)   # new modification times, another path
    assert run(copy, dry=True) == {}
    relative = Path("..") / copy.relative_to(tmp_path)                   # the same copy, as a relative path
    assert run(relative, dry=True) == {}
    dat = copy / "records100" / "00000" / "00007_lr.dat"
    raw = bytearray(dat.read_bytes())
    raw[-1] ^= 0x01   # one sample's lowest bit, same size
    dat.write_bytes(bytes(raw))
    assert run(copy, dry=True) == {"prepare_dataset": 1}
