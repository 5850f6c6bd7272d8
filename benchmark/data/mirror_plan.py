"""What each record of a PhysioNet mirror is (benchmark.data.mirror): ids, patients, labels, lengths, metadata.

Cheap (no signal is made), deterministic given the seed and the record's index, and computed the same way by the
mirror's worker processes and by tests that check what a preparation read back. Every draw comes from a numpy
Generator seeded with (seed, stream, index), so a record does not depend on how the work was split.

PTB-XL v1.0.3. ecg_ids are 1..21,837 without the 38 that v1.0.3 dropped (its RECORDS lists 21,799); a mirror of
N records takes the first N. Records belong to patients (18,885 patients for 21,837 records in PTB-XL, so about
1.16 records each), `strat_fold` 1-10 is drawn per patient, as PTB-XL's folds keep a patient's records together.
Findings come from the synthetic cohort (benchmark.data.synthetic.ptbxl_findings) and are coded with real SCP-ECG
statements of scp_statements.csv: each superclass by diagnostic statements of that `diagnostic_class` only (so
the superclass labels a reader derives are the generator's), plus form and rhythm statements (likelihood 0, as in
PTB-XL). The other columns are plausible values drawn from frequencies of the real table.

CPSC2018. Records A0001..A6877 (a mirror of M takes the first M). Classes: the first label drawn with the
frequencies of the original REFERENCE.csv's First_label (Normal 918, AF 1098, I-AVB 704, LBBB 207, RBBB 1695,
PAC 574, PVC 653, STD 826, STE 202), a second one for 477 of 6,877 records and a third for 6, as there.
Lengths: the challenge's recordings last 6-60 s, many exactly 10 s (4 of the 10 in our real subset), most
10-20 s. Modelled as a log-normal with median 12.5 s and sigma 0.55 (mean about 15 s); a draw below 10 s becomes
exactly 10 s with probability 0.9 and otherwise uniform in 6-10 s; anything above 60 s is 60 s. For 6,877 records
(seed 0) that gives a mean of 15.5 s, a median of 12.6 s, 30% at exactly 10 s, 3.5% below, 76% within 10-20 s, 6%
above 30 s and 10 records of 60 s. A model of the shape, not the real histogram.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from benchmark.data import synthetic as syn
from benchmark.data.cpsc2018 import CLASSES as CPSC_CLASSES
from benchmark.errors import BenchmarkError

PTBXL_RECORDS, CPSC_RECORDS = 21799, 6877
# ecg_ids of PTB-XL v1.0.1 (1..21837) that v1.0.3 no longer has (its RECORDS file lists the other 21,799).
PTBXL_V103_ABSENT = frozenset({137, 139, 140, 141, 142, 143, 145, 456, 458, 459, 461, 462, 2506, 2511, 3795, 3798,
                               3800, 3801, 3832, 5817, 7777, 7779, 7782, 9821, 9825, 9888, 11810, 11814, 11815, 11817,
                               11838, 13791, 13793, 13796, 13797, 13799, 15742, 18150})
RECORDS_PER_PATIENT = 21837 / 18885
# random streams: one per kind of draw, so records and patients are independent of each other and of the split
_PTBXL_META, _PTBXL_SIGNAL, _PTBXL_PATIENT, _CPSC_META, _CPSC_SIGNAL, _OWNERS = 1, 2, 3, 11, 12, 21
_CSN_META, _CSN_SIGNAL = 31, 32

# SCP-ECG statements per finding (all in scp_statements.csv); the diagnostic ones carry the finding's superclass.
MI_CODES = {"inferior": ("IMI", "ILMI", "IPLMI"), "anterior": ("ASMI", "AMI", "ALMI"), "lateral": ("LMI",)}
MI_ACUTE = {"inferior": "INJIN", "anterior": "INJAS", "lateral": "INJAL"}        # subendocardial injury (MI)
LIKELIHOODS, LIKELIHOOD_P = (100.0, 80.0, 50.0, 35.0, 15.0), (0.62, 0.12, 0.17, 0.02, 0.07)   # PTB-XL's values

# Frequencies of the real ptbxl_database.csv (v1.0.1), for plausible values of the other columns.
DEVICES = {"CS100    3": 6140, "CS-12": 4048, "AT-6 C 5.5": 3952, "CS-12   E": 2886, "AT-6     6": 2273,
           "AT-60    3": 966, "AT-6 C 5.8": 824, "AT-6 C": 542, "AT-6 C 5.0": 80, "AT-6 C 5.3": 67, "AT-6 C 5.6": 59}
HEART_AXIS = {None: 8505, "MID": 7687, "LAD": 3764, "ALAD": 1382, "RAD": 221, "ARAD": 122, "AXL": 102, "AXR": 51,
              "SAR": 3}
NOISE = {"baseline_drift": (0.074, (" , V6", " , V1", " , II-AVF", " , V3", " , V5,V6", " , alles")),
         "static_noise": (0.149, (" , I-AVR,  ", " , I-AVF,  ", " , alles,  ", " , I-V1,  ", " , mittel,  ")),
         "burst_noise": (0.028, ("alles", "I-AVF", "V1", "V1,V2", "I-AVR")),
         "electrodes_problems": (0.0014, ("V6", "V4", "V1"))}
FIRST_DATE, LAST_DATE = datetime(1984, 11, 9, 9, 17, 34), datetime(2001, 6, 11, 16, 43, 1)

CPSC_FIRST = {"Normal": 918, "AF": 1098, "I-AVB": 704, "LBBB": 207, "RBBB": 1695, "PAC": 574, "PVC": 653, "STD": 826,
              "STE": 202}
CPSC_SECOND, CPSC_THIRD = 477 / 6877, 6 / 6877
CPSC_MEDIAN_S, CPSC_SIGMA, CPSC_MIN_S, CPSC_MAX_S, CPSC_AT_10 = 12.5, 0.55, 6.0, 60.0, 0.9
CPSC_FS = 500


def _rng(seed: int, stream: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, index])


def _choice(rng: np.random.Generator, table: dict):
    keys = list(table)
    p = np.asarray(list(table.values()), dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def check_counts(n_ptbxl: int, n_cpsc: int) -> None:
    for flag, n, most in (("--ptbxl", n_ptbxl, PTBXL_RECORDS), ("--cpsc", n_cpsc, CPSC_RECORDS)):
        if not 0 <= n <= most:
            raise BenchmarkError(f"{flag} {n}: a mirror holds 0 to {most} records (the real dataset's count)")


# ------------------------------------------------------------------------------------------------ PTB-XL
def ptbxl_ids(n: int) -> list[int]:
    ids = [i for i in range(1, 21838) if i not in PTBXL_V103_ABSENT]
    return ids[:n]


def ptbxl_owners(n: int, seed: int) -> np.ndarray:
    """Patient index of each of the n records: every patient has one, some have more, in random order."""
    rng = _rng(seed, _OWNERS, 0)
    patients = min(n, max(1, int(round(n / RECORDS_PER_PATIENT))))   # none for an empty mirror
    owners = np.concatenate([np.arange(patients), rng.integers(0, patients, n - patients)])
    return rng.permutation(owners)


@dataclass
class PtbxlPatient:
    heart: syn.Patient
    patient_id: float
    age: int
    sex: int
    height: float
    weight: float
    fold: int


def ptbxl_patient(seed: int, index: int) -> PtbxlPatient:
    rng = _rng(seed, _PTBXL_PATIENT, index)
    heart = syn.draw_patient(rng)
    height = float(round(rng.normal(167, 11))) if rng.random() < 0.32 else float("nan")
    weight = float(round(rng.normal(71, 16))) if rng.random() < 0.43 else float("nan")
    return PtbxlPatient(heart, float(index + 1), int(np.clip(rng.normal(60, 17), 2, 93)),
                        int(rng.random() < 0.48), height, weight, int(rng.integers(1, 11)))


def scp_codes(f: syn.Findings, heart: syn.Patient, rng: np.random.Generator) -> dict[str, float]:
    """SCP-ECG statements for synthetic findings: diagnostic first, then form and rhythm (likelihood 0)."""
    def lik():
        return float(LIKELIHOODS[int(rng.choice(len(LIKELIHOODS), p=LIKELIHOOD_P))])

    diag, other = {}, {}
    if "NORM" in f.superclasses:
        diag["NORM"] = float(rng.choice([100.0, 80.0]))
    if f.mi:
        codes = MI_CODES[f.mi]
        diag[codes[int(rng.integers(len(codes)))]] = lik()
        if f.mi_acute:
            diag[MI_ACUTE[f.mi]] = lik()
    if f.st_depression:
        diag["ISC_"] = lik()
        other["STD_"] = 0.0
    if f.t_inversion:
        diag["NDT"] = lik()
        other["INVT"] = 0.0
    for flag, code in (("lbbb", "CLBBB"), ("rbbb", "CRBBB"), ("avb1", "1AVB")):
        if getattr(f, flag):
            diag[code] = lik()
    if f.lvh:
        diag["LVH"] = lik()
        other["VCLVH"] = 0.0
    if f.pac:
        other["PAC"] = 0.0
    if f.pvc:
        other["PVC"] = 0.0
    other["AFIB" if f.af else ("SBRAD" if heart.hr < 60 else "SR")] = 0.0
    return {**diag, **other}


def ptbxl_record(seed: int, i: int, ecg_id: int, patient: PtbxlPatient) -> tuple[syn.Findings, dict]:
    """The findings of record i and its row of ptbxl_database.csv (column -> value; NaN/None = empty)."""
    rng = _rng(seed, _PTBXL_META, i)
    f = syn.ptbxl_findings(rng)
    codes = scp_codes(f, patient.heart, rng)
    pr_ms = int(rng.integers(240, 320)) if f.avb1 else 0
    span = (LAST_DATE - FIRST_DATE).total_seconds()
    when = FIRST_DATE + timedelta(seconds=span * (ecg_id - 1) / 21836 + float(rng.uniform(0, 3600)))
    validated = rng.random() < 0.57
    row = {
        "ecg_id": ecg_id, "patient_id": patient.patient_id, "age": float(patient.age + int(rng.integers(0, 3))),
        "sex": patient.sex, "height": patient.height, "weight": patient.weight,
        "nurse": float(rng.integers(0, 12)) if rng.random() < 0.93 else None,
        "site": float(min(50, int(rng.exponential(1.2)))), "device": _choice(rng, DEVICES),
        "recording_date": when.strftime("%Y-%m-%d %H:%M:%S"),
        "report": syn.report(f, patient.heart, pr_ms, rng), "scp_codes": str(codes),
        "heart_axis": _choice(rng, HEART_AXIS),
        "infarction_stadium1": str(rng.choice(["unknown", "Stadium III", "Stadium II-III", "Stadium I"])) if f.mi else None,
        "infarction_stadium2": None,
        "validated_by": float(rng.integers(0, 12)) if validated else None,
        "second_opinion": bool(rng.random() < 0.026), "initial_autogenerated_report": bool(rng.random() < 0.31),
        "validated_by_human": bool(validated or rng.random() < 0.4),
        **{col: (str(rng.choice(values)) if rng.random() < p else None) for col, (p, values) in NOISE.items()},
        "extra_beats": "VES" if f.pvc else ("SVES" if f.pac else None), "pacemaker": None,
        "strat_fold": patient.fold,
        "filename_lr": f"records100/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_lr",
        "filename_hr": f"records500/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_hr",
    }
    return f, row


def ptbxl_signal_rng(seed: int, i: int) -> np.random.Generator:
    return _rng(seed, _PTBXL_SIGNAL, i)


def ptbxl_plan(n: int, seed: int):
    """Yield (findings, database row) of every record of an n-record mirror, in ecg_id order (no signals)."""
    owners = ptbxl_owners(n, seed)
    for i, ecg_id in enumerate(ptbxl_ids(n)):
        yield ptbxl_record(seed, i, ecg_id, ptbxl_patient(seed, int(owners[i])))


# ------------------------------------------------------------------------------------------------ CPSC2018
@dataclass
class CpscRecord:
    name: str            # A0001 ...
    labels: list[str]    # CPSC2018 classes, first label first
    n_samples: int       # at 500 Hz
    age: int
    sex: str

    @property
    def folder(self) -> str:   # the CinC 2020 copy's groups of 1,000: g1 = A0001-A1000, ..., g7 = A6001-A6877
        return f"g{(int(self.name[1:]) - 1) // 1000 + 1}"


def cpsc_seconds(rng: np.random.Generator) -> float:
    seconds = float(np.exp(rng.normal(np.log(CPSC_MEDIAN_S), CPSC_SIGMA)))
    if seconds < 10.0:
        seconds = 10.0 if rng.random() < CPSC_AT_10 else float(rng.uniform(CPSC_MIN_S, 10.0))
    return min(seconds, CPSC_MAX_S)


def cpsc_record(seed: int, j: int) -> CpscRecord:
    rng = _rng(seed, _CPSC_META, j)
    labels = [_choice(rng, CPSC_FIRST)]
    extra = 2 if rng.random() < CPSC_THIRD else (1 if rng.random() < CPSC_SECOND else 0)
    while len(labels) < 1 + extra and labels[0] != "Normal":
        others = {c: n for c, n in CPSC_FIRST.items() if c not in labels and c != "Normal"}
        labels.append(_choice(rng, others))
    n_samples = int(round(cpsc_seconds(rng) * CPSC_FS))
    return CpscRecord(f"A{j + 1:04d}", labels, n_samples, int(np.clip(rng.normal(60, 18), 18, 95)),
                      str(rng.choice(["Male", "Female"], p=[0.54, 0.46])))


def cpsc_signal_rng(seed: int, j: int) -> np.random.Generator:
    return _rng(seed, _CPSC_SIGNAL, j)


def cpsc_plan(m: int, seed: int) -> list[CpscRecord]:
    """Every record of an m-record CPSC2018 mirror: names, classes, lengths (what its headers say; no signals)."""
    return [cpsc_record(seed, j) for j in range(m)]


assert set(CPSC_FIRST) == set(CPSC_CLASSES)


# ------------------------------------------------------------------------------------------------ CSN
CSN_RECORDS = 23026      # MERL's records (benchmark/splits/csn_split.csv); the mirror adds some it does not list
CSN_EXTRA_EVERY = 50     # one record outside MERL's split per 50 (the real copy has 45,152, MERL kept 23,026)
# acronyms whose look the synthetic generator can draw (as CPSC2018 classes); every other record is drawn normal
CSN_LOOKS = {"AFIB": "AF", "AF": "AF", "1AVB": "I-AVB", "LBBB": "LBBB", "RBBB": "RBBB", "APB": "PAC", "VPB": "PVC",
             "STDD": "STD", "STE": "STE"}


@dataclass
class CsnRecord:
    name: str            # JS00001 ...
    acronyms: list[str]  # as MERL's merl_diagnose (records outside MERL's split: drawn)
    age: int
    sex: str

    @property
    def folder(self) -> str:
        """WFDBRecords/NN/NNM/ as the real copy's groups (the real assignment of names to folders is irregular)."""
        n = int(self.name[2:]) - 1
        top = n // 1000 + 1
        return f"{top:02d}/{top:02d}{n % 1000 // 100}"

    @property
    def looks(self) -> list[str]:
        out = [CSN_LOOKS[a] for a in self.acronyms if a in CSN_LOOKS]
        return list(dict.fromkeys(out)) or ["Normal"]


