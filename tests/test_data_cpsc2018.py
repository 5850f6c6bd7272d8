"""CPSC2018: the shipped split (MERL's seed-42 split, reproduced), labels from #Dx or REFERENCE.csv, lengths."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmark.config import load_config
from benchmark.data import prepare
from benchmark.data.cpsc2018 import (CLASSES, REFERENCE_CODES, SPLIT_FILE, load_split, merl_split,
                                     read_merl_reference)
from benchmark.data.preprocess import fit_length
from benchmark.data.preprocess import normalise
from benchmark.data.store import load_store
from benchmark.errors import BenchmarkError
from conftest import REPO

MERL_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "merl_splits"
MERL_LABELS = {"NORM": "Normal", "AFIB": "AF", "1AVB": "I-AVB", "CLBBB": "LBBB", "CRBBB": "RBBB", "PAC": "PAC",
               "VPC": "PVC", "STD": "STD", "STE": "STE"}


def test_shipped_split_is_the_seed42_rule_over_merls_order():
    split = load_split()
    assert len(split) == 6877 and list(split["record"]) == [f"A{i:04d}" for i in range(1, 6878)]
    assert split["split"].value_counts().to_dict() == {"train": 4950, "test": 1376, "val": 551}
    assert sorted(split["merl_ecg_id"]) == list(range(1, 6878))
    order = split.sort_values("merl_ecg_id")["record"].tolist()
    regenerated = merl_split(order)
    assert all(regenerated[r] == s for r, s in zip(split["record"], split["split"]))
    # the order matters: the same rule over sorted names gives another split
    by_name = merl_split(sorted(order))
    assert sum(by_name[r] == s for r, s in zip(split["record"], split["split"])) < 6000


def test_shipped_split_equals_merls_files():
    if not (MERL_DIR / "icbeb_train.csv").exists():
        pytest.skip(f"MERL's split files not found in {MERL_DIR}")
    ref = read_merl_reference(MERL_DIR).set_index("record")
    ours = load_split().set_index("record")
    assert set(ref.index) == set(ours.index)
    assert (ref.loc[ours.index, "split"] == ours["split"]).all()
    assert (ref.loc[ours.index, "merl_ecg_id"] == ours["merl_ecg_id"]).all()


def test_merl_labels_agree_with_reference_csv(shared_data):
    if not (MERL_DIR / "icbeb_train.csv").exists():
        pytest.skip(f"MERL's split files not found in {MERL_DIR}")
    ref = read_merl_reference(MERL_DIR).set_index("record")
    original = pd.read_csv(shared_data / "cpsc2018" / "REFERENCE.csv", dtype={"Recording": str}).set_index("Recording")
    cols = ["First_label", "Second_label", "Third_label"]
    theirs = ref.loc[original.index, list(MERL_LABELS)].to_numpy() == 1
    mine = np.zeros_like(theirs)
    for c in cols:
        for j, merl_name in enumerate(MERL_LABELS):
            code = next(k for k, v in REFERENCE_CODES.items() if v == MERL_LABELS[merl_name])
            mine[:, j] |= (original[c] == code).to_numpy()
    assert (theirs == mine).all()
    single = original[cols].notna().sum(axis=1) == 1
    counts = ref.loc[original.index[single], "split"].value_counts().to_dict()
    assert counts == {"train": 4589, "test": 1296, "val": 515}  # the paper's single-label task


# ------------------------------------------------------------------------------------------------ prepare
def cpsc_config(tmp_path: Path, root: Path, seconds: float = 10, **dataset) -> dict:
    cfg = yaml.safe_load((REPO / "config" / "local.yaml").read_text())
    cfg.update(results_dir=str(tmp_path / "results"), cpsc2018_dir=str(root), ptbxl_dir=None)
    cfg["data"]["seconds"] = seconds
    cfg["datasets"] = {"cpsc": {"source": "cpsc2018", "allow_partial": True, **dataset}}  # 10 of 6,877 on disk
    cfg["pretrain"]["dataset"] = "cpsc"
    cfg["tasks"] = {"cpsc": {"dataset": "cpsc", "classes": list(CLASSES)}}
    cfg["evaluation"] = {"linear_tasks": ["cpsc"]}
    path = tmp_path / "preset.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return load_config(path)


def test_prepare_cpsc_subset(shared_data, tmp_path, capsys):
    prepare(cpsc_config(tmp_path, shared_data / "cpsc2018"), "cpsc", tmp_path / "store")
    assert "6877 records listed, 6867 not on disk (skipped), 0 bad (skipped), 10 preprocessed" in capsys.readouterr().err
    store = load_store(tmp_path / "store")
    rec = store.records.set_index("ecg_id")
    original = pd.read_csv(shared_data / "cpsc2018" / "REFERENCE.csv", dtype={"Recording": str}).set_index("Recording")
    assert list(rec.index) == [f"A{i:04d}" for i in range(1, 11)]
    for r in rec.index:
        assert rec.at[r, "labels"] == REFERENCE_CODES[int(original.at[r, "First_label"])]
    assert rec.at["A0001", "labels"] == "RBBB" and rec.at["A0002", "labels"] == "Normal"
    split = load_split().set_index("record")
    assert (rec["split"] == split.loc[rec.index, "split"]).all()
    assert store.meta["label_sources"] == {"dx": 0, "reference": 10}
    assert store.signals.shape == (10, 12, 1000)
    assert store.meta["counts"]["cropped"] == int((rec["native_seconds"] > 10).sum()) > 0
    # crop: start keeps the first 10 s of the 500 Hz record, resampled to 100 Hz
    import wfdb
    from benchmark.data.preprocess import resample

    raw = wfdb.rdrecord(str(shared_data / "cpsc2018" / "training" / "cpsc_2018" / "g1" / "A0001")).p_signal.T
    expected = normalise(resample(raw.astype(np.float32), 500, 100)[:, :1000], "minmax")
    np.testing.assert_allclose(store.signals[0], expected, atol=1e-4)


def test_length_policies():
    x = np.arange(2 * 10, dtype=np.float32).reshape(2, 10)
    assert fit_length(x, 4, "start", "zero").tolist() == [[0, 1, 2, 3], [10, 11, 12, 13]]
    assert fit_length(x, 4, "center", "zero")[0].tolist() == [3, 4, 5, 6]
    assert fit_length(x, 13, "start", "zero")[0].tolist() == list(range(10)) + [0, 0, 0]
    assert fit_length(x, 13, "start", "repeat")[0].tolist() == list(range(10)) + [0, 1, 2]


def test_padding_counted(shared_data, tmp_path):
    prepare(cpsc_config(tmp_path, shared_data / "cpsc2018", seconds=12, pad="repeat"), "cpsc", tmp_path / "s")
    store = load_store(tmp_path / "s")
    native = store.records["native_seconds"]
    assert store.meta["counts"]["padded"] == int((native < 12).sum()) > 0
    assert store.signals.shape == (10, 12, 1200) and store.meta["pad"] == "repeat"


def dx_copy(shared: Path, tmp: Path, dx: dict[str, str], with_reference=True) -> Path:
    root = tmp / "cpsc"
    g1 = root / "training" / "cpsc_2018" / "g1"
    g1.mkdir(parents=True)
    for rec in ("A0001", "A0002", "A0003"):
        shutil.copy(shared / "cpsc2018" / "training" / "cpsc_2018" / "g1" / f"{rec}.mat", g1)
        text = (shared / "cpsc2018" / "training" / "cpsc_2018" / "g1" / f"{rec}.hea").read_text()
        g1.joinpath(f"{rec}.hea").write_text(text.replace("#Dx: ", f"#Dx: {dx.get(rec, '')}"))
    if with_reference:
        shutil.copy(shared / "cpsc2018" / "REFERENCE.csv", root)
    for f in root.rglob("*"):
        os.chmod(f, 0o644 if f.is_file() else 0o755)
    return root


def test_dx_codes_take_precedence_over_reference(shared_data, tmp_path):
    # A0001 is RBBB in REFERENCE.csv; give it AF + PVC (SNOMED) in #Dx; A0002 keeps an empty #Dx
    root = dx_copy(shared_data, tmp_path, {"A0001": "164889003,164884008", "A0003": "164889003"})
    prepare(cpsc_config(tmp_path, root), "cpsc", tmp_path / "s")
    store = load_store(tmp_path / "s")
    rec = store.records.set_index("ecg_id")
    assert rec.at["A0001", "labels"] == "AF;PVC" and rec.at["A0002", "labels"] == "Normal"
    assert rec.at["A0003", "labels"] == "AF"
    assert store.meta["label_sources"] == {"dx": 2, "reference": 1}
    assert store.meta["dx_reference_disagreements"] == [{"record": "A0001", "dx": ["AF", "PVC"], "reference": ["RBBB"]}]


def test_unknown_dx_code_and_unlabelled_record(shared_data, tmp_path):
    root = dx_copy(shared_data, tmp_path, {"A0002": "999999"})
    with pytest.raises(BenchmarkError) as err:
        prepare(cpsc_config(tmp_path, root), "cpsc", tmp_path / "s")
    assert "A0002: unknown label code(s) ['999999']" in str(err.value)
    prepare(cpsc_config(tmp_path, root, bad_records="skip"), "cpsc", tmp_path / "skip")
    store = load_store(tmp_path / "skip")
    assert list(store.records["ecg_id"]) == ["A0001", "A0003"]
    assert store.meta["skipped_bad_records"][0]["record"] == "A0002"

    bare = dx_copy(shared_data, tmp_path / "bare", {"A0001": "59118001"}, with_reference=False)
    with pytest.raises(BenchmarkError, match="A0002: no label"):
        prepare(cpsc_config(tmp_path, bare), "cpsc", tmp_path / "s2")


def test_truncated_mat_file_is_named(shared_data, tmp_path):
    root = dx_copy(shared_data, tmp_path, {})
    mat = root / "training" / "cpsc_2018" / "g1" / "A0003.mat"
    mat.write_bytes(mat.read_bytes()[:5000])
    with pytest.raises(BenchmarkError, match=r"A0003: truncated signal"):
        prepare(cpsc_config(tmp_path, root), "cpsc", tmp_path / "s")


def test_split_file_is_the_one_in_the_package():
    assert SPLIT_FILE == REPO / "benchmark" / "splits" / "cpsc2018_split.csv" and SPLIT_FILE.exists()


def test_partial_copy_stops_unless_allowed(shared_data, tmp_path):
    with pytest.raises(BenchmarkError, match=r"(?s)6867 of the 6877 records .*training/cpsc_2018/: 6867 missing "
                                             r"\(e\.g\. A0011, A0012, A0013\).*allow_partial: true"):
        prepare(cpsc_config(tmp_path, shared_data / "cpsc2018", allow_partial=False), "cpsc", tmp_path / "store")


def test_original_layout_gives_the_same_store_as_the_cinc_copy(tmp_path):
    """The challenge's original A*.mat (struct ECG, data in mV, 12 x samples) + REFERENCE.csv and the CinC 2020
    WFDB copy (digital samples, gain 1000/mV, labels in #Dx) of the same two recordings give the same store."""
    import scipy.io
    import wfdb

    from benchmark.data.store import LEADS

    rng = np.random.default_rng(0)
    digital = {"A0001": rng.normal(0, 300, (6000, 12)).astype(np.int16),   # 12 s: cropped to 10
               "A0002": rng.normal(0, 300, (3500, 12)).astype(np.int16)}   # 7 s: padded
    dx = {"A0001": ("59118001", 5), "A0002": ("164889003", 2)}             # RBBB, AF (SNOMED / REFERENCE code)
    cinc, original = tmp_path / "cinc" / "training" / "cpsc_2018" / "g1", tmp_path / "original"
    cinc.mkdir(parents=True)
    original.mkdir()
    for name, d in digital.items():
        wfdb.wrsamp(name, fs=500, units=["mV"] * 12, sig_name=list(LEADS), d_signal=d, fmt=["16"] * 12,
                    adc_gain=[1000.0] * 12, baseline=[0] * 12, comments=[f"Dx: {dx[name][0]}"], write_dir=str(cinc))
        scipy.io.savemat(original / f"{name}.mat", {"ECG": {"sex": "Male", "age": 60.0, "data": d.T / 1000.0}})
    pd.DataFrame({"Recording": list(dx), "First_label": [v[1] for v in dx.values()],
                  "Second_label": [np.nan, np.nan], "Third_label": [np.nan, np.nan]}).to_csv(
        original / "REFERENCE.csv", index=False)

    stores = {}
    for layout, root in (("cinc", tmp_path / "cinc"), ("original", original)):
        prepare(cpsc_config(tmp_path / layout, root), "cpsc", tmp_path / layout / "store")
        stores[layout] = load_store(tmp_path / layout / "store")
    a, b = stores["cinc"], stores["original"]
    assert a.signals.shape == b.signals.shape == (2, 12, 1000)
    np.testing.assert_allclose(a.signals, b.signals, atol=1e-6)
    cols = ["ecg_id", "split", "labels", "native_seconds"]
    pd.testing.assert_frame_equal(a.records[cols], b.records[cols])
    assert a.records["labels"].tolist() == ["RBBB", "AF"]
    assert b.meta["label_sources"] == {"dx": 0, "reference": 2} and a.meta["label_sources"] == {"dx": 2, "reference": 0}
