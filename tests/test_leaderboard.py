"""Leaderboard tables: our numbers in our columns, the paper's only in (ref.) columns, demo clearly marked;
every row states its steps; stale rows are marked; only one complete run of the current code is published."""
import json

import pytest
import yaml

from benchmark import leaderboard, paths, provenance, stepcode
from benchmark.config import load_config
from benchmark.errors import BenchmarkError, ConfigError
from benchmark.io import read_json, write_json
from conftest import REPO

TITLES = {"etp": "ETP", "random_init": "Random init"}
METHODS, ZERO_SHOT = ["etp", "random_init"], ["etp", "random_init"]


def _config(tmp_path, **changes):
    raw = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    raw.update(results_dir=str(tmp_path / "r"), **changes)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    return load_config(tmp_path / "c.yaml")


def _code(kind, method, commit, fingerprint=None):
    """The code record a metrics file of `kind` carries: its pre-training and its own step, at `commit`, with this
    tree's fingerprints (or `fingerprint` for its own step: other code)."""
    folder = paths.method_folder(method)
    record = {}
    for step in ("pretrain", kind):
        entry = {"step": step, "method": method, "commit": commit,
                 "fingerprint": fingerprint if fingerprint and step == kind else stepcode.fingerprint(step, folder)}
        record[provenance.step_key(entry)] = entry
    return record


def _metric(cfg, kind, method, seed, task, metrics, commit="abc123", steps=48, fingerprint=None, **prov):
    write_json(paths.metrics(cfg, kind, method, seed, task), {
        "method": method, "seed": seed, "task": task, "split_sizes": {"train": 8, "val": 2, "test": 3},
        "metrics": metrics, "code": _code(kind, method, commit, fingerprint),
        "provenance": {"pretrain_device": "CPU (test)", "commit": commit, "pretrain_commit": commit,
                       "pretrain_steps": 0 if method == "random_init" else steps,
                       "pretrain_command": "snakemake --cores all --configfile config/demo.yaml", **prov}})


@pytest.fixture(autouse=True)
def invoked(monkeypatch):
    """The boards of these tests are drawn as the workflow's leaderboard step draws them: under Snakemake."""
    monkeypatch.setenv("BENCHMARK_INVOCATION", "snakemake --cores all --configfile config/demo.yaml")


@pytest.fixture(autouse=True)
def committed(monkeypatch):
    """This tree as a committed one (commit f00d), whatever the checkout's state: publish checks it."""
    monkeypatch.setattr(provenance, "code_commit", lambda *a, **k: "f00d")
    return "f00d"


def _zs(cfg, task, auc=0.6):
    return {"per_class": {c: {"auc": auc, "acc": 0.5, "f1": 0.25} for c in cfg["tasks"][task]["classes"]},
            "average": {"auc": auc, "acc": 0.5, "f1": 0.25}}


def _stats(cfg, task, cells: dict):
    """A compare-step statistics file for `task` in which every linear column holds `cells`: method -> (value, CI
    low, CI high, (paired difference to random init: low, high) or None)."""
    def cell():
        best = max(cells, key=lambda m: cells[m][0])
        out = {"best": best, "methods": {}}
        for m, (v, lo, hi, diff) in cells.items():
            entry = {"value": v, "ci": {"lo": lo, "hi": hi}}
            if m != best:
                entry["vs_best"] = {"distinguishable": cells[best][1] > hi}
            if diff:
                entry["vs_random_init"] = {"diff_lo": diff[0], "diff_hi": diff[1],
                                           "distinguishable": diff[0] > 0 or diff[1] < 0}
            out["methods"][m] = entry
        return out
    fractions = {f"{f:g}": {"auc": cell(), "f1": cell()} for f in cfg["evaluation"]["label_fractions"]}
    write_json(paths.stats(cfg, task), {"linear": fractions})


def _complete_run(cfg, seed=0, **kw):
    for m in ("etp", "random_init"):
        for t in cfg["evaluation"]["linear_tasks"]:
            _metric(cfg, "linear", m, seed, t, {"auc": 0.9 if m == "etp" else 0.8, "f1": 0.5}, **kw)
        for t in cfg["evaluation"]["zeroshot_tasks"]:
            _metric(cfg, "zeroshot", m, seed, t, _zs(cfg, t), **kw)


def _cells(md, start, nth=0):
    """The cells of the nth table row that starts with `start`, in the board's tables after its headline."""
    md = md.split("## About these numbers", 1)[-1]
    row = [line for line in md.splitlines() if line.startswith(start)][nth]
    return [c.strip() for c in row.strip("|").split("|")]