def csn_plan(k: int, seed: int) -> list[CsnRecord]:
    """k records of MERL's CSN split, spread evenly over it (so every split is present), with MERL's acronyms, plus
    one record MERL does not list for every CSN_EXTRA_EVERY (a name between two listed ones)."""
    from benchmark.data.csn import load_split

    split = load_split()
    listed = set(split["record"])
    picks = np.linspace(0, len(split) - 1, k).round().astype(int) if k else np.array([], dtype=int)
    out = []
    for j, i in enumerate(picks):
        rng = _rng(seed, _CSN_META, j)
        name, diagnose = split["record"].iat[i], split["merl_diagnose"].iat[i]
        out.append(CsnRecord(name, diagnose.split(","), int(np.clip(rng.normal(60, 18), 18, 95)),
                             str(rng.choice(["Male", "Female"]))))
        if j % CSN_EXTRA_EVERY == 0:
            extra = next((f"JS{n:05d}" for n in range(int(name[2:]) + 1, int(name[2:]) + 1000)
                          if f"JS{n:05d}" not in listed), None)
            if extra:
                out.append(CsnRecord(extra, ["SB"], 50, "Male"))
    return sorted(out, key=lambda r: r.name)


def csn_signal_rng(seed: int, name: str) -> np.random.Generator:
    return _rng(seed, _CSN_SIGNAL, int(name[2:]))


