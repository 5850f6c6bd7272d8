"""A synthetic 12-lead ECG cohort with free-text reports: the embedded demo data set.

Signals are built beat by beat from a cardiac-dipole model: every wave (P, septal q, main QRS, terminal
forces, ST segment, T) is a Gaussian bump in time carrying a 3-D dipole vector, and each lead sees the
projection of the dipole onto its lead axis (hexaxial frontal leads, horizontal-plane precordial leads).
That gives the familiar lead-to-lead relationships for free (e.g. the R wave growing from V1 to V6) and lets a
finding be described as a cardiologist would: a bundle branch block is a slow, re-routed QRS dipole, an
infarct is lost forces (Q waves) in its territory, hypertrophy is a larger, more posterior QRS dipole.

Two cohorts, written in the same preprocessed format as the real datasets (benchmark.data.store):
  ptbxl_like  superclasses NORM, MI, STTC, CD, HYP (+ a few two-superclass records, as in PTB-XL), optional
              rhythm findings (AF, PAC, PVC); English reports from varied templates; strat_fold-style
              patient-level folds (1-8 train, 9 val, 10 test).
  cpsc_like   one of Normal, AF, I-AVB, LBBB, RBBB, PAC, PVC, STD, STE per record; no reports (CPSC2018 has
              none); random patient-level 70/10/20 split.
Everything is drawn from numpy Generators seeded from the config, so a cohort is reproducible bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pandas as pd

from benchmark.data.preprocess import normalise, resample
from benchmark.errors import BenchmarkError

GEN_FS = 500  # synthesis rate; the cohort is then resampled to the configured rate like real data

# Lead axes (x: patient's left, y: inferior, z: anterior). Frontal leads on the hexaxial system.
_FRONTAL = {"I": 0, "II": 60, "III": 120, "aVR": -150, "aVL": -30, "aVF": 90}
_PRECORDIAL = {"V1": 120, "V2": 95, "V3": 75, "V4": 55, "V5": 30, "V6": 0}  # angle from +x toward +z


def _lead_matrix() -> np.ndarray:
    rows = [[np.cos(np.radians(a)), np.sin(np.radians(a)), 0.0] for a in _FRONTAL.values()]
    rows += [[np.cos(np.radians(a)), 0.15, np.sin(np.radians(a))] for a in _PRECORDIAL.values()]
    return np.asarray(rows)  # (12, 3)


LEAD_MATRIX = _lead_matrix()


def _unit(*v) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


# Normal dipole directions (Malmivuo & Plonsey, Bioelectromagnetism ch. 15: activation sequence).
P_DIR = _unit(0.5, 0.8, 0.2)          # atria: right-to-left, downward
SEPTAL_DIR = _unit(-0.6, 0.2, 0.7)    # septum depolarises left-to-right: q in I/V6, r in V1
MAIN_DIR = _unit(0.6, 0.7, -0.35)     # left-ventricular free wall: leftward, inferior, posterior
BASAL_DIR = _unit(-0.3, -0.5, -0.5)   # late basal forces: small s waves
T_DIR = _unit(0.55, 0.7, 0.2)         # T concordant with the main QRS in a healthy heart
TERRITORY = {"anterior": _unit(0.0, 0.0, 1.0), "inferior": _unit(0.0, 1.0, 0.1), "lateral": _unit(1.0, 0.0, 0.3)}
TERRITORY_LEADS = {"anterior": "V1-V4", "inferior": "II, III and aVF", "lateral": "I, aVL, V5 and V6"}

PTBXL_SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
CPSC_CLASSES = ("Normal", "AF", "I-AVB", "LBBB", "RBBB", "PAC", "PVC", "STD", "STE")


@dataclass
class Findings:
    """What is wrong with one record; drives both the signal and the report."""
    superclasses: list[str] = field(default_factory=list)
    severity: float = 1.0           # 0..1 scale of the abnormal waves (mild to marked)
    mi: str | None = None           # territory
    mi_acute: bool = False          # ST elevation in the territory
    st_depression: bool = False
    t_inversion: bool = False
    lbbb: bool = False
    rbbb: bool = False
    avb1: bool = False
    lvh: bool = False
    lvh_strain: bool = False
    af: bool = False
    pac: bool = False
    pvc: bool = False
    ste: str | None = None          # territory of isolated ST elevation (CPSC STE)


@dataclass
class Patient:
    rotation: np.ndarray            # 3x3: individual electrical axis
    gain: float                     # body habitus
    lead_gain: np.ndarray           # (12,) electrode placement
    hr: float                       # resting heart rate, bpm
    t_amp: float                    # individual T-wave amplitude (mV)
    qrs_amp: float                  # individual QRS amplitude (mV), before body habitus


def _rotation(rng: np.random.Generator, max_deg: float) -> np.ndarray:
    out = np.eye(3)
    for axis in range(3):
        a = np.radians(rng.uniform(-max_deg, max_deg))
        c, s = np.cos(a), np.sin(a)
        i, j = [k for k in range(3) if k != axis]
        r = np.eye(3)
        r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
        out = out @ r
    return out


def _patient(rng: np.random.Generator) -> Patient:
    return Patient(_rotation(rng, 30), rng.uniform(0.6, 1.5), rng.normal(1.0, 0.12, 12), rng.uniform(52, 100),
                   rng.uniform(0.18, 0.5), rng.uniform(1.0, 1.8))


# --------------------------------------------------------------------------------------------- signals
def _beat_components(f: Findings, p: Patient, kind: str, rng: np.random.Generator, pr: float, qt: float):
    """Waves of one beat as (time offset from QRS onset [s], width sigma [s], dipole [mV]) triples."""
    waves = []
    if kind == "sinus":
        waves.append((-pr + 0.05, 0.022, 0.15 * P_DIR))
    elif kind == "pac":  # ectopic atrial focus: abnormal (low-atrial, inverted) P, normal conduction
        waves.append((-0.07, 0.02, 0.13 * _unit(-0.3, -0.8, 0.3)))
    if kind == "pvc":  # ventricular focus: no P, wide bizarre QRS, large discordant T
        d = _unit(*rng.normal(size=3)) * rng.uniform(1.4, 2.0)
        return [(0.06, 0.035, d), (0.13, 0.03, -0.35 * d), (qt + 0.06, 0.07, -0.45 * d)]
    if f.lbbb:  # septum activated right-to-left, slow notched left-ventricular activation, discordant ST-T
        width = 1.7
        qrs = [(0.012, 0.008, 0.25 * _unit(0.7, 0.1, -0.3)),
               (0.035, 0.012, 1.0 * _unit(0.8, 0.25, -0.55)),
               (0.062, 0.012, 1.05 * _unit(0.75, 0.1, -0.65))]
        waves += [(0.2, 0.05, -0.12 * _unit(0.8, 0.25, -0.55)), (qt + 0.04, 0.06, -0.3 * _unit(0.75, 0.2, -0.6))]
    else:
        width, main_amp, main_dir = 1.0, p.qrs_amp, MAIN_DIR
        if f.lvh:  # more left-ventricular mass: larger, more leftward-posterior forces
            main_amp *= 1.0 + f.severity * rng.uniform(0.5, 1.0)
            main_dir = _unit(0.6 + 0.05 * f.severity, 0.7 - 0.2 * f.severity, -0.35 - 0.25 * f.severity)
        qrs = [(0.012, 0.008, 0.22 * SEPTAL_DIR), (0.04, 0.012, main_amp * main_dir), (0.07, 0.011, 0.3 * BASAL_DIR)]
        if f.rbbb:  # late, slow right-ventricular activation: R' in V1, broad S in I and V6
            width = 1.5
            qrs.append((0.075, 0.014, 0.7 * _unit(-0.6, 0.1, 0.8)))
            waves.append((qt, 0.06, -0.12 * _unit(-0.6, 0.1, 0.8)))
        t_dir, t_amp = T_DIR, p.t_amp
        if f.t_inversion:  # from flattened to inverted with severity
            t_amp = p.t_amp * (1 - 1.6 * f.severity)
        if f.lvh and f.lvh_strain:
            t_dir, t_amp = _unit(0.8, 0.3, -0.3), -0.3 * f.severity
        waves.append((qt, 0.055, t_amp * t_dir))
    if f.mi:  # lost forces in the infarct territory: Q waves there; T inverted over the scar
        terr = TERRITORY[f.mi]
        qrs.append((0.02, 0.012, -0.5 * f.severity * terr))
        waves.append((qt, 0.05, -0.3 * f.severity * terr))
    st = np.zeros(3)
    if f.mi and f.mi_acute:
        st += 0.25 * f.severity * TERRITORY[f.mi]
    if f.ste:
        st += (0.08 + 0.2 * f.severity) * TERRITORY[f.ste]
    if f.st_depression:  # subendocardial ischaemia: ST vector away from the lateral and inferior leads
        st -= (0.05 + 0.15 * f.severity) * _unit(0.6, 0.7, 0.1)
    j_point = 0.1 * width
    if st.any():  # a flat plateau from the J point to the T wave, built from overlapping bumps
        waves += [(j_point + s, 0.03, st) for s in (0.03, 0.08, 0.13)]
    # a conduction block slows the whole ventricular activation: stretch the QRS in time
    return waves + [(t * width, w * width, d) for t, w, d in qrs]


def _rr_series(f: Findings, p: Patient, seconds: float, rng: np.random.Generator) -> list[tuple[float, str]]:
    """Beat onsets (s) and kinds, with respiratory sinus arrhythmia, AF irregularity and ectopy."""
    hr = p.hr * (rng.uniform(1.1, 1.5) if f.af else 1.0)
    rr0 = 60.0 / hr
    t, beats = rng.uniform(0.0, rr0), []
    resp_f, resp_phase = rng.uniform(0.2, 0.33), rng.uniform(0, 2 * np.pi)
    ectopic_every = int(rng.integers(3, 7))
    n = 0
    while t < seconds + 0.5:
        kind = "af" if f.af else "sinus"
        rr = rr0 * (1 + 0.04 * np.sin(2 * np.pi * resp_f * t + resp_phase)) + rng.normal(0, 0.015)
        if f.af:  # irregularly irregular
            rr = rr0 * rng.uniform(0.6, 1.45)
        n += 1
        if (f.pac or f.pvc) and n % ectopic_every == 0:
            kind = "pvc" if (f.pvc and not (f.pac and rng.random() < 0.5)) else "pac"
            # premature by 30-40 %; a PVC is followed by a full compensatory pause
            t_prev = beats[-1][0] if beats else t - rr0
            t = t_prev + rr0 * rng.uniform(0.6, 0.7)
            beats.append((t, kind))
            t += rr0 * (2 - 0.65) if kind == "pvc" else rr0 * 1.05
            continue
        beats.append((t, kind))
        t += max(rr, 0.3)
    return beats


def synthesize_signal(f: Findings, p: Patient, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """One 12-lead record in millivolts at GEN_FS, shape (12, seconds * GEN_FS)."""
    n = int(round(seconds * GEN_FS))
    tt = np.arange(n) / GEN_FS
    pr = rng.uniform(0.24, 0.32) if f.avb1 else rng.uniform(0.13, 0.19)
    centers, widths, dipoles = [], [], []
    for onset, kind in _rr_series(f, p, seconds, rng):
        rr = 60.0 / p.hr
        qt = 0.25 * np.sqrt(rr) + 0.04  # Bazett-like: T peak moves with the heart rate
        for dt, w, d in _beat_components(f, p, kind, rng, pr, qt):
            centers.append(onset + dt)
            widths.append(w * rng.uniform(0.95, 1.05))
            dipoles.append(d * rng.uniform(0.93, 1.07))
    centers, widths, dipoles = np.asarray(centers), np.asarray(widths), np.asarray(dipoles)
    bumps = np.exp(-0.5 * ((tt[None, :] - centers[:, None]) / widths[:, None]) ** 2)  # (C, n)
    heart = (p.rotation @ dipoles.T) @ bumps  # (3, n)
    if f.af:  # fibrillatory waves: 4-8 Hz atrial activity, strongest in V1 and the inferior leads
        fw = sum(rng.uniform(0.01, 0.03) * np.sin(2 * np.pi * rng.uniform(4, 8) * tt + rng.uniform(0, 6.3))
                 for _ in range(3))
        heart += np.outer(_unit(-0.2, 0.8, 0.6), fw)
    x = (LEAD_MATRIX @ heart) * p.gain * p.lead_gain[:, None]
    # baseline wander (respiration, electrode motion) and noise
    for _ in range(2):
        x += rng.uniform(0.03, 0.25) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * tt + rng.uniform(0, 6.3, (12, 1)))
    x += rng.normal(0, rng.uniform(0.01, 0.05), x.shape)
    x += 0.015 * rng.random() * np.sin(2 * np.pi * 50 * tt)  # mains hum, removed by resampling below 100 Hz
    return x.astype(np.float32)


# --------------------------------------------------------------------------------------------- reports
def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _report(f: Findings, p: Patient, pr_ms: int, rng: np.random.Generator) -> str:
    """A free-text report in the style of a machine-read, cardiologist-confirmed ECG statement."""
    hr = int(round(p.hr))
    if f.af:
        rhythm = _pick(rng, ["atrial fibrillation", "atrial fibrillation with {} ventricular response",
                             "afib", "atrial fibrillation, irregular rhythm"]).format(
            _pick(rng, ["rapid", "controlled", "irregular"]))
    else:
        rhythm = _pick(rng, ["sinus rhythm", "normal sinus rhythm", "sinus rhythm, rate {} bpm", "regular sinus rhythm"]).format(hr)
    findings = []
    if f.pac:
        findings.append(_pick(rng, ["premature atrial contractions", "occasional atrial premature beats",
                                    "supraventricular extrasystoles", "frequent PACs"]))
    if f.pvc:
        findings.append(_pick(rng, ["premature ventricular contractions", "ventricular extrasystoles",
                                    "isolated PVCs", "occasional ventricular premature beats"]))
    if f.avb1:
        findings.append(_pick(rng, ["first degree AV block", "1st degree atrioventricular block",
                                    "prolonged PR interval ({} ms)", "first degree av block, PR {} ms"]).format(pr_ms))
    if f.lbbb:
        findings.append(_pick(rng, ["left bundle branch block", "complete LBBB", "complete left bundle branch block",
                                    "LBBB, QRS widened"]))
    if f.rbbb:
        findings.append(_pick(rng, ["right bundle branch block", "complete RBBB", "RBBB pattern",
                                    "complete right bundle branch block"]))
    if f.mi:
        leads = TERRITORY_LEADS[f.mi]
        if f.mi_acute:
            findings.append(_pick(rng, ["acute {t} myocardial infarction, ST elevation in {l}",
                                        "ST elevation in {l} consistent with acute {t} infarction",
                                        "{t} STEMI"]).format(t=f.mi, l=leads))
        else:
            findings.append(_pick(rng, ["{t} myocardial infarction, age undetermined", "old {t} infarct",
                                        "pathological Q waves in {l}, consistent with {t} infarction",
                                        "{t} MI, possibly old"]).format(t=f.mi, l=leads))
    if f.ste:
        findings.append(_pick(rng, ["ST elevation in {}", "ST segment elevation in {}", "elevated ST segments, {}"])
                        .format(TERRITORY_LEADS[f.ste]))
    if f.st_depression:
        findings.append(_pick(rng, ["ST depression in lateral and inferior leads", "horizontal ST segment depression",
                                    "ST depression, possibly ischaemic", "downsloping ST depression"]))
    if f.t_inversion:
        findings.append(_pick(rng, ["T wave inversion in lateral leads", "negative T waves",
                                    "nonspecific T wave abnormality", "inverted T waves"]))
    if f.lvh:
        findings.append(_pick(rng, ["left ventricular hypertrophy", "LVH by voltage criteria",
                                    "increased QRS voltage suggesting left ventricular hypertrophy",
                                    "left ventricular hypertrophy with strain" if f.lvh_strain else "voltage criteria for LVH"]))
    if not findings:
        findings.append(_pick(rng, ["normal ECG", "within normal limits", "normal tracing", "no abnormality detected"]))
    rng.shuffle(findings)
    extras = []
    if rng.random() < 0.3:
        extras.append(_pick(rng, ["left axis deviation" if f.lbbb else "normal axis", "QRS axis normal"]))
    if rng.random() < 0.15:
        extras.append(_pick(rng, ["unconfirmed report", "compared with previous ECG no significant change",
                                  "recommend clinical correlation"]))
    parts = [rhythm] + findings + extras if rng.random() < 0.8 else findings + [rhythm] + extras
    sep = _pick(rng, [", ", ". ", "; "])
    return sep.join(parts) + "."


# --------------------------------------------------------------------------------------------- cohorts
def _ptbxl_findings(rng: np.random.Generator) -> Findings:
    sup = [str(rng.choice(PTBXL_SUPERCLASSES, p=[0.34, 0.18, 0.18, 0.18, 0.12]))]
    if sup[0] != "NORM" and rng.random() < 0.1:  # PTB-XL has multi-superclass records; the paper's task drops them
        sup.append(str(rng.choice([c for c in PTBXL_SUPERCLASSES if c not in ("NORM", sup[0])])))
    f = Findings(superclasses=sorted(sup), severity=float(rng.uniform(0.3, 1.0)))
    for s in sup:
        if s == "MI":
            f.mi = str(rng.choice(["anterior", "inferior", "lateral"]))
            f.mi_acute = rng.random() < 0.3
        elif s == "STTC":
            f.st_depression, f.t_inversion = [(True, False), (False, True), (True, True)][int(rng.integers(3))]
        elif s == "CD":
            kind = str(rng.choice(["lbbb", "rbbb", "avb1"]))
            setattr(f, kind, True)
        elif s == "HYP":
            f.lvh, f.lvh_strain = True, rng.random() < 0.35
    if not f.lbbb:  # rhythm statements are not diagnostic superclasses in PTB-XL; they ride along
        f.af = rng.random() < 0.1
        f.pac = not f.af and rng.random() < 0.08
        f.pvc = rng.random() < 0.08
    return f


def _cpsc_findings(label: str, rng: np.random.Generator) -> Findings:
    f = Findings(superclasses=[label], severity=float(rng.uniform(0.3, 1.0)))
    if label == "AF":
        f.af = True
    elif label == "I-AVB":
        f.avb1 = True
    elif label == "LBBB":
        f.lbbb = True
    elif label == "RBBB":
        f.rbbb = True
    elif label == "PAC":
        f.pac = True
    elif label == "PVC":
        f.pvc = True
    elif label == "STD":
        f.st_depression = True
    elif label == "STE":
        f.ste = str(rng.choice(["anterior", "inferior"]))
    return f


# The generator's parts for other writers of synthetic records (benchmark.data.mirror writes them in PhysioNet's
# file formats): one signal and report generator, several layouts.
draw_patient = _patient
ptbxl_findings = _ptbxl_findings
report = _report


def cpsc_findings(labels: list[str], rng: np.random.Generator) -> Findings:
    """Findings of a CPSC2018 record with one or more classes (CPSC2018 has records with two or three)."""
    f = _cpsc_findings(labels[0], rng)
    for extra in labels[1:]:
        g = _cpsc_findings(extra, rng)
        for flag in ("af", "avb1", "lbbb", "rbbb", "pac", "pvc", "st_depression"):
            setattr(f, flag, getattr(f, flag) or getattr(g, flag))
        f.ste = f.ste or g.ste
    f.superclasses = list(labels)
    return f


def cohort_records(kind: str, n_records: int, seed: int, sampling_rate: int, seconds: float,
                   normalisation: str) -> Iterator[tuple[np.ndarray, dict]]:
    """Yield (signal (12, T) float32, records-table row) for each record of the cohort in order, one at a time
    (a store of any size is written without holding the cohort in memory)."""
    if kind not in ("ptbxl_like", "cpsc_like"):
        raise BenchmarkError(f"unknown synthetic cohort kind {kind!r}; use 'ptbxl_like' or 'cpsc_like'")
    rng = np.random.default_rng(seed)
    n_patients = max(1, int(round(n_records / 1.15)))  # PTB-XL: 21,837 records of 18,885 patients
    patients = [_patient(rng) for _ in range(n_patients)]
    owner = np.concatenate([np.arange(n_patients), rng.integers(0, n_patients, n_records - n_patients)])
    owner = np.sort(owner[:n_records])
    if kind == "ptbxl_like":  # strat_fold per patient: 1-8 train, 9 val, 10 test (PTB-XL convention)
        fold = rng.integers(1, 11, n_patients)
        split_of = np.where(fold <= 8, "train", np.where(fold == 9, "val", "test"))
    else:  # random 70/10/20 by patient, as MERL's CPSC2018 split
        split_of = rng.choice(["train", "val", "test"], size=n_patients, p=[0.7, 0.1, 0.2])
    n_out = int(round(seconds * sampling_rate))
    for i in range(n_records):
        p = patients[owner[i]]
        if kind == "ptbxl_like":
            f = _ptbxl_findings(rng)
        else:
            f = _cpsc_findings(CPSC_CLASSES[i % len(CPSC_CLASSES)], rng)
        rec_rng = np.random.default_rng([seed, i])
        x = synthesize_signal(f, p, seconds, rec_rng)
        signal = normalise(resample(x, GEN_FS, sampling_rate)[:, :n_out], normalisation).astype(np.float32)
        pr_ms = int(rec_rng.integers(240, 320)) if f.avb1 else 0
        yield signal, {"ecg_id": f"{i + 1:05d}", "patient_id": f"P{owner[i] + 1:05d}", "split": split_of[owner[i]],
                       "labels": ";".join(f.superclasses),
                       "report": _report(f, p, pr_ms, rec_rng) if kind == "ptbxl_like" else ""}


def generate_cohort(kind: str, n_records: int, seed: int, sampling_rate: int, seconds: float,
                    normalisation: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Return (signals (N, 12, T) float32, records table) in memory: for small cohorts (tests); the dataset
    preparation streams `cohort_records` into the store instead."""
    items = list(cohort_records(kind, n_records, seed, sampling_rate, seconds, normalisation))
    n_out = int(round(seconds * sampling_rate))
    signals = np.stack([x for x, _ in items]) if items else np.zeros((0, 12, n_out), np.float32)
    return signals, pd.DataFrame([row for _, row in items])


def prepare_synthetic(config: dict, name: str, out_dir, threads: int | None = None) -> None:
    """Generate the cohort record by record straight into the store (memory bounded by one chunk; one process,
    whatever `threads` says)."""
    from itertools import islice

    from benchmark.data.store import CHUNK, StoreWriter

    ds, data = config["datasets"][name], config["data"]
    n, n_samples = ds["n_records"], int(round(data["seconds"] * data["sampling_rate"]))
    items = cohort_records(ds["kind"], n, ds["seed"], data["sampling_rate"], data["seconds"], data["normalisation"])
    rows = []
    with StoreWriter(out_dir, n, n_samples) as out:
        for start in range(0, n, CHUNK):
            chunk = list(islice(items, CHUNK))
            out.write(start, np.stack([signal for signal, _ in chunk]))
            rows += [row for _, row in chunk]
        meta = {"dataset": name, "source": "synthetic", "kind": ds["kind"], "seed": ds["seed"],
                "sampling_rate": data["sampling_rate"], "seconds": data["seconds"],
                "normalisation": data["normalisation"],
                "description": "synthetic cohort generated by benchmark.data.synthetic (not real patients)"}
        out.finish(pd.DataFrame(rows), meta)
