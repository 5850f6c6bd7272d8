"""MERL's setting read beside MERL's numbers: the mimic preset's CSN labels are MERL's columns, the board says which
rule a CSN task used and which protocol a zero-shot task follows, and the column-order bug of MERL's own PTB-XL sub
files is what docs/data.md says it is."""
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO

MERL_SPLITS = REPO.parent / "shared" / "reference" / "merl_splits"
SHUFFLED = ["AVB", "RAO/RAE", "ISC"]   # the three label columns MERL's sub train file orders differently


def test_the_mimic_preset_uses_merl_s_csn_columns_and_the_paper_preset_exact_labels():
    mimic = yaml.safe_load((REPO / "config" / "mimic.yaml").read_text())
    paper = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert mimic["datasets"]["csn"]["label_rule"] == "merl"
    assert paper["datasets"]["csn"]["label_rule"] == "exact"


def test_the_board_names_a_csn_task_s_label_rule_and_a_zero_shot_task_s_protocol():
    from types import SimpleNamespace

    from benchmark.leaderboard.header import _dataset
    from benchmark.leaderboard.tables import selection

    meta = {"title": "CSN", "counts": {"kept": 23026}, "label_rule": "MERL's columns: a class is set when its "
            "acronym is a substring of the record's comma-joined acronyms"}
    line = _dataset("csn", {"source": "csn", "label_rule": "merl"}, meta)
    assert line == ("`csn`: CSN, 23,026 records (source `csn`); labels `label_rule: merl` (MERL's columns: a class is "
                    "set when its acronym is a substring of the record's comma-joined acronyms)")
    assert "label_rule" not in _dataset("ptbxl", {"source": "ptbxl"}, {"title": "PTB-XL", "counts": {"kept": 9},
                                                                       "label_rule": "superclasses"})
    board = SimpleNamespace(config={"tasks": {"a": {"selection": "single_label"}, "b": {"selection": "multi_label"}}})
    assert selection(board, "a").startswith("Single-label task") and "ETP's protocol" in selection(board, "a")
    assert selection(board, "b").startswith("Multi-label task") and "MERL's zero-shot protocol" in selection(board, "b")


@pytest.fixture(scope="module")
def merl_sub():
    if not (MERL_SPLITS / "ptbxl_sub_class_train.csv").exists():
        pytest.skip(f"MERL's split files not found in {MERL_SPLITS}")
    return {s: pd.read_csv(MERL_SPLITS / f"ptbxl_sub_class_{s}.csv") for s in ("train", "val", "test")}


def test_merl_s_ptbxl_sub_train_file_orders_three_label_columns_unlike_val_and_test(merl_sub):
    """MERL reads labels by position (finetune/finetune_dataset.py: `csv_file.iloc[:, 6:]`), so its PTB-XL sub
    train labels of AVB, RAO/RAE and ISC are scored against val/test columns of other classes. This benchmark reads
    them by name (benchmark/data/ptbxl.py builds its own label sets)."""
    labels = {s: list(df.columns[df.columns.get_loc("sub_class") + 1:]) for s, df in merl_sub.items()}
    assert labels["val"] == labels["test"] and len(labels["val"]) == 23
    assert sorted(labels["train"]) == sorted(labels["val"])
    moved = [i for i, (a, b) in enumerate(zip(labels["train"], labels["val"])) if a != b]
    assert moved == [10, 11, 12]                                       # 0-based among the 23 label columns
    assert [labels["train"][i] for i in moved] == SHUFFLED
    assert [labels["val"][i] for i in moved] == ["ISC", "AVB", "RAO/RAE"]
    # read by position with val's names, the train file mislabels exactly those three classes
    train = merl_sub["train"]
    by_position = train[labels["train"]].set_axis(labels["val"], axis=1)
    wrong = [c for c in labels["val"] if not by_position[c].equals(train[c])]
    assert sorted(wrong) == sorted(SHUFFLED)
