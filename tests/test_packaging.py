"""Install files stay consistent: one pinned stack (requirements/lock.txt) that make, CI and environment.yml
install, satisfying pyproject.toml's ranges; torch pinned and installed first; CI runs the README's test command."""
import re
import tomllib

import yaml
from packaging.requirements import Requirement

from conftest import REPO

LOCK = REPO / "requirements" / "lock.txt"


def _pins(lines) -> dict[str, str]:
    """name (normalised) -> exact version of `name==version` lines."""
    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


def test_the_lock_pins_every_package_exactly_and_satisfies_pyproject():
    lines = [ln for ln in LOCK.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[^\s=<>~!]+", ln) for ln in lines), "exact pins only"
    pins = _pins(lines)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"] + project["optional-dependencies"]["slurm"]
    for req in map(Requirement, wanted):
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"{req.name} is not in {LOCK.name}: run make lock"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req} but the lock pins {pins[name]}"
    # transitive dependencies are pinned too (e.g. what torch, pandas and snakemake need)
    assert {"sympy", "python-dateutil", "jinja2", "pyyaml"} <= set(pins)


def test_environment_yml_installs_the_lock():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert _pins(pip_section) == _pins(ln for ln in LOCK.read_text().splitlines() if not ln.startswith("#"))


def test_torch_is_pinned_everywhere_and_installed_first():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "torch==2.13.0" in project["dependencies"]
    assert _pins(ln for ln in LOCK.read_text().splitlines() if not ln.startswith("#"))["torch"] == "2.13.0"
    install = (REPO / "Makefile").read_text().split("install:")[1].split("\n\n")[0]
    steps = [ln.strip() for ln in install.splitlines() if ln.strip().startswith("$(PIP)")]
    assert "torch==2.13.0" in steps[0] and "-r requirements/lock.txt" in steps[1] and "--no-deps" in steps[2]


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
    assert "pytest" in (REPO / "Makefile").read_text()