# ------------------------------------------------------------------------------------------------ MIMIC-IV-ECG
MIMIC_RECORDS = 800_035           # studies in record_list.csv of MIMIC-IV-ECG 1.0
MIMIC_STUDIES_PER_SUBJECT = 2.5   # about 800,000 studies of about 160,000 patients
_MIMIC_META, _MIMIC_SIGNAL = 41, 42
# what the machine writes for a finding (report lines in MIMIC-IV-ECG's style), by the CPSC-like look drawn
MIMIC_LINES = {"Normal": ["Sinus rhythm", "Normal ECG"],
               "AF": ["Atrial fibrillation with rapid ventricular response", "Abnormal ECG"],
               "I-AVB": ["Sinus rhythm", "1st degree A-V block", "Borderline ECG"],
               "LBBB": ["Sinus rhythm", "Left bundle branch block", "Abnormal ECG"],
               "RBBB": ["Sinus rhythm", "Right bundle branch block", "Abnormal ECG"],
               "PAC": ["Sinus rhythm with PACs.", "Otherwise normal ECG"],
               "PVC": ["Sinus rhythm with PVCs", "Borderline ECG"],
               "STD": ["Sinus rhythm", "ST depression, consider ischemia", "Abnormal EKG"],
               "STE": ["Sinus rhythm", "ST elevation, consider acute injury", "*** ACUTE MI ***"]}
