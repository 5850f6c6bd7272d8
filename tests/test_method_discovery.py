"""methods/* discovery: every real folder loads; broken folders stop with a message naming folder and fix."""
import subprocess
import sys

import pytest
import yaml

from benchmark.errors import ConfigError
from benchmark.method import discover, load_method, selected
from conftest import REPO, tiny_config_dict

GOOD = "import benchmark\n\nclass Method(benchmark.Method):\n    title = 'T'\n    def training_step(self, batch):\n        return self.encoder(batch['ecg']).pow(2).mean()\n"


def _folder(root, name, method=GOOD, config="optimizer: {name: adam, lr: 0.001}\n"):
    d = root / name
    d.mkdir(parents=True)
    if method is not None:
        (d / "method.py").write_text(method)
    if config is not None:
        (d / "config.yaml").write_text(config)
    return d


def test_project_methods_are_discovered_with_the_paper_baselines():
    methods = discover()
    assert {"etp", "random_init"} <= set(methods)
    assert methods["etp"].cls.zero_shot and methods["etp"].cls.needs_text
    assert methods["random_init"].config["trains"] is False
    for spec in methods.values():
        assert (spec.folder / "README.md").is_file(), f"{spec.folder} lacks its README.md"


def test_new_folder_is_picked_up_without_other_edits(tmp_path):
    _folder(tmp_path, "mine")
    _folder(tmp_path, "_template")  # skipped
    found = discover(tmp_path)
    assert list(found) == ["mine"] and found["mine"].title == "T"


def test_missing_method_py_names_the_folder(tmp_path):
    _folder(tmp_path, "broken", method=None)
    with pytest.raises(ConfigError, match=r"broken has no method.py"):
        discover(tmp_path)


def test_invalid_config_names_the_file_and_the_key(tmp_path):
    _folder(tmp_path, "bad", config="optimizer: {name: rmsprop, lr: 0.1}\n")
    with pytest.raises(ConfigError, match=r"(?s)bad/config.yaml.*optimizer.name"):
        load_method(tmp_path / "bad")
    _folder(tmp_path, "unparsable", config="optimizer: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_method(tmp_path / "unparsable")


def test_method_py_without_method_class(tmp_path):
    _folder(tmp_path, "noclass", method="x = 1\n")
    with pytest.raises(ConfigError, match=r"must define `class Method\(benchmark.Method\)`"):
        load_method(tmp_path / "noclass")


def test_config_naming_an_unknown_method(tmp_path):
    with pytest.raises(ConfigError, match=r"\['nosuch'\].*available"):
        selected({"methods": ["etp", "nosuch"]})


def test_workflow_stops_at_startup_with_a_clear_message(tmp_path):
    cfg = tiny_config_dict(tmp_path, methods=["etp", "nosuch"])
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(path),
                          "--directory", str(REPO), "--snakefile", str(REPO / "workflow" / "Snakefile")],
                         capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "nosuch" in out and "available" in out
    assert "Traceback (most recent call last)" not in out
