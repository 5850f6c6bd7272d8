"""Chapman-Shaoxing-Ningbo (benchmark.data.csn): MERL's records, split and 38 classes, checked against the counts
MERL's released label columns give; the download over the loopback server and the preparation of a mirror written
in the real layout; the record-by-record cross-check against MERL's acronyms."""
from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmark.config import load_config
from benchmark.data import csn, prepare
from benchmark.data import mirror_plan as plan
from benchmark.data.mirror import csn_root, write_mirror
from benchmark.data.physionet import download_marker, download_part, needed_parts
from benchmark.data.serve import serve
from benchmark.data.store import load_store
from benchmark.errors import BenchmarkError
from benchmark.evaluate.tasks import task_data
from conftest import REPO

N_CSN, SEED = 25, 3


pytestmark = pytest.mark.usefixtures("loopback_only")


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("csn_mirror") / "www"
    write_mirror(out, 0, 0, seed=SEED, workers=1, log=lambda m: None, n_csn=N_CSN)
    return out


def paper_config(tmp_path: Path, label_rule: str = "exact", **top) -> dict:
    datasets = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["datasets"]
    datasets["csn"].update(allow_partial=True, label_rule=label_rule)
    return load_config(REPO / "config" / "config.yaml", {
        "raw_dir": str(tmp_path / "raw"), "results_dir": str(tmp_path / "results"), "datasets": datasets, **top})


# ------------------------------------------------------------------------------------------------ shipped split
def test_shipped_split_is_merls_and_its_labels_reproduce_merls_columns():
    """MERL's chapman_{train,val,test}.csv: 16,546 / 1,860 / 4,620 records. Positives per class of MERL's label
    columns (counted from the released files) are what the `merl` rule gives on the shipped acronyms; the `exact`
    rule differs in exactly the seven substring-inflated columns, 5,125 cells in all."""
    split = csn.load_split()
    assert len(split) == 23026 and split["split"].value_counts().to_dict() == {"train": 16546, "test": 4620, "val": 1860}
    names = [d.split(",") for d in split["merl_diagnose"]]
    merl = np.array([[c in csn.classes_of(n, "merl") for c in csn.CLASSES] for n in names])
    exact = np.array([[c in csn.classes_of(n, "exact") for c in csn.CLASSES] for n in names])
    # the 38 columns' sums in MERL's released files (train + val + test), in their order
    merl_columns = {"AQW": 591, "UW": 58, "SR": 7129, "WPW": 53, "2AVB": 38, "AT": 172, "VB": 916, "ARS": 532,
                    "STTC": 877, "SA": 2828, "STE": 418, "VPB": 237, "TWO": 1123, "STTU": 147, "ALS": 921, "APB": 685,
                    "2AVB1": 16, "PRIE": 29, "CCR": 141, "CR": 216, "AF": 4753, "AVB": 913, "QTIE": 185, "LBBB": 209,
                    "VEB": 21, "SVT": 613, "RBBB": 533, "1AVB": 702, "STDD": 427, "MI": 57, "AFIB": 1413, "TWC": 4645,
                    "PWC": 87, "ERV": 266, "RVH": 29, "LVH": 113, "ST": 6338, "JEB": 25}
    exact_counts = {"AF": 3340, "VB": 3, "SA": 2107, "ST": 5154, "AVB": 176, "CR": 75, "2AVB": 22, "SR": 7129}
    got = dict(zip(csn.CLASSES, merl.sum(axis=0).tolist()))
    assert got == merl_columns
    got = dict(zip(csn.CLASSES, exact.sum(axis=0).tolist()))
    assert {c: got[c] for c in exact_counts} == exact_counts
    assert int((merl != exact).sum()) == 5125
    assert {c for i, c in enumerate(csn.CLASSES) if (merl[:, i] != exact[:, i]).any()} == \
        {"AF", "VB", "SA", "ST", "AVB", "CR", "2AVB"}