def test_tables_show_ours_and_reference_separately(tmp_path):
    cfg = _config(tmp_path, seeds=[0, 1])
    for seed, auc in ((0, 0.7), (1, 0.8)):
        _metric(cfg, "linear", "etp", seed, "synth_ptbxl_super", {"auc": auc, "f1": 0.5})
    _metric(cfg, "zeroshot", "etp", 0, "synth_ptbxl_super", _zs(cfg, "synth_ptbxl_super"))

    md, machine, details = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)
    assert "DEMO RESULTS ON SYNTHETIC DATA" in md
    # ours: steps, then mean ± sample std over seeds 0.7, 0.8 -> 75.0 ± 7.1; then the paper's 83.5 / 61.3 as (ref.),
    # one table per task
    assert _cells(md, "| ETP") == ["ETP", "48", "75.0 ± 7.1", "50.0 ± 0.0", "83.5", "61.3"]
    assert _cells(md, "| ETP", 1) == ["ETP", "", "n/a", "n/a", "86.1", "63.4"]
    # a column whose cells carry the mark says what the mark compares with
    assert _cells(md, "| Method ") == ["Method", "Steps", "AUC, vs random init", "F1, vs random init", "AUC (ref.)",
                                       "F1 (ref.)"]
    # zero-shot per class (details.md): ours, then the paper's Table 2 in a table of its own
    assert _cells(details, "| NORM") == ["NORM", "ETP", "60.0", "50.0", "25.0"]
    assert _cells(details, "| NORM", 1) == ["NORM", "ETP", "71.8", "56.8", "73.4"]
    assert "The ETP paper's Table 2 *(ref.)*, on the full dataset, for the same rows:" in details
    assert "| NORM" not in md   # the board keeps each task's average; every class is in details.md
    assert "Not evaluable" not in details  # every class of the fixture has positive and negative test records
    assert {r["seed"] for r in machine["linear"]} == {0, 1}
    assert not machine["complete"] and len(machine["missing"]) > 0  # random init and CPSC rows never ran
    json.dumps(machine)  # machine-readable copy is plain JSON


def test_a_class_without_positive_test_records_is_named_not_evaluable(tmp_path):
    cfg = _config(tmp_path)
    zs = _zs(cfg, "synth_ptbxl_super")
    zs["per_class"]["HYP"] = {"auc": None, "acc": 0.98, "f1": 0.0, "evaluable": False}  # as zero_shot_metrics writes
    _metric(cfg, "zeroshot", "etp", 0, "synth_ptbxl_super", zs)
    _, _, md = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)   # details.md holds every class
    assert _cells(md, "| HYP") == ["HYP", "ETP", "n/a", "98.0", "0.0"]
    assert ("Not evaluable: HYP. The test records hold none of the class (or only records of it), so its AUC is "
            "n/a; its ACC and F1 are shown but left out of the averages, which are over the other classes.") in md
    assert md.count("Not evaluable") == 1  # once, under the table of the task whose class it is


def test_header_names_the_settings_each_row_used(tmp_path):
    cfg = _config(tmp_path)
    _metric(cfg, "linear", "etp", 0, "synth_ptbxl_super", {"auc": 0.7, "f1": 0.5},
            pretrain_settings={"augmentations": "`etp` (random segmentation and inversion)"})
    _metric(cfg, "linear", "random_init", 0, "synth_ptbxl_super", {"auc": 0.7, "f1": 0.5},
            pretrain_settings={"ECG-ECG term": "weight 1"})
    md, _, _ = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)
    assert "- Augmentations `etp` (random segmentation and inversion): ETP" in md.splitlines()
    assert "- ECG-ECG term weight 1: Random init" in md.splitlines()