MIMIC_LOOKS = {"Normal": 50, "AF": 10, "I-AVB": 8, "LBBB": 4, "RBBB": 8, "PAC": 6, "PVC": 6, "STD": 6, "STE": 2}
# reports that cannot pre-train, as the real table has them: no line at all, or fewer than 4 words
MIMIC_EMPTY, MIMIC_SHORT = 0.02, 0.03


@dataclass
class MimicRecord:
    subject: int
    study: int
    look: str
    lines: list[str]     # report_0 ... (empty: a report without text)
    time: str
    date: str

    @property
    def path(self) -> str:
        """files/p1000/p10000032/s40689238/40689238, as record_list.csv's `path`."""
        s = str(self.subject)
        return f"files/p{s[:4]}/p{s}/s{self.study}/{self.study}"


def mimic_plan(n: int, seed: int) -> list[MimicRecord]:
    """n studies of about n / 2.5 patients (a patient's studies listed together, as record_list.csv does), with
    their report lines; a few reports are empty or shorter than 4 words."""
    rng = _rng(seed, _MIMIC_META, 0)
    studies = 40_000_000 + rng.choice(9_999_999, size=n, replace=False)
    out, subject, j = [], 10_000_032, 0
    while j < n:
        for _ in range(min(n - j, 1 + int(rng.poisson(MIMIC_STUDIES_PER_SUBJECT - 1)))):
            look = _choice(rng, MIMIC_LOOKS)
            u = rng.random()
            lines = [] if u < MIMIC_EMPTY else (["Sinus rhythm"] if u < MIMIC_EMPTY + MIMIC_SHORT
                                                 else list(MIMIC_LINES[look]))
            when = datetime(2180, 1, 1) + timedelta(minutes=int(rng.integers(0, 60 * 24 * 365 * 10)))
            out.append(MimicRecord(subject, int(studies[j]), look, lines, when.strftime("%H:%M:%S"),
                                   when.strftime("%d/%m/%Y")))
            j += 1
        subject += int(rng.integers(1, 40))
    return out


def mimic_signal_rng(seed: int, study: int) -> np.random.Generator:
    return _rng(seed, _MIMIC_SIGNAL, study)
