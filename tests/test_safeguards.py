"""What a typo, an edited input, a second process or a full disk does: each is stopped with one line naming the
file, folder or key (issue: "Nothing a second command, a typo or an edited input can do goes unnoticed")."""
import errno
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import yaml

from benchmark.errors import BenchmarkError, ConfigError, TrainingDiverged
from benchmark.inputs import InputSpec
from benchmark.method import load_method
from benchmark.pretrain import OUTPUTS, build_method, pretrain
from conftest import REPO

from test_training_loop import toy  # noqa: F401  (fixture: a tiny store and a toy method)


def method_folder(root, name: str, body: str, config: str = "optimizer: {name: adam, lr: 0.001}\n"):
    folder = root / "methods" / name
    folder.mkdir(parents=True)
    (folder / "method.py").write_text("import benchmark\nfrom benchmark.encoders import ResNet18_1D\n\n"
                                      + textwrap.dedent(body))
    (folder / "config.yaml").write_text(config)
    return folder


# ------------------------------------------------------------------------------------------------ params
def copy_method(tmp_path, name, edit):
    import shutil

    dest = tmp_path / "methods" / name
    shutil.copytree(REPO / "methods" / name, dest)
    cfg = yaml.safe_load((dest / "config.yaml").read_text())
    edit(cfg["params"])
    (dest / "config.yaml").write_text(yaml.safe_dump(cfg))
    return dest


def test_a_misspelt_param_stops_at_start_up_naming_folder_and_key(tmp_path):
    folder = copy_method(tmp_path, "simclr", lambda p: p.update(hiden_dim=p.pop("hidden_dim")))
    with pytest.raises(ConfigError, match=rf"^{folder}/config.yaml: params.hiden_dim is not a parameter of this "
                                          r"method \(did you mean hidden_dim\?\)"):
        load_method(folder)


def test_a_missing_or_mistyped_param_or_augmentation_is_named(tmp_path):
    folder = copy_method(tmp_path, "byol", lambda p: p.pop("tau_base"))
    with pytest.raises(ConfigError, match=r"params lacks tau_base, declared by .*byol/method.py \(params_schema\)"):
        load_method(folder)
    folder = copy_method(tmp_path, "simsiam", lambda p: p.update(proj_dim="2048"))
    with pytest.raises(ConfigError, match=r"params.proj_dim: '2048' is not of type 'integer'"):
        load_method(folder)
    folder = copy_method(tmp_path, "tstcc", lambda p: p["tc"].update(layrs=4))
    with pytest.raises(ConfigError, match=r"params.tc: unknown key 'layrs' \(did you mean 'layers'\?\); the keys allowed here: "):
        load_method(folder)
    folder = copy_method(tmp_path, "astcl", lambda p: p["noise_augmentations"][1].update(sigam=0.1))
    with pytest.raises(ConfigError, match=r"params.noise_augmentations\[1\]: augmentation 'gaussian_noise' has no "
                                          r"argument 'sigam' \(did you mean 'sigma'\?\)"):
        load_method(folder)


def test_an_augmentation_may_be_a_bare_name_and_a_misspelt_one_is_named(tmp_path):
    """Before: `[gaussian_noise]` and `[jitterr]` both gave "unknown augmentation None"."""
    from benchmark.augment import Compose, resolve

    assert resolve(["gaussian_noise"]) == [{"name": "gaussian_noise"}]
    assert len(Compose.from_config(["gaussian_noise", {"name": "amplitude_scale", "apply_p": 0.5}], 100).steps) == 2
    folder = copy_method(tmp_path, "simclr", lambda p: p.update(augmentations=["jitterr"]))
    with pytest.raises(ConfigError, match=r"params.augmentations\[0\]: unknown augmentation 'jitterr'; available: amplitude_scale, "):
        load_method(folder)
    with pytest.raises(ConfigError, match=r"a method config\[0\]: 3 is not an augmentation; write its name "):
        resolve([3])


def test_a_param_may_not_take_the_name_of_a_run_fact(tmp_path):
    folder = method_folder(tmp_path, "clash", """
        class Method(benchmark.Method):
            params_schema = {"leads": {"type": "integer"}}
        """, "optimizer: {name: adam, lr: 0.001}\nparams: {leads: 3}\n")
    with pytest.raises(ConfigError, match=r"declares the parameter 'leads' in params_schema, a name the training loop"):
        load_method(folder)


def test_every_shipped_method_builds_from_its_declared_params_alone():
    """The loop gives a method its config.yaml params and the run facts, nothing else: a method reading a key it
    did not declare fails here (KeyError, reported as a ConfigError); and no method reads a param with a default
    of its own (cfg.get), which would let a key missing from config.yaml go unnoticed."""
    from benchmark.method import discover

    for name, spec in discover().items():
        if not spec.external:
            build_method(spec, {}, InputSpec(100, 500), text_dim=384, epochs=2, steps_per_epoch=3)
        assert "cfg.get(" not in (spec.folder / "method.py").read_text(), name