def test_a_verdict_rests_on_several_seeds_and_a_single_seed_board_draws_none(tmp_path):
    cfg = _config(tmp_path)
    _complete_run(cfg)
    for t in cfg["evaluation"]["linear_tasks"]:
        _stats(cfg, t, {"etp": (0.9, 0.85, 0.95, (0.02, 0.15)), "random_init": (0.8, 0.7, 0.84, None)})
    md, machine, _ = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)
    assert machine["complete"] and machine["problems"] == []
    assert machine["code"]["groups"] == [{"commits": ["abc123"], "methods": ["random_init", "etp"]}]
    # results of an earlier commit, tables drawn by this one (e.g. a commit that changed only rendering)
    assert ("- Code: rows computed at commit abc123; every step they rest on ran the code it has at the commit this "
            "board was drawn at; tables drawn at commit f00d") in md
    assert machine["command"] == "snakemake --cores all --configfile config/demo.yaml" and "WARNING" not in md
    assert "= 48 optimiser steps for every trained method" in md
    assert "### PTB-XL-like: 8/2/3 records (train/val/test)" in md.splitlines()
    assert "### CPSC2018-like: 8/2/3 records (train/val/test)" in md.splitlines()
    # one seed: intervals and marks cover test records only, and the board says so and draws no verdict
    assert ("**No verdict:** one pre-training seed, so the marks cover the sampling of test records only, not "
            "training variance (the published boards use three).") in md.splitlines()
    assert "> **One pre-training seed.** The intervals and ↑ / ↓ / ≈ marks below cover the sampling of test " \
           "records only, not training variance, so this board draws no verdict about methods." in md.splitlines()
    assert "**One pre-training seed**: intervals and marks cover the sampling of test records only" in md
    assert _cells(md, "| ETP")[2] == "**90.0** [85.0–95.0] ↑"
    # three seeds: the verdict of the paired tests over records and seeds
    cfg = _config(tmp_path, seeds=[0, 1, 2])
    for seed in (1, 2):
        _complete_run(cfg, seed=seed)
    md, _, _ = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)
    assert ("**Verdict** (linear AUC at 100 % of the labels, 3 seeds, paired bootstrap at 95%, false-discovery rate 5 % over Table 1): "
            "ETP is above random "
            "init on 2 of 2 tasks. No method is below it on any task.") in md.splitlines()
    assert "One pre-training seed" not in md and "the mean over 3 pre-training seeds ± their sd" in md


def test_the_command_line_names_the_command_that_made_the_board(tmp_path, monkeypatch):
    """Seeds added by a second command: the board names that command, and the one the pre-trainings ran under."""
    more = "snakemake --cores all --configfile config/demo.yaml --config 'seeds=[0,1]'"
    monkeypatch.setenv("BENCHMARK_INVOCATION", more)
    cfg = _config(tmp_path, seeds=[0, 1])
    for seed in (0, 1):
        _complete_run(cfg, seed=seed)
    md, machine, _ = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)
    assert machine["command"] == more
    assert machine["pretrain_commands"] == ["snakemake --cores all --configfile config/demo.yaml"]
    assert (f"- Command: `{more}`; pre-trained by `snakemake --cores all --configfile config/demo.yaml`; "
            "generated ") in md
    # publish draws the board again outside Snakemake: the command recorded by the run is kept
    monkeypatch.delenv("BENCHMARK_INVOCATION")
    assert leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT, command=machine["command"])[1]["command"] == more


def test_a_repeated_seed_or_zero_epochs_is_refused_naming_the_key(tmp_path):
    with pytest.raises(ConfigError) as e:
        _config(tmp_path, seeds=[0, 0], pretrain={**yaml.safe_load((REPO / "config" / "demo.yaml").read_text())[
            "pretrain"], "epochs": 0}, pretrian=1)
    assert "  seeds: [0, 0] repeats 0: list each value once" in str(e.value).splitlines()
    assert "  pretrain.epochs: 0 is less than the minimum of 1" in str(e.value).splitlines()
    assert "  (top level): unknown key 'pretrian' (did you mean 'pretrain'?); the keys allowed here: preset, " \
           "description," in str(e.value)