def test_condition_table_takes_the_first_row_of_a_shared_code(tmp_path):
    codes, names = csn.read_conditions(REPO / "benchmark" / "reference" / "csn_condition_names.csv")
    assert codes["698252002"] == "IDC" and codes["164909002"] == "LBBB" and codes["164865005"] == "MI"
    assert names["STDD"] == "ST drop down" and len(names) == 63 and len(codes) == 55   # 63 rows, 55 codes
    unspaced = tmp_path / "c.csv"
    unspaced.write_text("AcronymName,FullName,Snomed_CT\nSR,Sinus Rhythm,426783006\n")
    assert csn.read_conditions(unspaced)[0] == {"426783006": "SR"}
    unspaced.write_text("Acronym,Code\nSR,426783006\n")
    with pytest.raises(BenchmarkError, match="lacks the columns Acronym Name, Full Name, Snomed_CT"):
        csn.read_conditions(unspaced)
    assert csn.acronyms(["426783006", "1"], codes) == ["SR", "?1"]
    assert csn.classes_of(["AFIB", "1AVB"], "exact") == ("1AVB", "AFIB")
    assert csn.classes_of(["AFIB", "1AVB"], "merl") == ("VB", "AF", "AVB", "1AVB", "AFIB")


# ------------------------------------------------------------------------------------------------ mirror
def test_downloaded_over_loopback_and_prepared(mirror, tmp_path):
    with serve(mirror) as url:
        cfg = paper_config(tmp_path, download={"mirror": url, "workers": 2, "retries": 1, "backoff": 0.01,
                                               "timeout": 10})
        assert needed_parts(cfg, "csn") == ["records"]
        download_part(cfg, "csn", "records", download_marker(cfg, "csn", "records"))
    raw = tmp_path / "raw" / "csn"
    marker = yaml.safe_load((raw / ".downloads" / "records.json").read_text())
    expected = plan.csn_plan(N_CSN, SEED)
    folders = {r.folder for r in expected}
    # every record's .hea and .mat, a RECORDS per folder, the top RECORDS, the condition table, LICENSE.txt
    assert marker["files"] == marker["downloaded"] == 2 * len(expected) + len(folders) + 3
    prepare(cfg, "csn", tmp_path / "store", threads=1)
    store = load_store(tmp_path / "store")
    listed = [r for r in expected if r.name in set(csn.load_split()["record"])]
    assert len(listed) == N_CSN and len(expected) == N_CSN + 1     # one record MERL does not list (per 50): skipped
    assert store.signals.shape == (N_CSN, 12, 5000)
    assert store.records["ecg_id"].tolist() == [r.name for r in listed]
    assert store.records["labels"].tolist() == [";".join(c for c in csn.CLASSES if c in r.acronyms) for r in listed]
    split = dict(zip(*csn.load_split()[["record", "split"]].T.to_numpy()))
    assert store.records["split"].tolist() == [split[r.name] for r in listed]
    check = store.meta["merl_crosscheck"]
    assert (check["same_acronyms"], check["different"], check["copy_records_not_in_merl_split"]) == (N_CSN, 0, 1)
    assert store.meta["label_sets"]["merl"]["names"]["SR"] == "sinus rhythm"
    data = task_data(store, cfg["tasks"]["csn"], "csn")   # label_set merl, classes present in train
    assert data.multi_label and set(data.classes) <= set(csn.CLASSES) and "SR" in data.classes


def test_merl_rule_and_a_header_that_disagrees_with_merl(mirror, tmp_path):
    """A local copy (csn_dir) whose first record's #Dx was edited: the store follows the header, and the
    cross-check lists the record with both acronym sets. The `merl` rule inflates AF for AFIB records."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(csn_root(mirror), copy)
    first = plan.csn_plan(N_CSN, SEED)[0]
    hea = copy / "WFDBRecords" / first.folder / f"{first.name}.hea"
    hea.write_text("\n".join(ln if not ln.startswith("#Dx") else "#Dx: 164889003,270492004"
                             for ln in hea.read_text().splitlines()) + "\n")
    cfg = paper_config(tmp_path, label_rule="merl", csn_dir=str(copy))
    prepare(cfg, "csn", tmp_path / "store", threads=1)
    store = load_store(tmp_path / "store")
    assert store.records["acronyms"].iat[0] == "AFIB,1AVB"
    assert store.records["labels"].iat[0] == "VB;AF;AVB;1AVB;AFIB"        # MERL's substring columns
    check = store.meta["merl_crosscheck"]
    assert check["different"] == 1 and check["differences"][0] == {
        "record": first.name, "ours": ["1AVB", "AFIB"], "merl": sorted(set(first.acronyms))}


def test_a_copy_without_records_or_condition_table_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    cfg = paper_config(tmp_path, csn_dir=str(tmp_path / "empty"))
    with pytest.raises(BenchmarkError, match="ConditionNames_SNOMED-CT.csv is missing"):
        prepare(cfg, "csn", tmp_path / "store", threads=1)
