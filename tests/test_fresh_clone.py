"""What a new user gets: `git clone` + the README's workflow command schedules every job.

A committed file that is also a workflow target (once: the top-level leaderboard.md) makes Snakemake report
"Nothing to be done" in every fresh clone, while tests that redirect outputs to temporary folders pass. So this
test clones the repository's HEAD for real, committed leaderboard included, and dry-runs the demo and paper
presets there. Fast: nothing is trained.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import REPO


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip(f"{REPO} is not a git checkout (or git is missing): nothing to clone")
    dest = tmp_path_factory.mktemp("fresh") / "repo"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(dest)], check=True, timeout=300)
    return dest


def scheduled(dry_run_output: str, rule: str) -> set[tuple[str, ...]]:
    """Wildcard values of every job of `rule` in Snakemake's dry-run listing (one block per job, each opened
    by a timestamp line such as `[Wed Nov 25 12:50:37 2026]`)."""
    jobs = set()
    for block in re.split(r"^\[[^\]\n]*\d{4}\]$", dry_run_output, flags=re.M):
        if re.search(rf"^(?:local)?rule {rule}:", block, re.M):
            found = re.search(r"^\s+wildcards: (.*)$", block, re.M)
            jobs.add(tuple(sorted(found.group(1).split(", "))) if found else ())
    return jobs


def methods_of(repo, external: bool = False) -> dict[str, bool]:
    """Method folders of a checkout -> whether they train (config.yaml `trains`, default true); the folders that
    bring a published checkpoint (`weights:`) instead, with external=True."""
    out = {}
    for cfg in sorted((repo / "methods").glob("*/config.yaml")):
        if (cfg.parent / "method.py").is_file() and cfg.parent.name[0] not in "._":
            settings = yaml.safe_load(cfg.read_text()) or {}
            if bool(settings.get("weights")) == external:
                out[cfg.parent.name] = settings.get("trains", True)
    return out


@pytest.mark.parametrize("preset", ["config/demo.yaml", "config/config.yaml"])
def test_fresh_clone_schedules_every_pretrain_job(clone, preset):
    assert (clone / "leaderboard.md").is_file(), "the published board is part of the clone"
    run = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", "--cores", "2", "--configfile", preset],
                         cwd=clone, capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    assert "Nothing to be done" not in out, "a committed file is a workflow target"

    settings = yaml.safe_load((clone / preset).read_text())
    methods = methods_of(clone)
    if settings.get("methods", "all") != "all":
        methods = {m: methods[m] for m in settings["methods"]}
    assert sum(methods.values()) >= 8, methods  # the paper's eight trained rows at least
    seeds = settings.get("seeds", [0])
    pretrain = scheduled(out, "pretrain")
    for m in methods:  # random init too: its job exports the seeded initialisation
        for s in seeds:
            assert (f"method={m}", f"seed={s}") in pretrain, f"no pretrain job for {m} seed {s} in {preset}"
    assert scheduled(out, "leaderboard") == {()}
    assert scheduled(out, "prepare_dataset"), "the data are prepared in a fresh clone"
    # a published checkpoint a fresh clone cannot get is left out with one line saying why, and is no failure;
    # the offline presets download none
    for m in methods_of(clone, external=True):
        assert (f"method={m}", f"seed={seeds[0]}") in pretrain or f"methods/{m} is left out of preset" in out, m
    if preset == "config/demo.yaml":
        assert not scheduled(out, "fetch_weights") and not any(f"method={m}" in j for j in map(" ".join, pretrain)
                                                               for m in methods_of(clone, external=True))


def resources(dry_run_output: str, rule: str) -> list[dict[str, str]]:
    """The `resources:` line of every job of `rule` in a dry-run listing, as {name: value}."""
    found = []
    for block in re.split(r"^\[[^\]\n]*\d{4}\]$", dry_run_output, flags=re.M):
        if re.search(rf"^(?:local)?rule {rule}:", block, re.M):
            line = re.search(r"^\s+resources: (.*)$", block, re.M)
            found.append(dict(kv.split("=", 1) for kv in line.group(1).split(", ")) if line else {})
    return found


def test_slurm_profile_asks_a_gpu_for_pretraining_only(clone):
    """A broken cluster profile must fail here, not on a user's cluster: a dry run of the paper preset with
    workflow/profiles/slurm (Snakemake's SLURM executor plugin, in the `test` and `slurm` extras)."""
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install -e '.[slurm]' (CI installs it)")
    run = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", "--workflow-profile",
                          "workflow/profiles/slurm"], cwd=clone, capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    pretrain = resources(out, "pretrain")
    assert pretrain and all(r.get("gpu") == "1" and int(r["mem_mb"]) >= 32000 and int(r["runtime"]) >= 60
                            for r in pretrain)
    for rule in ("prepare_dataset", "features", "linear", "zeroshot", "compare"):
        jobs = resources(out, rule)
        assert jobs and all("gpu" not in r and int(r["mem_mb"]) > 0 for r in jobs), rule
    localrules = re.search(r"^localrules:\n((?:\s+\w+,?\n)+)", (clone / "workflow" / "Snakefile").read_text(), re.M)
    assert localrules and "download_physionet" in localrules.group(1), "downloads run on the submitting host"


def threads(dry_run_output: str, rule: str) -> list[int]:
    found = []
    for block in re.split(r"^\[[^\]\n]*\d{4}\]$", dry_run_output, flags=re.M):
        if re.search(rf"^(?:local)?rule {rule}:", block, re.M):
            line = re.search(r"^\s+threads: (\d+)$", block, re.M)
            found.append(int(line.group(1)) if line else 1)
    return found


def test_local_gpu_profile_takes_turns_on_the_gpu_and_leaves_cores_for_cpu_jobs(clone):
    """The paper preset on one GPU machine: every GPU job holds the one gpu resource; pre-training keeps 4
    threads, not every core (with 16 cores, 12 stay free for the CPU jobs)."""
    run = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", "--cores", "16", "--workflow-profile",
                          "workflow/profiles/local-gpu"], cwd=clone, capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]
    for rule in ("pretrain", "embed_reports", "features", "zeroshot"):
        assert all(r.get("gpu") == "1" for r in resources(out, rule)) and resources(out, rule), rule
    assert set(threads(out, "pretrain")) == {4}
    assert all("gpu" not in r for r in resources(out, "linear"))
    profile = yaml.safe_load((clone / "workflow/profiles/local-gpu/config.yaml").read_text())
    assert profile["resources"] == ["gpu=1"]