def test_external_rows_say_what_they_are_and_left_out_folders_are_named(tmp_path):
    cfg = _config(tmp_path, seeds=[0, 1])
    _complete_run(cfg)
    for t in cfg["evaluation"]["linear_tasks"]:
        for m in METHODS:
            _metric(cfg, "linear", m, 1, t, {"auc": 0.85, "f1": 0.5})
        _metric(cfg, "linear", "merl_resnet18", 0, t, {"auc": 0.95, "f1": 0.6}, steps=0,
                pretrain_external={"pretrained_on": "MIMIC-IV-ECG", "files": {}},
                input="500 Hz, 10 s (5000 samples), leads I/II/III/aVR/aVF/aVL/V1/V2/V3/V4/V5/V6", feature_dim=512)
    for t in cfg["evaluation"]["zeroshot_tasks"]:
        for m in METHODS:
            _metric(cfg, "zeroshot", m, 1, t, _zs(cfg, t))
    methods = METHODS + ["merl_resnet18"]
    seeds = {"etp": [0, 1], "random_init": [0, 1], "merl_resnet18": [0]}   # a checkpoint runs one seed
    md, machine, _ = leaderboard.build(cfg, methods, {**TITLES, "merl_resnet18": "MERL ResNet18"}, ZERO_SHOT, seeds,
                                    {"hubert_ecg": "no SHA-256 is pinned for model.safetensors"})
    assert machine["complete"], machine["missing"]
    row = _cells(md, "| MERL ResNet18")
    assert row[:3] == ["MERL ResNet18 (ext.)", "ext.", "95.0"]       # one seed: no ± sd
    assert machine["external"] == {"merl_resnet18": "MIMIC-IV-ECG"}
    assert "(ext.) rows are published models evaluated as released" in md
    assert "not a same-budget comparison" in md
    # the board says what the external encoder was given and what it gives
    assert ("MERL ResNet18: pre-trained on MIMIC-IV-ECG; input 500 Hz, 10 s (5000 samples), leads "
            "I/II/III/aVR/aVF/aVL/V1/V2/V3/V4/V5/V6, 512-d features") in md
    assert "  - `methods/hubert_ecg`: no SHA-256 is pinned for model.safetensors" in md.splitlines()
    assert {r["seed"] for r in machine["linear"] if r["method"] == "merl_resnet18"} == {0}
    assert all(r["external"] == (r["method"] == "merl_resnet18") for r in machine["linear"])


def test_a_row_whose_method_changed_is_marked_stale_and_cannot_be_published(tmp_path):
    cfg = _config(tmp_path)
    _complete_run(cfg)
    _metric(cfg, "linear", "etp", 0, "synth_cpsc", {"auc": 0.9, "f1": 0.5}, fingerprint="0ld")
    leaderboard.write(cfg, METHODS, TITLES, ZERO_SHOT)
    md = paths.leaderboard(cfg).read_text()
    board = read_json(paths.leaderboard(cfg).with_suffix(".json"))
    assert _cells(md, "| ETP")[0] == "ETP ⚠ stale" and _cells(md, "| Random init")[0] == "Random init"
    assert "WARNING: this board cannot be published as it is" in md
    # the remedy: the workflow re-runs exactly what changed; the rule to force if its records were lost
    assert "re-run the preset's workflow (`snakemake --cores all --configfile config/demo.yaml`)" in md
    assert "add `--forcerun linear`" in md
    assert board["stale"] == [{"kind": "linear", "method": "etp", "task": "synth_cpsc", "seed": 0,
                               "reasons": ["the code of step linear/etp changed since it ran (at commit abc123)"]}]
    with pytest.raises(BenchmarkError, match="rest on code that changed since"):
        leaderboard.publish(cfg, dest=tmp_path / "published.md")


def test_publish_gives_each_preset_its_place_and_leads_with_real_data(tmp_path):
    cfg = _config(tmp_path)
    _complete_run(cfg)
    paths.plots(cfg).mkdir(parents=True)
    (paths.plots(cfg) / "linear_auc.png").write_bytes(b"png")
    leaderboard.write(cfg, METHODS, TITLES, ZERO_SHOT)
    board = paths.leaderboard(cfg).read_text()
    assert "](plots/linear_auc.png)" in board
    dest = tmp_path / "published.md"
    leaderboard.publish(cfg, dest=dest)
    # the board (drawn again by the committed code) and its figures in docs/leaderboard/demo/ (results/ is not
    # committed), links rewritten
    demo = tmp_path / "docs" / "leaderboard" / "demo"
    timeless = lambda md: "\n".join(ln for ln in md.splitlines() if not ln.startswith("- Command:"))  # noqa: E731
    assert timeless((demo / "leaderboard.md").read_text()) == timeless(board.replace("](plots/", "]("))
    assert (demo / "linear_auc.png").read_bytes() == b"png"
    assert read_json(demo / "leaderboard.json")["preset"] == "demo"
    assert (demo / "details.md").read_text().startswith("# Details — preset `demo`")
    top = dest.read_text()
    # the top-level board: each preset's headline, its links pointing into the preset's folder
    assert "## Preset `demo` (synthetic demo)" in top and "](docs/leaderboard/demo/details.md)" in top
    assert "](docs/leaderboard/demo/leaderboard.md#about-these-numbers)" in top
    assert "| ETP " in top and "## About these numbers" not in top and "## Table 1" not in top
    assert [b["preset"] for b in read_json(dest.with_suffix(".json"))["boards"]] == ["demo"]

    # a real-data board published next comes first, and the demo's stays untouched
    (tmp_path / "real").mkdir()
    real = _config(tmp_path / "real", preset="local")
    real["datasets"] = {n: {**d, "source": "ptbxl"} for n, d in real["datasets"].items()}
    _complete_run(real)
    leaderboard.write(real, METHODS, TITLES, ZERO_SHOT)
    leaderboard.publish(real, dest=dest)
    top = dest.read_text()
    assert top.index("## Preset `local` (real data)") < top.index("## Preset `demo` (synthetic demo)")
    assert "**Synthetic data**" in top.split("## Preset `demo`")[1]
    assert [b["preset"] for b in read_json(dest.with_suffix(".json"))["boards"]] == ["local", "demo"]

    # a published board made by other code is left out of the top-level board, and named
    stale = read_json(demo / "leaderboard.json")
    next(e for e in stale["code"]["steps"] if e["step"] == "leaderboard")["fingerprint"] = "0ld"
    write_json(demo / "leaderboard.json", stale)
    leaderboard.publish(real, dest=dest)
    top = dest.read_text()
    assert ("- preset `demo` is not shown: the code of step leaderboard changed since it ran (at commit f00d): re-run "
            "the preset's workflow, then publish it") in top
    assert "## Preset `demo`" not in top
    assert read_json(dest.with_suffix(".json"))["left_out"]["demo"].startswith("the code of step leaderboard")


