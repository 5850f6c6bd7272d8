"""Chapman-Shaoxing-Ningbo (CSN): PhysioNet's `ecg-arrhythmia` 1.0.0 (Zheng et al. 2020/2022, CC BY 4.0), as
MERL's sixth downstream task (Liu et al., ICML 2024).

Layout: `WFDBRecords/NN/NNN/JS00001.hea` + `.mat` (WFDB, 12 leads, 500 Hz, 10 s; the .mat holds the int16
samples after a 24-byte MATLAB v4 header, format `16+24`), the header's `#Dx` line lists SNOMED-CT codes, and
`ConditionNames_SNOMED-CT.csv` names them (acronym, full name, code). One record per patient.

Records, classes and split follow MERL's released files (`finetune/data_split/chapman/chapman_{train,val,test}.csv`
in cheliu-computation/MERL-ICML2024), shipped as benchmark/splits/csn_split.csv: the 23,026 records MERL kept,
their train/val/test split (random 72/8/20, seed 42, as released), and MERL's acronyms (`merl_diagnose`). The 38
classes are MERL's label columns, in its order. A record of the copy that MERL's files do not list is skipped and
counted (MERL dropped 22,126 records: unknown codes and classes without a column; docs/design/merl_setting.md).

Labels. Each #Dx code becomes the acronym of the first row of ConditionNames_SNOMED-CT.csv with that code (MERL's
lookup: e.g. 698252002 is IDC, not IVB). `label_rule: exact` (default) gives a record class c when c is one of its
acronyms; `label_rule: merl` reproduces MERL's columns, built by a substring test on the comma-joined acronyms
(so AF, "atrial flutter", is also set for every AFIB; VB for 1AVB; ST for STTC ...: seven inflated columns).
Every record's acronyms are compared with MERL's `merl_diagnose`, record by record; agreements and differences are
counted in meta.json (`merl_crosscheck`).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from benchmark.data import physionet as pn
from benchmark.errors import BenchmarkError

# MERL's 38 label columns, in the order of its chapman_*.csv files.
CLASSES = ("AQW", "UW", "SR", "WPW", "2AVB", "AT", "VB", "ARS", "STTC", "SA", "STE", "VPB", "TWO", "STTU", "ALS",
           "APB", "2AVB1", "PRIE", "CCR", "CR", "AF", "AVB", "QTIE", "LBBB", "VEB", "SVT", "RBBB", "1AVB", "STDD",
           "MI", "AFIB", "TWC", "PWC", "ERV", "RVH", "LVH", "ST", "JEB")
SPLIT_FILE = Path(__file__).resolve().parent.parent / "splits" / "csn_split.csv"
CONDITIONS = "ConditionNames_SNOMED-CT.csv"
RECORDS_DIR = "WFDBRecords"
LABEL_RULES = ("exact", "merl")


# ------------------------------------------------------------------------------------------------ split
def read_merl_reference(folder: str | Path) -> pd.DataFrame:
    """MERL's chapman_{train,val,test}.csv as one table: record (the stem of `ecg_path`), split, merl_diagnose."""
    folder = Path(folder)
    parts = []
    for split in ("train", "val", "test"):
        path = folder / f"chapman_{split}.csv"
        if not path.exists():
            raise BenchmarkError(f"{path} is missing: point at MERL's finetune/data_split/chapman folder")
        df = pd.read_csv(path, usecols=["ecg_path", "diagnose"], dtype=str)
        parts.append(pd.DataFrame({"record": df["ecg_path"].map(lambda p: Path(p).stem), "split": split,
                                   "merl_diagnose": df["diagnose"]}))
    return pd.concat(parts, ignore_index=True)


def write_split_file(reference_dir: str | Path, out: str | Path = SPLIT_FILE) -> pd.DataFrame:
    """Rebuild the shipped split file from MERL's three files (sorted by record)."""
    table = read_merl_reference(reference_dir).sort_values("record")
    if table["record"].duplicated().any():
        raise BenchmarkError(f"MERL's chapman files list {int(table['record'].duplicated().sum())} records twice")
    table.to_csv(out, index=False)
    return table


