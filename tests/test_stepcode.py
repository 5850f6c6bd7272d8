"""Each workflow step's fingerprint covers the code it runs, read from the import graph (benchmark.stepcode): the
modules its command imports (lazily too), the packages above them (their top level only), the data files they
name, its rule, its method folder (and the folders that one loads), its dataset source's module."""
import shutil

import pytest

from benchmark import stepcode
from conftest import REPO


def _covered(command, method=None, source=None):
    g = stepcode.graph()
    folder = (REPO / "methods" / method).resolve() if method else None
    return {p.relative_to(REPO).as_posix() for p in g.files(command, folder, source)}


def test_each_step_covers_the_modules_it_imports_and_no_other_step_s():
    features, linear, zeroshot = (_covered(c, "simclr") for c in ("features", "linear", "zeroshot"))
    pretrain, subsets = _covered("pretrain", "simclr"), _covered("subsets")
    # the linear probe is the linear step's (and the statistics'), not the features' or the pre-training's
    assert {"benchmark/evaluate/linear.py", "benchmark/evaluate/logistic.py"} <= linear & _covered("compare")
    assert "benchmark/evaluate/linear.py" not in features | pretrain | zeroshot | subsets
    assert "benchmark/evaluate/zeroshot.py" in zeroshot and "benchmark/evaluate/zeroshot.py" not in features | linear
    # the training loop is pre-training's alone; features load the exported weights through the method contract
    assert "benchmark/pretrain.py" in pretrain and "benchmark/pretrain.py" not in features | linear | zeroshot
    assert "benchmark/method.py" in features and "benchmark/evaluate/steps/trained.py" in features | zeroshot
    # a method's own imports count for its steps: SimCLR's loss module, not the one of a method that lacks it
    assert "benchmark/losses.py" in pretrain
    # a module every step imports
    for command in ("prepare", "embed-reports", "pretrain", "subsets", "features", "linear", "zeroshot", "compare",
                    "plots", "leaderboard"):
        covered = _covered(command, "simclr" if command in stepcode.METHOD_STEPS else None,
                           "synthetic" if command in stepcode.SOURCE_STEPS else None)
        assert "benchmark/io.py" in covered, command
    # rendering is the board's
    assert "benchmark/leaderboard/tables.py" in _covered("leaderboard")
    assert not any(p.startswith("benchmark/leaderboard/") for p in _covered("plots") | linear | pretrain)


def test_a_preparation_covers_its_own_source_and_the_data_files_it_names():
    synthetic, ptbxl, csn = (_covered("prepare", source=s) for s in ("synthetic", "ptbxl", "csn"))
    assert "benchmark/data/synthetic.py" in synthetic and "benchmark/data/ptbxl.py" in ptbxl
    assert not {"benchmark/data/mimic.py", "benchmark/data/ptbxl.py", "benchmark/data/csn.py"} & synthetic
    assert "benchmark/splits/csn_split.csv" in csn and "benchmark/splits/csn_split.csv" not in ptbxl
    assert "benchmark/data/mimic.py" in _covered("prepare-shard", source="mimic_ecg")
    assert "benchmark/reference/etp_paper_table1_linear.csv" in _covered("leaderboard")
    # a package reached as the parent of a module runs its top level only: benchmark/data/__init__.py's own
    # functions import the preparation's helpers, which the statistics never run
    assert "benchmark/data/__init__.py" in _covered("compare")
    assert "benchmark/data/physionet.py" not in _covered("compare")


def test_a_fingerprint_does_not_depend_on_what_the_process_fingerprinted_before():
    """One process fingerprints every step (the workflow while it builds the DAG, the board): SimCLR's imports
    (benchmark/losses.py) once leaked into the next method's features step, and the board found BYOL's rows stale."""
    byol, simclr = (REPO / "methods" / m for m in ("byol", "simclr"))
    alone = stepcode.Graph(REPO).fingerprint("features", byol)
    g = stepcode.Graph(REPO)
    g.fingerprint("features", simclr)
    assert g.fingerprint("features", byol) == alone
    assert "benchmark/losses.py" not in _covered("features", "byol")


def test_the_modules_that_identify_code_are_no_step_s_code():
    """benchmark/stepcode.py and provenance.py record which code ran; a change to how fingerprints are computed
    changes every rule's fingerprint parameter by itself, so they are not part of any step's code."""
    for command, method in (("linear", "simclr"), ("subsets", None), ("leaderboard", None)):
        covered = _covered(command, method)
        assert not {"benchmark/stepcode.py", "benchmark/provenance.py"} & covered, command