def test_rows_of_several_commits_are_one_board_when_their_steps_ran_this_code(tmp_path):
    """A method added to a finished run, or an evaluation fix that re-ran only the evaluation: results of several
    commits are published together when every step they rest on ran the code it has now; the header says which
    commit each group of rows was computed at."""
    cfg = _config(tmp_path)
    _complete_run(cfg, commit="abc123")
    for t in cfg["evaluation"]["linear_tasks"]:   # random init's rows computed later, uncommitted then
        _metric(cfg, "linear", "random_init", 0, t, {"auc": 0.8, "f1": 0.5}, commit="def456-dirty")
    for t in cfg["evaluation"]["zeroshot_tasks"]:
        _metric(cfg, "zeroshot", "random_init", 0, t, _zs(cfg, t), commit="def456-dirty")
    leaderboard.write(cfg, METHODS, TITLES, ZERO_SHOT)
    md = paths.leaderboard(cfg).read_text()
    assert ("- Code: rows Random init computed at commit def456 (with uncommitted edits); ETP computed at commit "
            "abc123; every step they rest on ran the code it has at the commit this board was drawn at") in md
    leaderboard.publish(cfg, dest=tmp_path / "published.md")
    published = tmp_path / "docs" / "leaderboard" / "demo" / "leaderboard.md"
    assert "ETP computed at commit abc123" in published.read_text()


def test_a_board_of_uncommitted_code_is_not_published(tmp_path, monkeypatch):
    cfg = _config(tmp_path)
    _complete_run(cfg)
    monkeypatch.setattr(provenance, "code_commit", lambda *a, **k: "f00d-dirty")
    leaderboard.write(cfg, METHODS, TITLES, ZERO_SHOT)
    assert "the code is not committed (commit f00d-dirty): commit it, then publish again" in \
        paths.leaderboard(cfg).read_text().split("## Table 1")[0]   # the board's own warning
    with pytest.raises(BenchmarkError, match="the code is not committed"):
        leaderboard.publish(cfg, dest=tmp_path / "published.md")
    assert not (tmp_path / "published.md").exists()


def test_publish_refuses_a_board_made_with_other_settings(tmp_path):
    cfg = _config(tmp_path)
    _complete_run(cfg)
    leaderboard.write(cfg, METHODS, TITLES, ZERO_SHOT)
    other = _config(tmp_path, evaluation={**cfg["evaluation"], "c_grid": [1.0]})
    with pytest.raises(BenchmarkError, match="other settings than the configuration given to publish"):
        leaderboard.publish(other, dest=tmp_path / "published.md")


def test_results_of_an_older_version_are_stale(tmp_path):
    cfg = _config(tmp_path)
    _complete_run(cfg)
    write_json(paths.metrics(cfg, "linear", "etp", 0, "synth_cpsc"), {
        "method": "etp", "seed": 0, "task": "synth_cpsc", "split_sizes": {"train": 8, "val": 2, "test": 3},
        "metrics": {"auc": 0.9, "f1": 0.5}, "provenance": {"pretrain_device": "CPU", "commit": "abc123"}})
    _, machine, _ = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)
    assert machine["stale"][0]["reasons"] == ["no code record (made by an older version of the benchmark)"]


