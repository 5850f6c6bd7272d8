"""Losses and metrics on cases small enough to compute by hand."""
import math

import numpy as np
import pytest
import torch

from benchmark.evaluate.linear import linear_probe
from benchmark.evaluate.metrics import macro_auc
from benchmark.evaluate.tasks import TaskData
from benchmark.evaluate.zeroshot import zero_shot_metrics, zero_shot_scores
from benchmark.losses import clip_loss, info_nce


def test_clip_loss_matches_hand_computation():
    # a = e1, e2 ; b = e1, e1 -> cosine logits [[1, 1], [0, 0]] at temperature 1
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 0.0], [2.0, 0.0]])  # rows are normalised, so the scale of b must not matter
    e2t = (math.log(2) + math.log(2)) / 2                               # both rows: two equal logits
    t2e = (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(1))) / 2  # columns [1, 0] and [1, 0]
    assert clip_loss(a, b, 1.0).item() == pytest.approx(0.5 * (e2t + t2e), abs=1e-6)


def test_clip_loss_temperature_sharpens_perfect_alignment():
    a = torch.eye(3)
    # diagonal logit 1/t, off-diagonal 0: loss = log(1 + 2 exp(-1/t)) in both directions
    for t in (1.0, 0.5, 0.2):
        assert clip_loss(a, a, t).item() == pytest.approx(math.log(1 + 2 * math.exp(-1 / t)), rel=1e-5)


def test_info_nce_dot_product():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # logits [[1, 0], [0, 2]]
    expected = (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(-2))) / 2
    assert info_nce(q, k).item() == pytest.approx(expected, abs=1e-6)


def test_macro_auc_known_example():
    y = np.array([0, 0, 1, 1, 2, 2])
    scores = np.array([[.9, .1, 0], [.8, .2, 0], [.3, .7, 0], [.6, .4, 0], [0, .1, .9], [.1, .5, .4]])
    # class 0: pos {.9,.8} vs neg {.3,.6,0,.1}: 1.0; class 1: pos {.7,.4} vs neg {.1,.2,.1,.5}: 7/8;
    # class 2: pos {.9,.4} vs neg {0,0,0,0}: 1.0
    assert macro_auc(y, scores) == pytest.approx((1 + 7 / 8 + 1) / 3)


def test_zero_shot_metrics_known_example():
    y = np.array([0, 0, 1, 1])
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])  # predictions 0, 1, 1, 0
    m = zero_shot_metrics(y, scores, ["A", "B"])
    # class A: truth [1,1,0,0], predicted-A [1,0,0,1] -> acc 2/4, f1 = 2*1/(2*1+1+1) = 0.5
    assert m["per_class"]["A"]["acc"] == pytest.approx(0.5)
    assert m["per_class"]["A"]["f1"] == pytest.approx(0.5)
    # AUC of A on score column 0: pos {.9,.2} vs neg {.3,.6}: pairs won 2 of 4 -> 0.5
    assert m["per_class"]["A"]["auc"] == pytest.approx(0.5)
    # AUC of B on column 1: pos {.7,.4} vs neg {.1,.8}: (1 + 0 + 1 + 1) / 4? -> .7>.1, .7<.8, .4>.1, .4<.8 = 2/4
    assert m["per_class"]["B"]["auc"] == pytest.approx(0.5)
    assert m["average"]["acc"] == pytest.approx(0.5)


def test_zero_shot_scores_are_cosines():
    s = zero_shot_scores(np.array([[3.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 5.0]]))
    assert s == pytest.approx(np.array([[1.0, 0.0], [2 ** -0.5, 2 ** -0.5]]))


def _task(features_per_class, n_per_split, seed=0):
    rng = np.random.default_rng(seed)
    ys, splits = [], []
    for split, n in n_per_split.items():
        ys += [np.arange(n) % 3]
        splits += [split] * n
    y = np.concatenate(ys)
    X = features_per_class[y] + rng.normal(0, 1.0, (len(y), features_per_class.shape[1]))
    return X, TaskData(np.arange(len(y)), y, np.array(splits), ["a", "b", "c"], False)