def test_a_method_loading_another_method_s_folder_covers_it():
    assert [f.name for f in stepcode.method_folders((REPO / "methods" / "random_init").resolve())] == \
        ["random_init", "etp"]
    assert [f.name for f in stepcode.method_folders((REPO / "methods" / "simclr").resolve())] == ["simclr"]


def test_the_only_dynamic_imports_are_read_from_the_table_the_fingerprint_reads():
    """An import the graph cannot read (importlib) would leave a module out of a step's code: the preparation's
    (benchmark.data._preparer imports the module benchmark.data.sources names, which stepcode.source_module reads)
    and the text model's transformers import (no module of benchmark/) are the only ones."""
    dynamic = {m for m, lines in stepcode.graph().dynamic.items() if lines}
    assert dynamic == {"benchmark.data", "benchmark.text"}
    assert "importlib.import_module(module)" in (REPO / "benchmark" / "data" / "__init__.py").read_text()


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A copy of the code (benchmark/, workflow/, methods/) whose files the tests edit."""
    root = tmp_path_factory.mktemp("tree")
    for folder in ("benchmark", "workflow", "methods"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


STEPS = [("prepare", None, "synthetic"), ("prepare", None, "ptbxl"), ("embed-reports", None, None),
         ("pretrain", "simclr", None), ("pretrain", "random_init", None), ("subsets", None, None),
         ("features", "simclr", None), ("linear", "simclr", None), ("linear", "random_init", None),
         ("zeroshot", "etp", None), ("compare", None, None), ("plots", None, None), ("leaderboard", None, None)]


def _fingerprints(root):
    g = stepcode.Graph(root)   # parsed afresh: the tree was edited
    return {(c, m, s): g.fingerprint(c, (root / "methods" / m) if m else None, s) for c, m, s in STEPS}


def _changed_by(tree, rel, edit):
    before = _fingerprints(tree)
    path = tree / rel
    original = path.read_text()
    try:
        path.write_text(edit(original))
        after = _fingerprints(tree)
    finally:
        path.write_text(original)
    return {(c, m or s) if (m or s) else c for (c, m, s) in STEPS if before[(c, m, s)] != after[(c, m, s)]}


def test_an_edit_changes_exactly_the_steps_that_run_it(tree):
    line = lambda text: text + "\nEDITED = 1\n"  # noqa: E731
    assert _changed_by(tree, "benchmark/evaluate/linear.py", line) == {
        ("linear", "simclr"), ("linear", "random_init"), "compare", "plots", "leaderboard"}
    assert _changed_by(tree, "benchmark/pretrain.py", line) == {("pretrain", "simclr"), ("pretrain", "random_init")}
    # ETP's folder is random init's code too (random init loads ETP's class)
    assert _changed_by(tree, "methods/etp/method.py", line) == {
        ("pretrain", "random_init"), ("linear", "random_init"), ("zeroshot", "etp")}
    assert _changed_by(tree, "methods/simclr/config.yaml", lambda t: t + "\nextra: 1\n") == {
        ("pretrain", "simclr"), ("features", "simclr"), ("linear", "simclr")}
    assert _changed_by(tree, "benchmark/data/ptbxl.py", line) == {("prepare", "ptbxl")}
    assert _changed_by(tree, "benchmark/data/mimic.py", line) == set()
    assert _changed_by(tree, "benchmark/leaderboard/tables.py", line) == {"leaderboard"}
    # the rule is the step's code too: a rule's parameter, not another rule's
    assert _changed_by(tree, "workflow/rules/evaluate.smk",
                       lambda t: t.replace('"c": EVAL["c_grid"]', '"c": EVAL["c_grid"], "x": 1')) == {
        ("linear", "simclr"), ("linear", "random_init")}
    assert len(_changed_by(tree, "benchmark/io.py", line)) == len(STEPS)


def test_comments_docstrings_and_layout_change_no_step(tree):
    assert _changed_by(tree, "benchmark/evaluate/linear.py",
                       lambda t: '"""Edited."""\n# a comment\n' + t.split('"""', 2)[2] + "\n\n# end\n") == set()
    assert _changed_by(tree, "workflow/rules/evaluate.smk",
                       lambda t: t.replace('    """Linear probe at every label fraction',
                                           '    # a comment\n    """The linear probe at every label fraction')) == set()
    # another command's function in __main__.py is another step's code
    assert _changed_by(tree, "benchmark/__main__.py",
                       lambda t: t.replace("serve_forever(args.folder, args.port)",
                                           "serve_forever(args.folder, args.port or 0)")) == set()