def test_publish_without_a_finished_run_says_what_to_run(tmp_path):
    with pytest.raises(BenchmarkError, match="no finished board of preset 'demo'.*run its workflow first"):
        leaderboard.publish(_config(tmp_path), dest=tmp_path / "published.md")


def _cell(entries: dict, best: str) -> dict:
    """A column's statistics: method -> (CI low, CI high, distinguishable from the best, mark vs random init)."""
    diffs = {"↑": (0.01, 0.1, True), "↓": (-0.1, -0.01, True), "≈": (-0.05, 0.05, False)}
    out = {"best": best, "methods": {}}
    for m, (lo, hi, told_from_best, mark) in entries.items():
        e = {"value": (lo + hi) / 2, "ci": {"lo": lo, "hi": hi}}
        if m != best:
            e["vs_best"] = {"distinguishable": told_from_best}
        if mark:
            d = diffs[mark]
            e["vs_random_init"] = {"diff_lo": d[0], "diff_hi": d[1], "distinguishable": d[2]}
        out["methods"][m] = e
    return out


def test_bold_singles_out_the_best_row_only_when_it_is_told_apart_from_the_runner_up():
    from benchmark.leaderboard.cells import bold_rows, marked

    spread = _cell({"random_init": (0.5, 0.6, True, None), "cpc": (0.55, 0.7, True, "≈"),
                    "etp": (0.8, 0.9, None, "↑"), "byol": (0.3, 0.4, True, "↓")}, best="etp")
    assert bold_rows(spread) == {"etp"}
    assert marked([0.85], spread, "etp") == "**85.0** [80.0–90.0] ↑"
    assert marked([0.62], spread, "cpc") == "62.0 [55.0–70.0] ≈"
    assert marked([0.35], spread, "byol") == "35.0 [30.0–40.0] ↓"
    assert marked([0.55], spread, "random_init") == "55.0 [50.0–60.0]"
    # the runner-up not told apart from the best: nothing is bold (the old rule bolded both, and random init with
    # them while a higher row stayed plain)
    close = _cell({"random_init": (0.6, 0.86, False, None), "tstcc": (0.62, 0.87, False, "≈"),
                   "etp": (0.8, 0.9, None, "↑")}, best="etp")
    assert bold_rows(close) == set() and marked([0.85], close, "etp") == "85.0 [80.0–90.0] ↑"
    # a higher external row: the best of the rows trained here is not singled out
    external = _cell({"random_init": (0.1, 0.2, True, None), "etp": (0.5, 0.6, None, "↑"),
                      "merl_resnet18": (0.8, 0.9, True, "↑")}, best="etp")
    assert bold_rows(external) == set()
    # a degenerate interval (every resample 0.0) is never bold
    point = _cell({"random_init": (0.0, 0.1, True, None), "etp": (0.3, 0.3, None, "↑")}, best="etp")
    assert bold_rows(point) == set() and marked([0.3], point, "etp") == "30.0 [30.0–30.0] ↑"


