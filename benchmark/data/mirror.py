"""A PhysioNet mirror of synthetic records, in exactly the layouts the downloader fetches (benchmark.data.download's
PHYSIONET) and the dataset readers read: `python -m benchmark mirror --out DIR [--ptbxl N] [--cpsc M] [--seed S]`.

    DIR/ptb-xl/1.0.3/                     PTB-XL v1.0.3 (PHYSIONET["ptbxl"].files_path)
        ptbxl_database.csv                every column of the real one, in its order
        scp_statements.csv                the real table (benchmark/reference/ptbxl_scp_statements.csv)
        RECORDS, LICENSE.txt, SHA256SUMS.txt
        records100/00000/00001_lr.hea/.dat, records500/00000/00001_hr.hea/.dat   (10 s, 12 leads, format 16)
    DIR/challenge-2020/1.0.2/             the CinC Challenge 2020 copy of CPSC2018, as the preset fetches it
        RECORDS (training/cpsc_2018/g1/ ...), SHA256SUMS.txt
        training/cpsc_2018/g1/RECORDS, A0001.hea, A0001.mat ... g7/   (6-60 s, 500 Hz)
    DIR/cpsc2018_original/                with --cpsc-original: the challenge's own layout (A0001.mat as a MATLAB
        A0001.mat ..., REFERENCE.csv      struct ECG, REFERENCE.csv), a local copy for cpsc2018_dir; PhysioNet does
                                          not serve it, so it has no SHA256SUMS.txt
    DIR/ecg-arrhythmia/1.0.0/             with --csn K: Chapman-Shaoxing-Ningbo (benchmark.data.csn), K records of
        ConditionNames_SNOMED-CT.csv      MERL's split with MERL's acronyms as #Dx codes, plus one record MERL does not
        RECORDS, LICENSE.txt, SHA256SUMS.txt   list per 50; 10 s at 500 Hz, CinC-style headers
        WFDBRecords/01/010/RECORDS, JS00001.hea, JS00001.mat ...
    DIR/mimic-iv-ecg/1.0/                 with --mimic J: MIMIC-IV-ECG, J studies of about J / 2.5 patients
        record_list.csv, machine_measurements.csv (report_0..report_17; a few reports empty or under 4 words)
        RECORDS, LICENSE.txt, SHA256SUMS.txt
        files/p1000/p10000032/s4.../4....hea/.dat   (10 s, 500 Hz, format 16 at 200/mV, aVF before aVL)
    DIR/mirror.json                       what was written (counts, seed)

Served on loopback (`python -m benchmark serve DIR`, benchmark.data.serve), DIR's URL is the preset's
`download.mirror`. The trees hold only the parts the benchmark downloads: PhysioNet's challenge-2020 also has the
other databases of the challenge, whose files its SHA256SUMS.txt lists too; PTB-XL's example_physionet.py is left
out. LICENSE.txt says the records are synthetic. Reports are the synthetic cohort's English texts (PTB-XL's are
mostly German).

Signals come from the synthetic cardiac-dipole cohort (benchmark.data.synthetic), at 500 Hz; records100 is the
same record resampled to 100 Hz, as PTB-XL's were made. What each record is (ids, labels, lengths, metadata) is in
benchmark.data.mirror_plan; the byte formats in benchmark.data.mirror_formats. Records are written by worker
processes chunk by chunk and the metadata table is streamed in order, so memory stays bounded by a chunk.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmark.data import mirror_formats as fmt
from benchmark.data import mirror_plan as plan
from benchmark.data import synthetic as syn
from benchmark.data.download import PHYSIONET, SUMS_FILE
from benchmark.data.preprocess import resample
from benchmark.errors import BenchmarkError

STATEMENTS = Path(__file__).resolve().parent.parent / "reference" / "ptbxl_scp_statements.csv"
CSN_CONDITIONS = Path(__file__).resolve().parent.parent / "reference" / "csn_condition_names.csv"
CINC_PART = PHYSIONET["cpsc2018"].parts["records"][0]            # training/cpsc_2018/
ORIGINAL = "cpsc2018_original"
LICENSE = ("Synthetic records written by benchmark.data.mirror in the layout of PTB-XL v1.0.3 (Wagner et al., "
           "PhysioNet; CC BY 4.0).\nNo record describes a real patient. scp_statements.csv is PTB-XL's table.\n")
CSN_LICENSE = ("Synthetic records written by benchmark.data.mirror in the layout of Chapman-Shaoxing-Ningbo "
               "(PhysioNet ecg-arrhythmia 1.0.0; CC BY 4.0).\nNo record describes a real patient.\n")
PTBXL_CHUNK, CPSC_CHUNK = 50, 25


def ptbxl_root(out: str | os.PathLike) -> Path:
    return Path(out) / PHYSIONET["ptbxl"].files_path


def cpsc_root(out: str | os.PathLike) -> Path:
    return Path(out) / PHYSIONET["cpsc2018"].files_path


def csn_root(out: str | os.PathLike) -> Path:
    return Path(out) / PHYSIONET["csn"].files_path


def mimic_root(out: str | os.PathLike) -> Path:
    return Path(out) / PHYSIONET["mimic_ecg"].files_path


MIMIC_MEASURES = ("bandwidth", "filtering", "rr_interval", "p_onset", "p_end", "qrs_onset", "qrs_end", "t_end",
                  "p_axis", "qrs_axis", "t_axis")
MIMIC_LICENSE = ("Synthetic records written by benchmark.data.mirror in the layout of MIMIC-IV-ECG 1.0 (PhysioNet).\n"
                 "No record describes a real patient.\n")


# ------------------------------------------------------------------------------------------------ workers
def _ptbxl_chunk(task) -> tuple[list[dict], list[tuple[str, str]]]:
    """Write the records of one chunk (both rates); return their database rows and (path, sha256) pairs."""
    root, seed, items = task
    rows, sums = [], []
    for i, ecg_id, owner in items:
        patient = plan.ptbxl_patient(seed, owner)
        f, row = plan.ptbxl_record(seed, i, ecg_id, patient)
        x = syn.synthesize_signal(f, patient.heart, 10.0, plan.ptbxl_signal_rng(seed, i))   # (12, 5000) mV, 500 Hz
        for column, fs, y in (("filename_lr", 100, resample(x, syn.GEN_FS, 100)), ("filename_hr", 500, x)):
            rel = row[column]
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            d = fmt.digital(y)
            sums.append((rel + ".hea", fmt.write(path.with_suffix(".hea"), fmt.ptbxl_header(path.name, fs, d))))
            sums.append((rel + ".dat", fmt.write(path.with_suffix(".dat"), d.tobytes())))
        rows.append(row)
    return rows, sums


def _cpsc_chunk(task) -> list[tuple[str, str]]:
    """Write the CinC 2020 copy (and, if asked, the original layout) of one chunk of CPSC2018 records."""
    root, original, seed, js = task
    sums = []
    for j in js:
        rec = plan.cpsc_record(seed, j)
        rng = plan.cpsc_signal_rng(seed, j)
        f = syn.cpsc_findings(rec.labels, rng)
        x = syn.synthesize_signal(f, syn.draw_patient(rng), rec.n_samples / plan.CPSC_FS, rng)
        d = fmt.digital(x)
        rel = f"{CINC_PART}{rec.folder}/{rec.name}"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        dx = [fmt.CINC_DX[c] for c in rec.labels]
        sums.append((rel + ".hea", fmt.write(root / (rel + ".hea"), fmt.cinc_header(rec.name, d, rec.age, rec.sex, dx))))
        sums.append((rel + ".mat", fmt.write(root / (rel + ".mat"), fmt.cinc_mat(d))))
        if original is not None:
            fmt.original_mat(original / f"{rec.name}.mat", d, rec.age, rec.sex)
    return sums


def _csn_chunk(task) -> list[tuple[str, str]]:
    """Write one chunk of CSN records (10 s, 500 Hz); #Dx holds the SNOMED-CT codes of the record's acronyms."""
    root, seed, records, code_of = task
    sums = []
    for rec in records:
        rng = plan.csn_signal_rng(seed, rec.name)
        x = syn.synthesize_signal(syn.cpsc_findings(rec.looks, rng), syn.draw_patient(rng), 10.0, rng)
        d = fmt.digital(x)
        rel = f"WFDBRecords/{rec.folder}/{rec.name}"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        header = fmt.cinc_header(rec.name, d, rec.age, rec.sex, [code_of[a] for a in rec.acronyms], fmt.CSN_DATE)
        sums.append((rel + ".hea", fmt.write(root / (rel + ".hea"), header)))
        sums.append((rel + ".mat", fmt.write(root / (rel + ".mat"), fmt.cinc_mat(d))))
    return sums


