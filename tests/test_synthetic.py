"""The synthetic cohort: deterministic, class morphology a cardiologist would recognise, matching reports."""
import numpy as np
import pytest
from scipy.signal import find_peaks

from benchmark.data import synthetic as S
from benchmark.data.synthetic import Findings, Patient, generate_cohort, synthesize_signal

LEAD = {name: i for i, name in enumerate(("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"))}
PATIENT = Patient(np.eye(3), 1.0, np.ones(12), 70.0, 0.35, 1.4)


def _clean(f, seconds=10, seed=0):
    return synthesize_signal(f, PATIENT, seconds, np.random.default_rng(seed))


def test_cohort_is_deterministic_per_seed():
    a = generate_cohort("ptbxl_like", 30, 7, 100, 10, "minmax")
    b = generate_cohort("ptbxl_like", 30, 7, 100, 10, "minmax")
    c = generate_cohort("ptbxl_like", 30, 8, 100, 10, "minmax")
    assert np.array_equal(a[0], b[0]) and a[1].equals(b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (30, 12, 1000) and a[0].dtype == np.float32


def test_records_of_a_patient_share_one_split():
    _, recs = generate_cohort("ptbxl_like", 200, 1, 100, 10, "none")
    assert recs.groupby("patient_id")["split"].nunique().max() == 1
    assert recs["patient_id"].nunique() < len(recs)  # some patients have several records, as in PTB-XL
    assert set(recs["split"]) == {"train", "val", "test"}


def _rr(x, lead="II"):
    peaks, _ = find_peaks(x[LEAD[lead]], distance=int(0.3 * S.GEN_FS), prominence=0.5)
    return np.diff(peaks) / S.GEN_FS


def test_af_is_irregularly_irregular_and_sinus_is_not():
    sinus, af = _rr(_clean(Findings())), _rr(_clean(Findings(af=True)))
    assert np.std(af) / np.mean(af) > 3 * np.std(sinus) / np.mean(sinus)


def _qrs_width(x, lead):
    """Duration (s) around the biggest deflection where the signal stays beyond 30 % of it."""
    s = x[LEAD[lead]] - np.median(x[LEAD[lead]])
    k = int(np.argmax(np.abs(s[: 2 * S.GEN_FS])))
    thr = 0.3 * abs(s[k])
    lo = hi = k
    while lo > 0 and abs(s[lo]) > thr:
        lo -= 1
    while hi < len(s) - 1 and abs(s[hi]) > thr:
        hi += 1
    return (hi - lo) / S.GEN_FS


def test_bundle_branch_blocks_widen_qrs_and_lbbb_is_negative_in_v1():
    normal, lbbb = _clean(Findings()), _clean(Findings(lbbb=True))
    assert _qrs_width(lbbb, "V6") > 1.4 * _qrs_width(normal, "V6")
    beat = lbbb[LEAD["V1"], : 2 * S.GEN_FS]
    assert abs(beat.min() - np.median(beat)) > abs(beat.max() - np.median(beat))  # deep QS in V1


def _beat(f):
    """One noise-free beat, (12, samples) from 0.3 s before to 0.6 s after QRS onset."""
    t = np.arange(-0.3, 0.6, 1 / S.GEN_FS)
    comps = S._beat_components(f, PATIENT, "sinus", np.random.default_rng(0), pr=0.16, qt=0.3)
    heart = sum(np.outer(d, np.exp(-0.5 * ((t - c) / w) ** 2)) for c, w, d in comps)
    return t, S.LEAD_MATRIX @ heart


def test_anterior_infarct_turns_the_initial_r_of_v2_into_a_q_wave():
    t, normal = _beat(Findings())
    _, mi = _beat(Findings(mi="anterior", severity=1.0))
    early = (t > 0.0) & (t < 0.025)
    assert normal[LEAD["V2"], early].mean() > 0          # septal r wave
    assert mi[LEAD["V2"], early].mean() < -0.1           # pathological Q over the anterior scar
    assert mi[LEAD["II"], early].mean() == pytest.approx(normal[LEAD["II"], early].mean(), abs=0.05)  # not inferior


def test_first_degree_block_lengthens_pr():
    def p_to_r(x):
        r = find_peaks(x[LEAD["II"]], distance=int(0.3 * S.GEN_FS), prominence=0.5)[0]
        return r
    normal = _clean(Findings(), seed=3)
    avb = _clean(Findings(avb1=True), seed=3)
    # the P wave precedes R by more: energy in the 0.20-0.30 s window before each R is larger with AV block
    def early_p_energy(x):
        r = p_to_r(x)
        lead = x[LEAD["II"]] - np.median(x[LEAD["II"]])
        return np.mean([lead[k - int(0.30 * S.GEN_FS): k - int(0.20 * S.GEN_FS)].max() for k in r if k > 0.3 * S.GEN_FS])
    assert early_p_energy(avb) > early_p_energy(normal) + 0.05


@pytest.mark.parametrize("label,words", [("MI", ("infarct", "MI", "STEMI")), ("HYP", ("hypertrophy", "LVH")),
                                         ("CD", ("bundle branch", "BBB", "AV block", "atrioventricular", "PR"))])
def test_reports_describe_the_labels(label, words):
    _, recs = generate_cohort("ptbxl_like", 150, 4, 100, 10, "none")
    sel = recs[recs["labels"] == label]
    assert len(sel) > 5
    assert all(any(w in r for w in words) for r in sel["report"])
    assert sel["report"].nunique() > len(sel) / 3  # varied phrasing, not a lookup table


def test_cpsc_like_cohort_has_every_class_and_no_reports():
    _, recs = generate_cohort("cpsc_like", 45, 2, 100, 10, "minmax")
    assert sorted(recs["labels"].unique()) == sorted(S.CPSC_CLASSES)
    assert (recs["report"] == "").all()


def test_prepared_synthetic_store_is_the_cohort_streamed_record_by_record(tmp_path):
    from benchmark.data import prepare
    from benchmark.data.store import load_store
    config = {"data": {"sampling_rate": 100, "seconds": 5, "normalisation": "minmax"},
              "datasets": {"s": {"source": "synthetic", "kind": "ptbxl_like", "n_records": 300, "seed": 3}}}
    prepare(config, "s", tmp_path / "s")        # 300 records: two chunks of the streamed writer
    store = load_store(tmp_path / "s")
    signals, records = generate_cohort("ptbxl_like", 300, 3, 100, 5, "minmax")
    assert np.array_equal(np.asarray(store.signals), signals)
    assert store.records[["ecg_id", "patient_id", "split", "labels", "report"]].equals(records)