def test_no_table_row_is_wider_than_a_page(tmp_path):
    """The widest cells a board can hold (three seeds: mean ± sd, a CI, bold, a mark; the longest method title; an
    external row) still fit MAX_ROW_CHARS characters of Markdown per table row."""
    cfg = _config(tmp_path, seeds=[0, 1, 2])
    methods = ["random_init", "astcl", "etp", "merl_resnet18"]
    titles = {**TITLES, "astcl": "ASTCL (unofficial)", "merl_resnet18": "MERL ResNet18"}
    seeds = {m: [0, 1, 2] for m in methods} | {"merl_resnet18": [0]}
    for t in cfg["evaluation"]["linear_tasks"]:
        for m in methods:
            for s in seeds[m]:
                fr = {f"{f:g}": {"auc": 0.999, "f1": 0.5, "draws": [{"n_train": 1000}]}
                      for f in cfg["evaluation"]["label_fractions"]}
                _metric(cfg, "linear", m, s, t, {"auc": 0.999 - 0.1 * s, "f1": 0.1 * s, "fractions": fr},
                        steps=10000, **({"pretrain_external": {"pretrained_on": "MIMIC-IV-ECG", "files": {}}}
                                        if m == "merl_resnet18" else {}))
        _stats(cfg, t, {"random_init": (0.5, 0.1, 0.2, None), "astcl": (0.55, 0.5, 0.6, (-0.1, 0.1)),
                        "etp": (0.999, 0.888, 0.999, (0.1, 0.2)), "merl_resnet18": (0.3, 0.101, 0.102, (-0.2, -0.1))})
    for t in cfg["evaluation"]["zeroshot_tasks"]:
        for m in ("random_init", "etp"):
            for s in seeds[m]:
                _metric(cfg, "zeroshot", m, s, t, _zs(cfg, t, auc=0.999 - 0.1 * s))
        cells = {m: _cell({"random_init": (0.101, 0.999, True, None), "etp": (0.888, 0.999, None, "↑")}, "etp")
                 for m in ("auc", "acc", "f1")}
        stats = read_json(paths.stats(cfg, t)) if paths.stats(cfg, t).exists() else {}
        stats["zeroshot"] = {"average": cells, "per_class": {c: cells for c in cfg["tasks"][t]["classes"]}}
        write_json(paths.stats(cfg, t), stats)
    md, machine, details = leaderboard.build(cfg, methods, titles, ["random_init", "etp"], seeds)
    assert machine["complete"], machine["missing"]
    assert "**89.9 ± 10.0** [88.8–99.9] ↑" in md and "ASTCL (unofficial)" in md and "MERL ResNet18 (ext.)" in md
    rows = [line for line in (md + details).splitlines() if line.startswith("|")]
    assert rows and max(map(len, rows)) <= leaderboard.MAX_ROW_CHARS, max(rows, key=len)


def _three_seed_board(tmp_path):
    cfg = _config(tmp_path, seeds=[0, 1, 2])
    for seed in (0, 1, 2):
        _complete_run(cfg, seed=seed)
    for t in cfg["evaluation"]["linear_tasks"]:
        _stats(cfg, t, {"etp": (0.9, 0.85, 0.95, (0.02, 0.15)), "random_init": (0.8, 0.7, 0.84, None)})
    return cfg


def test_the_board_opens_with_its_headline_the_verdict_and_one_caveat(tmp_path):
    """Title, one caption line, then the table: methods x tasks, each cell the AUC and its difference from random
    init with the mark; the verdict in words; one caveat line with the links; provenance and tables after."""
    cfg = _three_seed_board(tmp_path)
    md, machine, details = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)
    lines = [ln for ln in md.splitlines() if ln.strip()]
    first_row = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    assert first_row == 2 and lines[0] == "# Leaderboard — preset `demo`"   # a title and one line before it
    assert "difference from random init: **↑ above**, **↓ below**, **≈ not distinguishable**" in lines[1]
    header = [c.strip() for c in lines[2].strip("|").split("|")]
    assert header == ["AUC (Δ vs random init)", "PTB-XL-like", "CPSC2018-like"]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[4:6]]
    assert rows == [["Random init", "80.0", "80.0"], ["ETP", "90.0 (+10.0 ↑)", "90.0 (+10.0 ↑)"]]
    assert lines[6] == ("**Verdict** (linear AUC at 100 % of the labels, 3 seeds, paired bootstrap at 95%, false-discovery rate 5 % "
                        "over Table 1): ETP is "
                        "above random init on 2 of 2 tasks. No method is below it on any task.")
    assert lines[7].startswith("**Synthetic data**") and "48 optimiser steps per method; 3 pre-training seeds" in \
        lines[7] and "[details.md](details.md)" in lines[7] and "](#about-these-numbers)" in lines[7]
    assert md.index("## About these numbers") < md.index("## How to read the tables") < md.index("## Table 1")
    assert machine["headline"] == "\n\n".join(md.split("\n\n")[1:5])   # what the top-level board shows
    # every label fraction and class in details.md, linked from Table 1 and each zero-shot table
    assert "## Table 1b: label efficiency" in details and "## Table 1b" not in md
    assert "[details.md](details.md#table-1b-label-efficiency)" in md
    assert "[details.md](details.md#table-2-zero-shot-on-ptb-xl-like)" in md
    assert "## Table 2: zero-shot on PTB-XL-like" in details
    # the zero-shot mean AUC of the methods with a text side: one line under the table
    for t in cfg["evaluation"]["zeroshot_tasks"]:
        stats = read_json(paths.stats(cfg, t))
        cells = _cell({"random_init": (0.45, 0.55, True, None), "etp": (0.6, 0.7, None, "↑")}, "etp")
        stats["zeroshot"] = {"average": {k: cells for k in ("auc", "acc", "f1")}, "per_class": {}}
        write_json(paths.stats(cfg, t), stats)
    md = leaderboard.build(cfg, METHODS, TITLES, ZERO_SHOT)[0]
    assert ("Zero-shot mean AUC over classes (PTB-XL-like / CPSC2018-like; nothing fitted): Random init 50.0 / 50.0; "
            "ETP 65.0 / 65.0.") in md.split("**Verdict**")[0]


