"""A bad value is refused where it enters, with one line naming the key, file, record or setting and a remedy that
works; none reaches a board (issue: "No silently wrong board from a bad value")."""
from __future__ import annotations

import subprocess
import sys

import yaml

from conftest import REPO, tiny_config_dict


def dry_run(tmp_path, *config: str) -> subprocess.CompletedProcess:
    preset = tmp_path / "preset.yaml"
    preset.write_text(yaml.safe_dump(tiny_config_dict(tmp_path)))
    return subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(preset),
                           "--snakefile", str(REPO / "workflow" / "Snakefile"), "--directory", str(tmp_path),
                           "--config", *config], capture_output=True, text=True, timeout=600)


def test_a_repeated_seed_or_an_unknown_key_stops_the_workflow_in_one_line_each(tmp_path):
    run = dry_run(tmp_path, "seeds=[0,0]", "pretrian=3")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "  seeds: [0, 0] repeats 0: list each value once" in out.splitlines()
    assert "  (top level): unknown key 'pretrian' (did you mean 'pretrain'?)" in out
    assert "Failed validating" not in out and "'$schema'" not in out  # not the schema and config dump


def test_a_results_folder_that_cannot_be_written_is_named_at_start_up(tmp_path, monkeypatch):
    """Before: Snakemake's "Write-protected output files for rule pretrain" at the first job to run."""
    import os

    import pytest

    from benchmark import paths
    from benchmark.errors import ConfigError

    cfg = tiny_config_dict(tmp_path)
    paths.check_writable(cfg)   # tmp_path is writable
    monkeypatch.setattr(os, "access", lambda p, mode: not str(p).startswith(str(tmp_path)))
    with pytest.raises(ConfigError, match=rf"^results_dir is '{tmp_path}/results', and {tmp_path} cannot be written "
                                          r"\(.*\): make it writable, or point results_dir at a writable folder"):
        paths.check_writable(cfg)


def test_portable_kernels_pin_avx2_and_a_cpu_without_it_is_told_the_key(monkeypatch):
    from benchmark import kernels
    from benchmark.errors import ConfigError

    import pytest

    monkeypatch.setattr(kernels, "cpu", lambda: ("Some CPU", ["avx2", "fma", "avx512f"]))
    assert kernels.variables("portable") == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                                             "MKL_ENABLE_INSTRUCTIONS": "AVX2", "MKL_CBWR": "AVX2"}
    assert kernels.variables("native") == {}
    monkeypatch.setattr(kernels, "cpu", lambda: ("Old CPU", ["fma"]))
    with pytest.raises(ConfigError, match=r"^kernels: portable pins AVX2 kernels, which this CPU \(Old CPU, .*\) does "
                                          r"not have; set `kernels: native` \(--config kernels=native\)"):
        kernels.variables("portable")
    assert kernels.variables("native") == {}
