"""`snakemake --lint` finds nothing in the workflow, on the demo and the paper preset: helper functions stay in
common.smk, every rule names its software environment (environment.yml) and its shell command uses only its
own parameters."""
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.parametrize("preset", ["config/demo.yaml", "config/config.yaml"])
def test_lint_is_clean(preset):
    run = subprocess.run([sys.executable, "-m", "snakemake", "--lint", "--configfile", preset], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0 and "Congratulations, your workflow is in a good condition!" in out, out[-3000:]