def test_the_verdict_counts_each_method_s_tasks_in_words():
    from types import SimpleNamespace

    from benchmark.leaderboard.headline import verdict

    marks = {"etp": "↑↑", "cpc": "↑≈", "byol": "↓≈", "simclr": "≈≈"}
    diffs = {"↑": (0.01, 0.1, True), "↓": (-0.1, -0.01, True), "≈": (-0.05, 0.05, False)}

    def column(i):
        methods = {"random_init": {"value": 0.7, "ci": {"lo": 0.6, "hi": 0.8}}}
        for m, ms in marks.items():
            lo, hi, told = diffs[ms[i]]
            methods[m] = {"value": 0.7, "ci": {"lo": 0.6, "hi": 0.8},
                          "vs_random_init": {"diff_lo": lo, "diff_hi": hi, "distinguishable": told}}
        return {"linear": {"1": {"auc": {"best": "etp", "methods": methods}}}}

    board = SimpleNamespace(
        config={"evaluation": {"linear_tasks": ["a", "b"]}}, stats={"a": column(0), "b": column(1)},
        results={("linear", m, t): [] for m in ["random_init", *marks] for t in "ab"}, external={},
        titles={"etp": "ETP", "cpc": "CPC", "byol": "BYOL", "simclr": "SimCLR"}, trained_seeds=3,
        methods=["random_init", *marks], level="95%")
    assert verdict(board) == ("**Verdict** (linear AUC at 100 % of the labels, 3 seeds, paired bootstrap at 95%, false-discovery rate "
                              "5 % over Table 1): ETP "
                              "is above random init on 2 of 2 tasks; CPC on 1; no other method is on any. BYOL is "
                              "below it on 1 of 2 tasks; no other method is on any.")


def test_the_report_front_page_is_the_headline_only(tmp_path):
    """The cause of a front page a reader could not scroll to its top: the whole board pasted into it. It holds
    the headline (one table, a few lines) and undoes the report's centring of a tall pane."""
    import re

    cfg = _three_seed_board(tmp_path)
    leaderboard.write(cfg, METHODS, TITLES, ZERO_SHOT)
    files = leaderboard.files(cfg)
    front = files["front_page"].read_text()
    text = re.sub(r"<style>.*?</style>|<[^>]+>", "", front, flags=re.S)
    assert front.count("<table>") == 1 and front.count("<tr>") == 1 + len(METHODS)
    assert len(text) < 1500 and "Table 1:" not in text and "About these numbers" not in text
    assert "align-items: flex-start" in front   # the report's pane starts at its top
    assert "front_page.html" in (REPO / "workflow" / "report" / "workflow.rst").read_text()
    # the full board and the details are pages of their own, complete documents with a readable font
    for name in ("html", "details_html"):
        page = files[name].read_text()
        assert page.startswith("<!doctype html>") and "font-family: -apple-system" in page


def test_anchors_are_github_s():
    from benchmark.leaderboard.tables import anchor

    assert anchor("Table 1b: label efficiency") == "table-1b-label-efficiency"
    assert anchor("Table 3: zero-shot on CPSC2018-like") == "table-3-zero-shot-on-cpsc2018-like"


def test_the_published_leaderboard_opens_with_a_headline_and_fits_six_screens():
    """leaderboard.md as committed: after its title and two lines (a preset's heading and the caption) the first
    headline table; as a whole at most about six 900 px screens at GitHub's 980 px (estimated: 33 px a table row,
    24 px a line of about 120 characters, 50 px a heading or paragraph break)."""
    md = (REPO / "leaderboard.md").read_text()
    lines = [ln for ln in md.splitlines() if ln.strip()]
    first_row = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    assert first_row <= 3, lines[:first_row]
    height = sum(33 if ln.startswith("|") else 50 + 24 * (len(ln) // 120) for ln in lines)
    assert height <= 6 * 900, height