def load_split(path: str | Path = SPLIT_FILE) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise BenchmarkError(f"the CSN split file {path} is missing; restore it from git")
    split = pd.read_csv(path, dtype=str, keep_default_na=False)
    if {"record", "split", "merl_diagnose"} - set(split.columns) or split["record"].duplicated().any():
        raise BenchmarkError(f"{path} must have unique records and the columns record, split, merl_diagnose")
    return split


# ------------------------------------------------------------------------------------------------ labels
def read_conditions(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """ConditionNames_SNOMED-CT.csv -> (SNOMED code -> acronym of its first row, acronym -> full name). The header
    is `Acronym Name,Full Name,Snomed_CT` on PhysioNet; spaces in column names are ignored."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as e:
        raise BenchmarkError(f"cannot read {path}: {e}") from None
    table.columns = [c.replace(" ", "").lower() for c in table.columns]
    if {"acronymname", "fullname", "snomed_ct"} - set(table.columns):
        raise BenchmarkError(f"{path} lacks the columns Acronym Name, Full Name, Snomed_CT (CSN's condition table)")
    code_to_acronym: dict[str, str] = {}
    for code, acronym in zip(table["snomed_ct"].str.strip(), table["acronymname"].str.strip()):
        code_to_acronym.setdefault(code, acronym)  # MERL's lookup takes the first row of a shared code
    names = dict(zip(table["acronymname"].str.strip(), table["fullname"].str.strip()))
    return code_to_acronym, names


def acronyms(codes: list[str], code_to_acronym: dict[str, str]) -> list[str]:
    """The record's acronyms in #Dx order; a code the table lacks stays as `?<code>` (no class has it)."""
    return [code_to_acronym.get(c, f"?{c}") for c in codes]


def classes_of(names: list[str], rule: str) -> tuple[str, ...]:
    """The MERL classes a record has: `exact` membership, or MERL's substring test on the joined string."""
    if rule == "merl":
        joined = ",".join(names)
        return tuple(c for c in CLASSES if c in joined)
    present = set(names)
    return tuple(c for c in CLASSES if c in present)


def find_records(root: Path) -> dict[str, Path]:
    """Record name -> path without extension, for every header under WFDBRecords/ (any depth)."""
    base = root / RECORDS_DIR
    if not base.is_dir():
        raise BenchmarkError(f"no {RECORDS_DIR}/ folder under {root}: not a copy of PhysioNet's ecg-arrhythmia "
                             "1.0.0 (set csn_dir to one, or null to download it)")
    return pn.find_headers(base, root)


# ------------------------------------------------------------------------------------------------ prepare
def prepare_csn(config: dict, name: str, out_dir: Path, threads: int | None = None) -> None:
    t0 = time.time()
    ds, data = config["datasets"][name], config["data"]
    rule = ds.get("label_rule", "exact")
    key = pn.prepared_hash(config, name)
    if pn.up_to_date(out_dir, key):
        print(f"{name}: {out_dir} is already prepared with this configuration; nothing to do", file=sys.stderr)
        return
    root = pn.raw_root(config, "csn")
    if not root.is_dir():
        raise BenchmarkError(f"{name}: no CSN copy at {root}; set csn_dir to a copy of PhysioNet's ecg-arrhythmia "
                             "1.0.0, or leave it null and let snakemake download it")
    if not (root / CONDITIONS).exists():
        raise BenchmarkError(f"{name}: {root / CONDITIONS} is missing; it names the #Dx codes (part of the "
                             "PhysioNet project: download it again or copy it into csn_dir)")
    code_to_acronym, full_names = read_conditions(root / CONDITIONS)
    policy = ds.get("bad_records", "error")
    split = load_split()
    split_of = dict(zip(split["record"], split["split"]))
    merl_of = dict(zip(split["record"], split["merl_diagnose"]))
    headers = find_records(root)
    not_merl = len(set(headers) - set(split_of))
    listed_on_disk = [r for r in split["record"] if r in headers]
    if not listed_on_disk:
        raise BenchmarkError(f"{name}: none of the {len(split)} records of MERL's CSN split (JS00001.hea + .mat) "
                             f"was found under {root / RECORDS_DIR}; check csn_dir")
    absent = sorted(set(split["record"]) - set(headers))
    pn.require_complete(name, ds, len(split), {RECORDS_DIR: absent} if absent else {}, root, "csn_dir")

    problems, candidates, found, agree, differ = [], [], {}, 0, []
    for rec in listed_on_disk:
        try:
            codes = pn.dx_codes(pn.parse_header(headers[rec], rec).comments)
        except pn.BadRecord as e:
            problems.append((rec, e.reason))
            continue
        if not codes:
            problems.append((rec, f"no SNOMED-CT code in the #Dx line of {headers[rec]}.hea"))
            continue
        found[rec] = acronyms(codes, code_to_acronym)
        ours, theirs = set(found[rec]), set(filter(None, merl_of[rec].split(",")))
        if ours == theirs:
            agree += 1
        else:
            differ.append({"record": rec, "ours": sorted(ours), "merl": sorted(theirs)})
        candidates.append(rec)
    pn.report_problems(name, problems, policy, f"datasets.{name}.bad_records")
    if differ:
        print(f"{name}: our acronyms differ from MERL's for {len(differ)} of {len(candidates)} records "
              f"(listed in meta.json, merl_crosscheck)", file=sys.stderr)
    if not_merl:
        print(f"{name}: {not_merl} records of the copy are not in MERL's split and are skipped", file=sys.stderr)

    spec = pn.SignalSpec(sampling_rate=data["sampling_rate"], n_samples=int(round(data["seconds"] * data["sampling_rate"])),
                         normalisation=data["normalisation"], crop=ds.get("crop", "start"), pad=ds.get("pad", "zero"),
                         max_nonfinite=ds.get("max_nonfinite", 0.01))

    def tables(results, keep):
        records = pd.DataFrame({
            "ecg_id": candidates, "patient_id": candidates,   # one record per patient
            "split": [split_of[r] for r in candidates],
            "labels": [";".join(classes_of(found[r], rule)) for r in candidates],
            "acronyms": [",".join(found[r]) for r in candidates],
            "report": [""] * len(candidates),
            "native_seconds": [round(res[2], 3) for res in results],
        })
        meta = {
            "dataset": name, "source": "csn", "title": ds.get("title", "CSN"), "raw_dir": str(root),
            "sampling_rate": data["sampling_rate"], "seconds": data["seconds"],
            "normalisation": data["normalisation"], "crop": spec.crop, "pad": spec.pad,
            "classes": list(CLASSES),
            # the label set tasks name (`label_set: merl`, `classes: all`), with the condition table's full names
            "label_sets": {"merl": {"column": "labels", "classes": list(CLASSES),
                                    "names": {c: full_names.get(c, c).lower() for c in CLASSES}}},
            "label_rule": {"exact": "a class is set when it is one of the record's acronyms (#Dx codes named by the "
                                    "first row of ConditionNames_SNOMED-CT.csv with that code)",
                           "merl": "MERL's columns: a class is set when its acronym is a substring of the record's "
                                   "comma-joined acronyms"}[rule],
            "split_rule": "MERL's released chapman split (records and train/val/test), shipped as "
                          "benchmark/splits/csn_split.csv",
            "merl_crosscheck": {"same_acronyms": agree, "different": len(differ), "differences": differ[:100],
                                "copy_records_not_in_merl_split": not_merl},
            "text_source": None,
        }
        return records, meta

    pn.build_and_write(name, out_dir, [(headers[r], r) for r in candidates], spec, threads, policy, len(split),
                       len(absent), problems, key, t0, tables)