def test_linear_probe_separates_informative_features_and_not_noise():
    centres = np.eye(3, 8) * 6
    X, data = _task(centres, {"train": 90, "val": 30, "test": 60})
    good = linear_probe(X, data, [0.1, 1.0])
    assert good["auc"] > 0.99 and good["f1"] > 0.9
    noise = np.random.default_rng(1).normal(size=X.shape)
    bad = linear_probe(noise, data, [0.1, 1.0])
    assert 0.3 < bad["auc"] < 0.7


def test_linear_probe_never_looks_at_test_labels_for_model_selection():
    centres = np.eye(3, 8) * 1.0
    X, data = _task(centres, {"train": 60, "val": 60, "test": 60}, seed=3)
    first = linear_probe(X, data, [0.001, 0.1, 10.0])
    shuffled = TaskData(data.rows, data.y.copy(), data.split, data.classes, False)
    test = data.split == "test"
    shuffled.y[test] = np.random.default_rng(0).permutation(shuffled.y[test])
    second = linear_probe(X, shuffled, [0.001, 0.1, 10.0])
    assert first["selected_C"] == second["selected_C"]
    assert first["model_selection"] == second["model_selection"]


def test_losses_compute_in_float32_under_bf16_autocast():
    a, b = torch.randn(16, 32), torch.randn(16, 32)
    exact = clip_loss(a, b, 0.07)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = clip_loss(a @ torch.eye(32), b, 0.07)  # the matmul makes a bf16 input, as a head would
    assert inside.dtype == torch.float32
    assert inside.item() == pytest.approx(exact.item(), rel=2e-2)


def test_the_public_float32_guard_lifts_a_method_s_own_loss_out_of_bf16():
    """A loss of a method's own, decorated with benchmark.losses.float32, sees float32 inputs and computes in float32
    inside the GPU path's bf16 autocast; undecorated, it gets the bf16 tensors the heads make."""
    from benchmark.losses import float32

    seen = []

    def own_loss(z):
        seen.append(z.dtype)
        return (z @ z.t() / 0.07).logsumexp(1).mean()

    x = torch.randn(8, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = x @ torch.eye(16)          # a head's output: bf16 under autocast
        plain = own_loss(z)
        guarded = float32(own_loss)(z)
    assert seen == [torch.bfloat16, torch.float32]
    assert plain.dtype == torch.bfloat16 and guarded.dtype == torch.float32
    assert guarded.item() == pytest.approx(own_loss(x).item(), rel=1e-2)


def test_etp_adds_the_ecg_invariance_term_of_eq_6_on_a_hand_case():
    from benchmark.method import METHODS_DIR, load_method
    from benchmark.inputs import InputSpec
    from benchmark.pretrain import build_method
    spec = load_method(METHODS_DIR / "etp")
    assert spec.config["params"]["ecg_ecg_weight"] == 0.0          # off by default: the paper's L_total
    spec = type(spec)(spec.name, spec.folder, dict(spec.config, params=dict(spec.config["params"], ecg_ecg_weight=0.5)),
                      spec.cls)
    m = build_method(spec, {}, InputSpec(100, 200), text_dim=2)
    e, e_aug = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.6, 0.8], [0.0, 1.0]])
    views = iter([e, e_aug])                      # embed_ecg(ecg), then embed_ecg(augmented ecg)
    m.embed_ecg = lambda x: next(views)
    m.embed_text = lambda t: t
    text = torch.tensor([[0.8, 0.6], [0.6, 0.8]])
    out = m.training_step({"ecg": torch.zeros(2, 12, 200), "text_emb": text})
    s = 1 / 0.07
    lse = lambda *v: math.log(sum(math.exp(a) for a in v))  # noqa: E731
    clip = lse(0.8 * s, 0.6 * s) - 0.8 * s         # every row and column of e text^T / 0.07 alike
    ecg_ecg = ((lse(0.6 * s, 0) - 0.6 * s) + (lse(0.8 * s, s) - s)) / 2   # rows of e e_aug^T / 0.07
    assert out["clip"].item() == pytest.approx(clip, rel=1e-5)
    assert out["ecg_ecg"].item() == pytest.approx(ecg_ecg, rel=1e-5)
    assert out["loss"].item() == pytest.approx(clip + 0.5 * ecg_ecg, rel=1e-5)
    assert m.settings()["ECG-ECG term"].startswith("weight 0.5, augmentations `etp`")
