"""Adding a method, first time right: the template folder works as it is, `python -m benchmark methods --check`
runs one training step in seconds and names the file and line (or the loss term) of a failure, and numbers in
config.yaml read as people write them."""
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from benchmark.errors import BenchmarkError, ConfigError
from benchmark.method import discover, load_method
from benchmark.method_check import check_methods
from conftest import REPO, tiny_config_dict


def _config(tmp_path, methods_dir):
    cfg = tiny_config_dict(tmp_path)
    cfg["methods_dir"] = str(methods_dir)
    path = tmp_path / "preset.yaml"
    path.write_text(yaml.safe_dump(cfg))
    from benchmark.config import load_config

    return path, load_config(path)


def _copy_template(root, name="mymethod"):
    shutil.copytree(REPO / "methods" / "_template", root / name)
    return root / name


def test_every_shipped_method_passes_the_check():
    lines = check_methods(None, [])
    trained = {"astcl", "byol", "clocs", "cpc", "etp", "merl", "simclr", "simsiam", "tstcc"}
    assert {ln.split()[1].rstrip(":") for ln in lines if ln.startswith("ok")} >= trained | {"random_init"}
    assert all("one training step (loss" in ln for ln in lines if ln.split()[1].rstrip(":") in trained)
    assert not any(ln.startswith("FAIL") for ln in lines)


def test_the_template_copied_is_a_method_that_trains(tmp_path):
    assert "_template" not in discover()   # the template itself never runs
    _copy_template(tmp_path / "methods")
    preset, cfg = _config(tmp_path, tmp_path / "methods")
    [line] = check_methods(cfg, ["mymethod"])
    assert line.startswith("ok    mymethod: built, features, one training step (loss ") and "alignment" in line
    spec = load_method(tmp_path / "methods" / "mymethod")
    assert spec.config["optimizer"]["lr"] == 1.0e-3 and spec.title == "Template"
    # the command the template's README gives
    done = subprocess.run([sys.executable, "-m", "benchmark", "methods", "--check", "mymethod", "--config", str(preset)],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("ok    mymethod:"), done.stderr
    readme = (REPO / "methods" / "_template" / "README.md").read_text()
    assert "python -m benchmark methods --check <name>" in readme


def test_a_failing_folder_is_named_with_its_file_and_line(tmp_path):
    folder = _copy_template(tmp_path / "methods", "broken")
    method = folder / "method.py"
    method.write_text(method.read_text().replace('cfg["hidden_dim"]), nn.ReLU', 'cfg["expander_dims"]), nn.ReLU'))
    line = next(i for i, text in enumerate(method.read_text().splitlines(), 1) if "expander_dims" in text)
    preset, cfg = _config(tmp_path, tmp_path / "methods")
    with pytest.raises(BenchmarkError) as e:
        check_methods(cfg, ["broken"])
    assert (f"FAIL  broken: methods/broken: Method.__init__ failed (at method.py line {line}: "
            "self.projector = nn.Sequential(nn.Linear(encoder.out_dim, cfg[\"expander_dims\"]), nn.ReLU(inplace=True),)"
            ": KeyError: 'expander_dims'") in str(e.value)
    done = subprocess.run([sys.executable, "-m", "benchmark", "methods", "--check", "broken", "--config", str(preset)],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and "1 of 1 method folder(s) failed the check" in done.stderr


def test_a_loss_term_that_is_not_finite_is_named(tmp_path):
    folder = _copy_template(tmp_path / "methods", "nan")
    method = folder / "method.py"
    method.write_text(method.read_text().replace('"alignment": alignment(z1, z2).detach()',
                                                 '"alignment": alignment(z1, z2).detach() / 0.0'))
    _, cfg = _config(tmp_path, tmp_path / "methods")
    with pytest.raises(BenchmarkError, match=r"FAIL  nan: methods/nan: the loss term 'alignment' is (inf|nan) on the "
                                             r"first step of a random batch"):
        check_methods(cfg, ["nan"])


def test_numbers_in_config_yaml_read_as_written(tmp_path):
    folder = tmp_path / "methods" / "eps"
    folder.mkdir(parents=True)
    (folder / "method.py").write_text(textwrap.dedent("""
        import benchmark
        from benchmark import params as p

        class Method(benchmark.Method):
            params_schema = {"eps": p.positive_number}

            def training_step(self, batch):
                return self.encoder(batch["ecg"]).pow(2).mean() + self.cfg["eps"]
        """))
    (folder / "config.yaml").write_text("optimizer: {name: adam, lr: 1e-3}\nparams: {eps: 1e-4}\n")
    spec = load_method(folder)
    assert spec.config["optimizer"]["lr"] == 1e-3 and spec.config["params"]["eps"] == 1e-4
    (folder / "config.yaml").write_text("optimizer: {name: adam, lr: 1e-3}\nparams: {eps: '1e-4'}\n")
    with pytest.raises(ConfigError, match=r"params.eps: '1e-4' is not of type 'number' \(write it as a number, "
                                          r"without quotes: 0.0001\)"):
        load_method(folder)