def _mimic_chunk(task) -> list[tuple[str, str]]:
    """Write one chunk of MIMIC-IV-ECG records: 10 s at 500 Hz, leads in MIMIC's order (aVF before aVL)."""
    root, seed, records = task
    order = [0, 1, 2, 3, 5, 4, 6, 7, 8, 9, 10, 11]   # the store's lead order -> MIMIC's (aVF, aVL swapped)
    sums = []
    for rec in records:
        rng = plan.mimic_signal_rng(seed, rec.study)
        x = syn.synthesize_signal(syn.cpsc_findings([rec.look], rng), syn.draw_patient(rng), 10.0, rng)
        d = fmt.digital(x[order], fmt.MIMIC_GAIN)
        (root / rec.path).parent.mkdir(parents=True, exist_ok=True)
        header = fmt.mimic_header(str(rec.study), d, rec.time, rec.date)
        sums.append((rec.path + ".hea", fmt.write(root / (rec.path + ".hea"), header)))
        sums.append((rec.path + ".dat", fmt.write(root / (rec.path + ".dat"), d.tobytes())))
    return sums


def _finish_mimic(root: Path, records: list, sums: list) -> None:
    """record_list.csv (every study; the last one has no measurements row, as can happen), machine_measurements.csv
    (report lines; empty cells for unused lines), RECORDS, LICENSE.txt, SHA256SUMS.txt."""
    listing = ["subject_id,study_id,file_name,ecg_time,path"]
    listing += [f"{r.subject},{r.study},{r.study},{r.date} {r.time},{r.path}" for r in records]
    sums.append(("record_list.csv", fmt.write(root / "record_list.csv", "\n".join(listing) + "\n")))
    buf = io.StringIO()
    table = csv.writer(buf, lineterminator="\n")
    table.writerow(["subject_id", "study_id", "cart_id", "ecg_time", *[f"report_{i}" for i in range(18)],
                    *MIMIC_MEASURES])
    for r in records[:-1] if len(records) > 1 else records:
        lines = r.lines + [""] * (18 - len(r.lines))
        table.writerow([r.subject, r.study, 6848, f"{r.date} {r.time}", *lines, 150, 60, 800, 40, 150, 200, 290,
                        600, 60, 30, 45])
    sums.append(("machine_measurements.csv", fmt.write(root / "machine_measurements.csv", buf.getvalue())))
    sums.append(("RECORDS", fmt.write(root / "RECORDS", "".join(r.path + "\n" for r in records))))
    sums.append(("LICENSE.txt", fmt.write(root / "LICENSE.txt", MIMIC_LICENSE)))
    _write_sums(root, sums)