# ------------------------------------------------------------------------------------------------ load-time checks
def test_an_encoder_that_expects_other_leads_is_named_before_any_work(tmp_path):
    folder = method_folder(tmp_path, "eightlead", """
        class Method(benchmark.Method):
            @classmethod
            def build_encoder(cls, cfg):
                return ResNet18_1D(in_leads=8)   # trained on 8 leads; config.yaml declares none
        """)
    with pytest.raises(ConfigError, match=r"^methods/eightlead: its encoder fails on a batch of the input it declares "
                                          r"\(100 Hz, 5 s \(500 samples\); 12 leads I, II, .*\): RuntimeError: .*"
                                          r"`input: leads` is not declared"):
        build_method(load_method(folder), {}, InputSpec(100, 500))
    cfg = yaml.safe_load((folder / "config.yaml").read_text())
    cfg["input"] = {"leads": ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]}
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert build_method(load_method(folder), {}, InputSpec(100, 500)).feature_dim == 512


def test_a_wrong_feature_dim_is_caught_before_anything_is_written(tmp_path):
    folder = method_folder(tmp_path, "widefeatures", """
        class Method(benchmark.Method):
            feature_dim = 256
        """)
    with pytest.raises(ConfigError, match=r"^methods/widefeatures: features\(\) of a batch of 2 records returns "
                                          r"\[2, 512\], but feature_dim is 256"):
        build_method(load_method(folder), {}, InputSpec(100, 500))


def test_a_method_whose_init_raises_names_folder_and_line(tmp_path):
    folder = method_folder(tmp_path, "broken", """
        class Method(benchmark.Method):
            def __init__(self, encoder, cfg):
                super().__init__(encoder, cfg)
                self.head = cfg["hidden"]
        """)
    with pytest.raises(ConfigError, match=r"^methods/broken: Method.__init__ failed \(at method.py line 8: "
                                          r"self.head = cfg\[\"hidden\"\]\): KeyError: 'hidden'$"):
        build_method(load_method(folder), {}, InputSpec(100, 500))