def _csn_codes() -> dict[str, str]:
    """acronym -> SNOMED-CT code (the first row of the condition table naming it)."""
    out: dict[str, str] = {}
    with open(CSN_CONDITIONS, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["Acronym Name"], row["Snomed_CT"])
    return out


def _finish_csn(root: Path, records: list, sums: list) -> None:
    groups: dict[str, list[str]] = {}
    for rec in records:
        groups.setdefault(rec.folder, []).append(rec.name)
    for g, names in groups.items():
        sums.append((f"WFDBRecords/{g}/RECORDS", fmt.write(root / "WFDBRecords" / g / "RECORDS",
                                                           "".join(n + "\n" for n in names))))
    sums.append(("RECORDS", fmt.write(root / "RECORDS", "".join(f"WFDBRecords/{g}/\n" for g in sorted(groups)))))
    sums.append(("ConditionNames_SNOMED-CT.csv", fmt.write(root / "ConditionNames_SNOMED-CT.csv",
                                                             CSN_CONDITIONS.read_bytes())))
    sums.append(("LICENSE.txt", fmt.write(root / "LICENSE.txt", CSN_LICENSE)))
    _write_sums(root, sums)


# ------------------------------------------------------------------------------------------------ small files
def _cell(value) -> str:
    """A value as pandas writes it in ptbxl_database.csv: empty for missing, floats with a decimal point."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _write_sums(root: Path, sums: list[tuple[str, str]]) -> None:
    """SHA256SUMS.txt as PhysioNet publishes it: `<sha256> <path>` for every file of the project, sorted."""
    (root / SUMS_FILE).write_text("".join(f"{h} {p}\n" for p, h in sorted(sums)))


def _finish_ptbxl(root: Path, n: int, sums: list) -> None:
    ids = plan.ptbxl_ids(n)
    # RECORDS: every records100 record, then every records500 one; PhysioNet's v1.0.3 file has no line break
    # between the two halves ("...21837_lrrecords500/00000/00001_hr"), and neither has this one
    lr = "".join(f"records100/{i // 1000 * 1000:05d}/{i:05d}_lr\n" for i in ids).rstrip("\n")
    hr = "".join(f"records500/{i // 1000 * 1000:05d}/{i:05d}_hr\n" for i in ids)
    sums.append(("RECORDS", fmt.write(root / "RECORDS", lr + hr)))
    sums.append(("scp_statements.csv", fmt.write(root / "scp_statements.csv", STATEMENTS.read_bytes())))
    sums.append(("LICENSE.txt", fmt.write(root / "LICENSE.txt", LICENSE)))
    _write_sums(root, sums)


def _finish_cpsc(root: Path, original: Path | None, m: int, seed: int, sums: list) -> None:
    groups: dict[str, list[str]] = {}
    records = plan.cpsc_plan(m, seed)
    for rec in records:
        groups.setdefault(rec.folder, []).append(rec.name)
    for g, names in groups.items():
        sums.append((f"{CINC_PART}{g}/RECORDS", fmt.write(root / CINC_PART / g / "RECORDS", "".join(n + "\n" for n in names))))
    sums.append(("RECORDS", fmt.write(root / "RECORDS", "".join(f"{CINC_PART}{g}/\n" for g in groups))))
    _write_sums(root, sums)
    if original is not None:   # REFERENCE.csv: 1 Normal, 2 AF, ..., 9 STE (the order of cpsc2018.CLASSES)
        lines = [fmt.REFERENCE_HEADER]
        for rec in records:
            codes = [str(plan.CPSC_CLASSES.index(c) + 1) for c in rec.labels]
            lines.append(",".join([rec.name] + codes + [""] * (3 - len(codes))))
        (original / "REFERENCE.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode())


# ------------------------------------------------------------------------------------------------ the mirror
def write_mirror(out: str | os.PathLike, n_ptbxl: int = plan.PTBXL_RECORDS, n_cpsc: int = plan.CPSC_RECORDS,
                 seed: int = 0, workers: int | None = None, cpsc_original: bool = False, log=None,
                 n_csn: int = 0, n_mimic: int = 0) -> dict:
    """Write a mirror of n_ptbxl PTB-XL, n_cpsc CPSC2018 and n_csn CSN records into the new or empty folder `out`."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    plan.check_counts(n_ptbxl, n_cpsc)
    if not 0 <= n_csn <= plan.CSN_RECORDS:
        raise BenchmarkError(f"--csn {n_csn}: a mirror holds 0 to {plan.CSN_RECORDS} CSN records (MERL's split)")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BenchmarkError(f"--out {out} is not an empty folder; a mirror is written into a new or empty one")
    t0 = time.time()
    proot, croot = ptbxl_root(out), cpsc_root(out)
    original = out / ORIGINAL if cpsc_original and n_cpsc else None
    for folder in (proot, croot, original):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    owners = plan.ptbxl_owners(n_ptbxl, seed)
    items = [(i, ecg_id, int(owners[i])) for i, ecg_id in enumerate(plan.ptbxl_ids(n_ptbxl))]
    ptbxl_tasks = [(proot, seed, items[s:s + PTBXL_CHUNK]) for s in range(0, n_ptbxl, PTBXL_CHUNK)]
    cpsc_tasks = [(croot, original, seed, list(range(s, min(n_cpsc, s + CPSC_CHUNK))))
                  for s in range(0, n_cpsc, CPSC_CHUNK)]
    csn_records, sroot = plan.csn_plan(n_csn, seed), csn_root(out)
    if csn_records:
        sroot.mkdir(parents=True, exist_ok=True)
    code_of = _csn_codes() if csn_records else {}
    csn_tasks = [(sroot, seed, csn_records[s:s + CPSC_CHUNK], code_of) for s in range(0, len(csn_records), CPSC_CHUNK)]
    if not 0 <= n_mimic <= plan.MIMIC_RECORDS:
        raise BenchmarkError(f"--mimic {n_mimic}: a mirror holds 0 to {plan.MIMIC_RECORDS} MIMIC-IV-ECG studies")
    mimic_records, mroot = plan.mimic_plan(n_mimic, seed), mimic_root(out)
    if mimic_records:
        mroot.mkdir(parents=True, exist_ok=True)
    mimic_tasks = [(mroot, seed, mimic_records[s:s + CPSC_CHUNK]) for s in range(0, len(mimic_records), CPSC_CHUNK)]
    workers = max(1, workers or os.cpu_count() or 1)
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    run = pool.map if pool else map
    try:
        ptbxl_results, cpsc_results = run(_ptbxl_chunk, ptbxl_tasks), run(_cpsc_chunk, cpsc_tasks)
        csn_results = run(_csn_chunk, csn_tasks)
        mimic_results = run(_mimic_chunk, mimic_tasks)
        psums, csums, done, last = [], [], 0, time.time()
        with open(proot / "ptbxl_database.csv", "w", newline="", encoding="utf-8") as f:
            table = csv.writer(f, lineterminator="\n")
            table.writerow(fmt.PTBXL_COLUMNS)
            for rows, sums in ptbxl_results:   # in ecg_id order: the table is streamed, never held
                table.writerows([_cell(row[c]) for c in fmt.PTBXL_COLUMNS] for row in rows)
                psums += sums
                done += len(rows)
                if time.time() - last > 10:
                    last = time.time()
                    log(f"mirror: {done}/{n_ptbxl} PTB-XL records written ({time.time() - t0:.0f}s)")
        psums.append(("ptbxl_database.csv", _sha(proot / "ptbxl_database.csv")))
        _finish_ptbxl(proot, n_ptbxl, psums)
        for k, sums in enumerate(cpsc_results, start=1):
            csums += sums
            if time.time() - last > 10:
                last = time.time()
                log(f"mirror: {min(n_cpsc, k * CPSC_CHUNK)}/{n_cpsc} CPSC2018 records written ({time.time() - t0:.0f}s)")
        _finish_cpsc(croot, original, n_cpsc, seed, csums)
        ssums = [pair for sums in csn_results for pair in sums]
        if csn_records:
            _finish_csn(sroot, csn_records, ssums)
        msums = [pair for sums in mimic_results for pair in sums]
        if mimic_records:
            _finish_mimic(mroot, mimic_records, msums)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    summary = {"ptbxl_records": n_ptbxl, "cpsc2018_records": n_cpsc, "csn_records": len(csn_records),
               "csn_records_in_merl_split": n_csn, "mimic_records": n_mimic, "seed": seed, "cpsc_original": original is not None,
               "ptbxl": str(proot), "cpsc2018": str(croot), "csn": str(sroot) if csn_records else None,
               "mimic_ecg": str(mroot) if mimic_records else None,
               "files": len(psums) + len(csums) + len(ssums) + len(msums) + 2,
               "seconds": round(time.time() - t0, 1)}
    (out / "mirror.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"mirror: {n_ptbxl} PTB-XL, {n_cpsc} CPSC2018, {len(csn_records)} CSN and {n_mimic} MIMIC-IV-ECG records in {out} ({summary['seconds']} s); serve it with "
        f"`python -m benchmark serve {out}` and set download.mirror to the URL it prints")
    return summary


def _sha(path: Path) -> str:
    from benchmark.data.download import sha256_file

    return sha256_file(path)