@pytest.mark.parametrize("raised", [OSError(errno.ENOSPC, "No space left on device", "/data/x/subsets.csv"),
                                    RuntimeError("[enforce fail at inline_container.cc:603] . PytorchStreamWriter "
                                                 "failed writing file data/0: file write failed"),
                                    # torch.save on a full disk (its two wordings, the second measured on a tmpfs)
                                    RuntimeError("basic_ios::clear: iostream error"),
                                    RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")])
def test_a_full_disk_is_one_line_naming_the_file(raised, tiny_config, monkeypatch, capsys):
    from benchmark.__main__ import main
    from benchmark.evaluate.steps import subsets

    def full(*_):
        raise raised
    monkeypatch.setattr(subsets, "write_subsets", full)
    rc = main(["subsets", "--config", str(tiny_config), "--task", "synth_cpsc", "--out", "/data/x/subsets.csv"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert err[0].startswith("error (subsets): no space left on the device while writing /data/x/subsets.csv: "
                             "free some space")


def test_a_bug_keeps_its_traceback(tiny_config, monkeypatch):
    from benchmark.__main__ import main
    from benchmark.evaluate.steps import subsets

    def bug(*_):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(subsets, "write_subsets", bug)
    with pytest.raises(ZeroDivisionError):
        main(["subsets", "--config", str(tiny_config), "--task", "synth_cpsc", "--out", "/tmp/never.csv"])


def test_failed_jobs_are_listed_with_their_one_line_error(tmp_path):
    from benchmark import failures

    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_text("loading\r 10%|#\r 50%|###\nerror (pretrain): methods/x: boom\n")
    (tmp_path / "logs" / "b.log").write_text("Traceback (most recent call last):\n  File x\nValueError: bad shape\n")
    log = tmp_path / "snakemake.log"
    log.write_text("".join(f"[Wed Dec  2 03:48:20 2026]\nError in rule {rule}:\n    message: None\n    jobid: {j}\n"
                           f"    output: out{j}\n    log: {tmp_path}/logs/{name}.log (check log file(s) for error "
                           f"details)\n    shell:\n        cmd\n        (command exited with non-zero exit code)\n"
                           for rule, j, name in [("pretrain", 1, "a"), ("features", 2, "b"), ("pretrain", 1, "a")]))
    assert failures.summary(log) == (
        f"2 job(s) failed:\n  pretrain: error (pretrain): methods/x: boom\n    log: {tmp_path}/logs/a.log\n"
        f"  features: ValueError: bad shape\n    log: {tmp_path}/logs/b.log")
    # an error that lists what it counts on the lines after it: they come along (before: "1 bad record(s):")
    (tmp_path / "logs" / "c.log").write_text("error (prepare): dataset ptbxl: 1 bad record(s):\n  2: truncated signal"
                                             "\nFix or remove the files, or set `bad_records: skip`\n")
    assert failures.error_line(tmp_path / "logs" / "c.log") == (
        "error (prepare): dataset ptbxl: 1 bad record(s): 2: truncated signal Fix or remove the files, or set "
        "`bad_records: skip`")
    # a step killed mid-epoch left no error, only its progress bar (before: shown as the error)
    (tmp_path / "logs" / "d.log").write_text("[simclr seed 0] 24 steps per epoch\npretrain: simclr s0 epoch 2/2:   "
                                             "8%|▊         | 2/24 [00:01<00:12,  1.8it/s]")
    assert failures.error_line(tmp_path / "logs" / "d.log") == (
        "no error in its log: the step was stopped from outside (killed for memory or by a signal, or its disk filled "
        "up while it wrote the log); its last line: [simclr seed 0] 24 steps per epoch")


# ------------------------------------------------------------------------------------------------ training
def test_nan_says_what_is_really_kept(toy):  # noqa: F811
    config, spec, tmp = toy
    config["pretrain"]["check_every"] = 1
    spec.cls.nan_at = 1   # epoch 1: nothing finished, nothing written
    no_checkpoint = (r"No epoch of this run finished, so {} holds no checkpoint of it: a re-run starts from scratch")
    with pytest.raises(TrainingDiverged, match=r"at epoch 1, step 1; .* " + no_checkpoint.format(tmp / "first")):
        pretrain(config, spec, seed=0, out_dir=tmp / "first", threads=1)
    assert not (tmp / "first" / "checkpoint.pt").exists()
    spec.cls.calls, spec.cls.nan_at = 0, 3   # epoch 2 (two steps per epoch): epoch 1's checkpoint is on disk
    with pytest.raises(TrainingDiverged, match=r"at epoch 2, step 1; .* The checkpoint written after epoch 1 is kept "
                                               rf"in {tmp / 'second' / 'checkpoint.pt'}"):
        pretrain(config, spec, seed=0, out_dir=tmp / "second", threads=1)
    assert (tmp / "second" / "checkpoint.pt").exists()
    # the advice followed (another lr): the checkpoint on disk is of other settings, and is not this run's
    config["pretrain"]["epochs"] = 4
    spec.cls.calls, spec.cls.nan_at = 0, 1
    with pytest.raises(TrainingDiverged, match=r"at epoch 1, step 1; .* " + no_checkpoint.format(tmp / "second")):
        pretrain(config, spec, seed=0, out_dir=tmp / "second", threads=1)


def test_a_second_trainer_of_one_folder_is_refused(toy):  # noqa: F811
    config, spec, tmp = toy
    out = tmp / "locked"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from benchmark.io import exclusive
        with exclusive({str(out)!r}, "a test"):
            print("held", flush=True)
            time.sleep(120)
        """)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(BenchmarkError, match=rf"^{out} is being written by pid {holder.pid} on .*: the "
                                                 r"pre-training of toy seed 0 already runs there"):
            pretrain(config, spec, seed=0, out_dir=out, threads=1)
        assert spec.cls.calls == 0 and not (out / "train_log.json").exists()
    finally:
        holder.kill()
        holder.wait()
    pretrain(config, spec, seed=0, out_dir=out, threads=1)   # the lock dies with its holder
    assert (out / "train_log.json").exists()


def test_a_finished_run_whose_outputs_snakemake_deleted_is_put_back_not_retrained(toy, capsys):  # noqa: F811
    config, spec, tmp = toy
    out = tmp / "run"
    info = pretrain(config, spec, seed=0, out_dir=out, threads=1)
    written = {f: (out / f).read_bytes() for f in OUTPUTS}
    for f in OUTPUTS:           # what Snakemake does before it runs a job flagged incomplete again
        (out / f).unlink()
    spec.cls.calls = 0
    assert pretrain(config, spec, seed=0, out_dir=out, threads=1) == info
    assert spec.cls.calls == 0 and "put back" in capsys.readouterr().err
    assert {f: (out / f).read_bytes() for f in OUTPUTS} == written
    config["pretrain"]["epochs"] = 2   # other settings: trained again
    for f in OUTPUTS:
        (out / f).unlink()
    assert pretrain(config, spec, seed=0, out_dir=out, threads=1)["epochs"] == 2 and spec.cls.calls > 0


# ------------------------------------------------------------------------------------------------ raw data
def test_an_edited_label_or_record_rebuilds_the_store(shared_data, tmp_path, capsys):
    from benchmark.data import load_store, prepare
    from test_data_ptbxl import local_config, mini_copy

    root = mini_copy(shared_data, tmp_path)
    cfg = local_config(tmp_path, root, allow_partial=True)
    out = tmp_path / "store"
    prepare(cfg, "ptbxl", out)
    assert load_store(out).records.set_index("ecg_id").at["1", "labels"] == "NORM"

    db = pd.read_csv(root / "ptbxl_database.csv")
    db.loc[db.ecg_id == 1, "scp_codes"] = "{'IMI': 100.0, 'SR': 0.0}"
    db.to_csv(root / "ptbxl_database.csv", index=False)
    capsys.readouterr()
    prepare(cfg, "ptbxl", out)
    assert "rebuilding it" in capsys.readouterr().err
    assert load_store(out).records.set_index("ecg_id").at["1", "labels"] == "MI"

    prepare(cfg, "ptbxl", out)
    assert "nothing to do" in capsys.readouterr().err
    dat = root / "records100" / "00000" / "00002_lr.dat"
    st = dat.stat()
    os.utime(dat, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))   # touched, same bytes: nothing to do
    prepare(cfg, "ptbxl", out)
    assert "nothing to do" in capsys.readouterr().err
    raw = bytearray(dat.read_bytes())
    raw[100] ^= 0xFF   # an edited record: one byte of one sample, same size (its header's checksum then fails)
    dat.write_bytes(bytes(raw))
    with pytest.raises(BenchmarkError, match="2: header/data mismatch: the checksum of lead"):
        prepare(cfg, "ptbxl", out)
    assert "rebuilding it" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------ README
def test_the_readme_shows_how_to_run_a_few_methods_and_the_command_does_so(tmp_path):
    import re

    from test_fresh_clone import scheduled

    readme = (REPO / "README.md").read_text()
    shown = re.search(r"`(snakemake --cores all --configfile config/demo.yaml --config\s+'methods=\[random_init,etp,"
                      r"mymodel\]')`", readme)
    assert shown, "README: how to run a subset of methods"
    for needed in ("a relative path counts from the method folder", "`leads`", "`n_samples`", "`sampling_rate`",
                   "by default `encoder.out_dim`"):
        assert needed in readme, needed
    cmd = shown.group(1).split()
    cmd[cmd.index("'methods=[random_init,etp,mymodel]'")] = "methods=[random_init,etp]"
    # with the seeds the published boards use, as the README gives them (Snakemake passes them as strings)
    assert "--config 'seeds=[0,1,2]'" in readme
    run = subprocess.run([sys.executable, "-m", *cmd[:1], "--dry-run", *cmd[1:], "seeds=[0,1,2]",
                          f"results_dir={tmp_path / 'results'}"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    jobs = [dict(kv.split("=") for kv in job) for job in scheduled(run.stdout, "pretrain")]
    assert {(j["method"], j["seed"]) for j in jobs} == {(m, s) for m in ("random_init", "etp") for s in "012"}
    assert not (tmp_path / "results").exists(), "a dry run writes nothing"


def test_a_kept_output_damaged_in_place_is_not_put_back(toy, capsys):  # noqa: F811
    """The kept copy under .finished/ is a hard link to the output: a model truncated in place truncated it too.
    Before, a forced re-run put those bytes back unchecked; now their checksum sends the step to train again."""
    config, spec, tmp = toy
    out = tmp / "run"
    pretrain(config, spec, seed=0, out_dir=out, threads=1)
    written = (out / "model.safetensors").read_bytes()
    with open(out / "model.safetensors", "r+b") as f:   # truncated in place (same inode as the kept copy)
        f.truncate(100)
    for f in OUTPUTS:           # a forced re-run: Snakemake deletes the outputs first
        (out / f).unlink()
    spec.cls.calls = 0
    pretrain(config, spec, seed=0, out_dir=out, threads=1)
    err = capsys.readouterr().err
    assert spec.cls.calls > 0 and "put back" not in err.replace("not put back", "")
    assert f"{out / '.finished' / 'model.safetensors'} no longer holds the bytes it was finished with" in err
    assert (out / "model.safetensors").read_bytes() == written   # trained again, deterministically


def test_a_damaged_model_is_named_with_the_command_that_remakes_it(tmp_path):
    from benchmark.checkpoints import CheckpointError
    from benchmark.encoders import ResNet18_1D
    from benchmark.evaluate.encode import load_weights

    model = tmp_path / "model.safetensors"
    model.write_bytes(b"\x10\x00")   # cut short
    with pytest.raises(CheckpointError, match=rf"cannot read {model} as safetensors \(.*\)\. make it again: run the "
                                              rf"same snakemake command with `--forcerun {model}` added"):
        load_weights(ResNet18_1D(), model, "the encoder")
