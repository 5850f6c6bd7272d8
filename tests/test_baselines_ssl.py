"""SimCLR, BYOL, SimSiam and CPC (methods/simclr, byol, simsiam, cpc): losses on hand-computed cases, the BYOL
EMA, the stop-gradients, CPC's shapes, causality and target alignment, and a few optimiser steps lowering
each loss on a fixed small batch (T = 256, batch 8)."""
from __future__ import annotations

import dataclasses
import math
import sys

import pytest
import torch
from torch import nn

from benchmark.losses import nt_xent
from benchmark.method import METHODS_DIR, load_method
from benchmark.optim import build_optimizer
from benchmark.inputs import InputSpec
from benchmark.pretrain import build_method

SSL = ["simclr", "byol", "simsiam", "cpc"]


pytestmark = pytest.mark.usefixtures("one_thread")


def make(name: str, epochs: int = 1, steps_per_epoch: int = 10, **params):
    spec = load_method(METHODS_DIR / name)
    spec = dataclasses.replace(spec, config=dict(spec.config, params=dict(spec.config["params"], **params)))
    torch.manual_seed(0)
    return spec, build_method(spec, {}, InputSpec(100, 1000), epochs=epochs, steps_per_epoch=steps_per_epoch)


def ecg_batch(b: int = 8, t: int = 256) -> torch.Tensor:
    """Distinguishable, ECG-scaled records: per-record sums of sinusoids with random rates, phases and lead gains."""
    g = torch.Generator().manual_seed(1)
    time = torch.arange(t) / 100.0
    freq = torch.empty(b, 1, 1).uniform_(0.8, 2.0, generator=g)
    phase = torch.empty(b, 12, 1).uniform_(0, 2 * math.pi, generator=g)
    gain = torch.empty(b, 12, 1).uniform_(0.2, 1.0, generator=g)
    x = gain * (torch.sin(2 * math.pi * freq * time + phase) + 0.5 * torch.sin(6 * math.pi * freq * time))
    return 0.5 + 0.25 * x + 0.02 * torch.randn(b, 12, t, generator=g)


# ----------------------------------------------------------------------------------------------------- discovery
@pytest.mark.parametrize("name", SSL)
def test_method_folders_are_discovered_with_docs(name):
    spec = load_method(METHODS_DIR / name)
    assert spec.cls.title and spec.cls.paper and not spec.cls.needs_text and not spec.cls.zero_shot
    readme = (METHODS_DIR / name / "README.md").read_text()
    assert "Deviations" in readme or "deviations" in readme


# ------------------------------------------------------------------------------------------------------- SimCLR
def test_nt_xent_matches_hand_computation():
    # 2 records, 2 views each, unit vectors in 2-D (scaled by 3: NT-Xent must normalise them)
    a0, a1, b0, b1 = [1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [-0.6, 0.8]
    tau = 0.5
    e = lambda s: math.exp(s / tau)  # noqa: E731
    # cosine similarities: a0.a1 = 0, a0.b0 = .6, a0.b1 = -.6, a1.b0 = .8, a1.b1 = .8, b0.b1 = .28
    per_anchor = [
        -math.log(e(0.6) / (e(0.0) + e(0.6) + e(-0.6))),   # a0: positive b0; negatives a1, b1
        -math.log(e(0.8) / (e(0.0) + e(0.8) + e(0.8))),    # a1: positive b1; negatives a0, b0
        -math.log(e(0.6) / (e(0.6) + e(0.8) + e(0.28))),   # b0: positive a0; negatives a1, b1
        -math.log(e(0.8) / (e(-0.6) + e(0.8) + e(0.28))),  # b1: positive a1; negatives a0, b0
    ]
    expected = sum(per_anchor) / 4
    got = nt_xent(3 * torch.tensor([a0, a1]), 3 * torch.tensor([b0, b1]), tau)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.64289, abs=1e-5)   # (0.33070 + 0.78927 + 1.10497 + 0.34661) / 4


def test_simclr_head_and_temperature_from_config():
    spec, m = make("simclr")
    assert m.temperature == spec.config["params"]["temperature"]
    h = m.encoder(ecg_batch(4))
    assert m.projector(h).shape == (4, spec.config["params"]["proj_dim"])


def test_simclr_identical_views_give_the_positive_pair_loss():
    # Without augmentation both views are the same, so each anchor's positive has cosine 1 and the loss equals
    # NT-Xent of the projections paired row by row; a mis-pairing of views would give a different value.
    _, m = make("simclr", augmentations=[])
    x = ecg_batch(6)
    loss = m.training_step({"ecg": x})
    z = m.projector(m.encoder(torch.cat([x, x])))
    assert loss.item() == pytest.approx(nt_xent(z[:6], z[6:], m.temperature).item(), rel=1e-5)
    assert loss.item() < math.log(2 * 6 - 1)  # positives already perfect: below the uniform-guess loss


# --------------------------------------------------------------------------------------------------------- BYOL
def test_byol_cosine_momentum_schedule():
    cm = load_method(METHODS_DIR / "byol").cls.__module__
    cosine_momentum = sys.modules[cm].cosine_momentum
    assert cosine_momentum(0.99, 0, 100) == pytest.approx(0.99)
    assert cosine_momentum(0.99, 50, 100) == pytest.approx(0.995)
    assert cosine_momentum(0.99, 100, 100) == pytest.approx(1.0)
    assert cosine_momentum(0.99, 25, 100) == pytest.approx(1 - 0.01 * (math.cos(math.pi / 4) + 1) / 2)


def test_byol_target_is_a_registered_frozen_deep_copy():
    _, m = make("byol")
    online = list(m.encoder.parameters()) + list(m.projector.parameters())
    target = list(m.target.parameters())
    assert len(online) == len(target)
    for o, t in zip(online, target):
        assert torch.equal(o, t) and o.data_ptr() != t.data_ptr() and not t.requires_grad
    keys = m.state_dict().keys()
    assert "target.0.stem.0.weight" in keys and "target.1.0.weight" in keys
    # the training loop optimises only requires_grad parameters: the target must not be among them
    trainable = {id(p) for p in m.parameters() if p.requires_grad}
    assert not trainable & {id(p) for p in target}


def test_byol_ema_update_exact_numbers():
    _, m = make("byol", tau_base=0.9)
    with torch.no_grad():
        for p in list(m.encoder.parameters()) + list(m.projector.parameters()) + list(m.predictor.parameters()):
            p.fill_(3.0)
        for p in m.target.parameters():
            p.fill_(1.0)
    m.on_step_end(5, 10)           # tau = 1 - 0.1 (cos(pi/2) + 1) / 2 = 0.95
    for p in m.target.parameters():
        assert torch.allclose(p, torch.full_like(p, 0.95 * 1.0 + 0.05 * 3.0))   # 1.1
    m.on_step_end(0, 10)           # tau = tau_base = 0.9
    for p in m.target.parameters():
        assert torch.allclose(p, torch.full_like(p, 0.9 * 1.1 + 0.1 * 3.0))     # 1.29
    m.on_step_end(10, 10)          # tau = 1: the target stays
    for p in m.target.parameters():
        assert torch.allclose(p, torch.full_like(p, 1.29))
    for p in m.encoder.parameters():
        assert torch.all(p == 3.0)  # the online network is never touched by the EMA


def test_byol_regression_loss_by_hand():
    mod = sys.modules[load_method(METHODS_DIR / "byol").cls.__module__]
    p, z = torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.tensor([[1.0, 1.0], [0.0, 5.0]])
    # 2 - 2 cos: (2 - 2/sqrt 2) for the first row, 0 for the second; mean
    assert mod.regression_loss(p, z).item() == pytest.approx((2 - math.sqrt(2)) / 2, rel=1e-6)


def test_byol_no_gradient_reaches_the_target():
    _, m = make("byol")
    m.train()
    loss = m.training_step({"ecg": ecg_batch()})
    loss.backward()
    assert all(p.grad is None for p in m.target.parameters())
    for part in (m.encoder, m.projector, m.predictor):
        grads = [p.grad for p in part.parameters()]
        assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


# ------------------------------------------------------------------------------------------------------ SimSiam
def test_simsiam_negative_cosine_stops_the_gradient():
    mod = sys.modules[load_method(METHODS_DIR / "simsiam").cls.__module__]
    p = torch.tensor([[1.0, 0.0], [1.0, 1.0]], requires_grad=True)
    z = torch.tensor([[0.0, 1.0], [2.0, 2.0]], requires_grad=True)
    loss = mod.negative_cosine(p, z)
    assert loss.item() == pytest.approx(-(0.0 + 1.0) / 2)
    loss.backward()
    assert z.grad is None and p.grad is not None and p.grad.abs().sum() > 0


def test_simsiam_projector_output_gets_gradient_only_through_the_predictor():
    """dL/dz must equal the part that flows through p = h(z): the direct term D(., stopgrad(z)) is cut."""
    _, m = make("simsiam")
    m.train()
    zs, ps = [], []
    m.projector.register_forward_hook(lambda mod, i, o: zs.append(o))
    m.predictor.register_forward_hook(lambda mod, i, o: ps.append(o))
    loss = m.training_step({"ecg": ecg_batch()})
    assert len(zs) == 2 and len(ps) == 2
    g_total = torch.autograd.grad(loss, zs, retain_graph=True)
    g_p = torch.autograd.grad(loss, ps, retain_graph=True)
    g_via_p = torch.autograd.grad(ps, zs, grad_outputs=g_p, retain_graph=True)
    for a, b in zip(g_total, g_via_p):
        assert torch.allclose(a, b, atol=1e-7)
    # the same check detects a missing stop-gradient
    cos = nn.functional.cosine_similarity
    leaky = -0.5 * (cos(ps[0], zs[1]).mean() + cos(ps[1], zs[0]).mean())
    lt = torch.autograd.grad(leaky, zs, retain_graph=True)
    lp = torch.autograd.grad(leaky, ps, retain_graph=True)
    lv = torch.autograd.grad(ps, zs, grad_outputs=lp)
    assert not torch.allclose(lt[0], lv[0], atol=1e-7)


# ---------------------------------------------------------------------------------------------------------- CPC
def test_cpc_shapes():
    spec, m = make("cpc")
    p = spec.config["params"]
    assert m.offsets == list(range(14, 14 + p["prediction_steps"]))   # ResNet18-1D: field 219, stride 16
    z, c = m.latents_and_contexts(ecg_batch(3, 640))
    assert z.shape == (3, 40, 512) and c.shape == (3, 40, p["context_dim"])
    preds = m.predictions(c)
    assert [k for k, _ in preds] == m.offsets
    for k, pred in preds:
        assert pred.shape == (3, 40 - k, 512)
    short = m.predictions(m.latents_and_contexts(ecg_batch(2, 256))[1])   # L = 16: only k = 14, 15 fit
    assert [(k, pred.shape[1]) for k, pred in short] == [(14, 2), (15, 1)]
    with pytest.raises(ValueError, match=r"CPC predicts latents 14\.\.25 steps ahead, but the ECG gives only 4 "
                                         r"latent steps.*at least 225 samples"):
        m.training_step({"ecg": ecg_batch(2, 64)})


def _input_support(x, out):
    """Indices of the input samples that `out` (a scalar) depends on."""
    (g,) = torch.autograd.grad(out, x, retain_graph=True)
    used = g[0].abs().sum(dim=0).nonzero().flatten()
    return int(used.min()), int(used.max())


def test_cpc_targets_share_no_input_with_the_context():
    """The context c_t (which sees z_1..z_t) and the first predicted target z_{t+k} depend on disjoint input
    samples, and k is the first offset for which they do. Measured by differentiating the method's own
    encoder and GRU at initialisation, not from the receptive field the method computed."""
    _, m = make("cpc")
    m.eval()   # in training mode batch norm's statistics over time would couple every output to every input
    x = ecg_batch(1, 1024).requires_grad_(True)
    z, c = m.latents_and_contexts(x)
    t, k = 20, m.offsets[0]
    _, context_end = _input_support(x, c[0, t].sum())
    target_start, _ = _input_support(x, z[0, t + k].sum())
    closer_start, _ = _input_support(x, z[0, t + k - 1].sum())
    assert context_end < target_start            # nothing of the target's input was seen by the context
    assert closer_start <= context_end           # one step closer would overlap: k is the first unseen offset


def test_receptive_field_is_measured_from_the_encoder():
    from benchmark.encoders import ResNet18_1D, receptive_field
    assert receptive_field(nn.Sequential(nn.Conv1d(12, 4, 5, 2), nn.ReLU(), nn.Conv1d(4, 4, 3, 1))) == 5 + 2 * 2
    # ResNet18-1D by the textbook recursion over its main path (r += (kernel - 1) * jump; jump *= stride)
    enc = ResNet18_1D()
    convs = [enc.stem[0]] + [conv for stage in enc.layers for block in stage for conv in (block.conv1, block.conv2)]
    r, jump = 1, 1
    for conv in convs:
        r, jump = r + (conv.kernel_size[0] - 1) * jump, jump * conv.stride[0]
    assert jump == enc.stride and receptive_field(enc) == r == 219


def test_cpc_starts_at_chance():
    # W_k start at zero: all scores 0, so each offset's loss is log(#candidates) = log(B * min(A, L - k))
    spec, m = make("cpc")
    p = spec.config["params"]
    b, length = 4, 40                                     # T = 640 -> 40 latent steps
    expected = [math.log(b * min(p["anchors_per_sequence"], length - k)) for k in m.offsets]
    with torch.no_grad():
        loss = m.training_step({"ecg": ecg_batch(b, 640)})
    assert loss.item() == pytest.approx(sum(expected) / len(expected), rel=1e-6)


def test_cpc_context_is_causal():
    _, m = make("cpc")
    z = torch.randn(2, 10, 512)
    c1, _ = m.context(z)
    z2 = z.clone()
    z2[:, 6:] += 5.0
    c2, _ = m.context(z2)
    assert torch.allclose(c1[:, :6], c2[:, :6]) and not torch.allclose(c1[:, 6:], c2[:, 6:])


class _StubEncoder(nn.Module):
    out_dim = 10


def _cpc_with_codes(anchors: int):
    """CPC whose latents and contexts are one-hot codes of (record, time): z_{b,t} = c_{b,t} = 20 e_{5b+t}."""
    spec = load_method(METHODS_DIR / "cpc")
    cfg = dict(spec.config["params"], context_dim=10, prediction_steps=2, first_offset=1,
               anchors_per_sequence=anchors, temperature=1.0, augmentations=[], sampling_rate=100)
    m = spec.cls(_StubEncoder(), cfg)
    codes = 20 * torch.eye(10).reshape(2, 5, 10)
    m.latents_and_contexts = lambda x: (codes, codes)
    return m


def test_cpc_predicts_the_latent_k_steps_ahead():
    m = _cpc_with_codes(anchors=10)
    with torch.no_grad():
        for k, w in enumerate(m.predictors, start=1):   # W_k maps the code of (b, t) to the code of (b, t + k)
            w.weight.zero_()
            for b in range(2):
                for t in range(5 - k):
                    w.weight[5 * b + t + k, 5 * b + t] = 1.0
    loss = m.training_step({"ecg": torch.zeros(2, 12, 80)})
    assert loss.item() < 1e-6           # a true logit of 400 against 0s; off-by-one targets would give ~400


def test_cpc_candidates_are_all_sampled_latents_of_the_batch():
    m = _cpc_with_codes(anchors=10)
    with torch.no_grad():
        for w in m.predictors:
            w.weight.zero_()            # all logits 0: the loss is log(#candidates)
    loss = m.training_step({"ecg": torch.zeros(2, 12, 80)})
    # k = 1: 2 records x 4 valid times = 8 candidates; k = 2: 2 x 3 = 6
    assert loss.item() == pytest.approx((math.log(8) + math.log(6)) / 2, rel=1e-6)
    m.anchors = 2                       # 2 anchors per record: 4 candidates for every offset
    assert m.training_step({"ecg": torch.zeros(2, 12, 80)}).item() == pytest.approx(math.log(4), rel=1e-6)


# -------------------------------------------------------------------------------------------- optimisation
@pytest.mark.parametrize("name", SSL)
def test_a_few_steps_lower_the_loss(name):
    steps = 8
    # Mild augmentations for the two-view methods: with the configs' strong crops and lead drops, 8 steps on
    # 8 records move the loss less than its augmentation noise. This checks the objective and its gradients.
    mild = [{"name": "gaussian_noise", "sigma": 0.1}, {"name": "amplitude_scale", "low": 0.8, "high": 1.2}]
    spec, m = make(name, epochs=1, steps_per_epoch=steps, **({} if name == "cpc" else {"augmentations": mild}))
    build_optimizer(m.param_groups(), spec.config["optimizer"], batch_size=8)  # config is usable
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=1e-3)
    x = ecg_batch()
    m.train()

    def loss_at(seed):  # the same augmentation draws before and after training
        state = torch.get_rng_state()
        torch.manual_seed(seed)
        with torch.no_grad():
            value = m.training_step({"ecg": x}).item()
        torch.set_rng_state(state)
        return value

    before = loss_at(123)
    for step in range(steps):
        loss = m.training_step({"ecg": x})
        opt.zero_grad()
        loss.backward()
        opt.step()
        m.on_step_end(step, steps)
    after = loss_at(123)
    assert after < before - 0.2 * abs(before) - 0.1, (before, after)


# ------------------------------------------------------------------------------ optimisers and augmentation families
def test_simsiam_predictor_lr_stays_fixed_while_the_encoders_decays():
    from benchmark.optim import build_schedule
    spec, m = make("simsiam", epochs=2, steps_per_epoch=5)
    opt = build_optimizer(m.param_groups(), spec.config["optimizer"], batch_size=128)
    sched = build_schedule(opt, spec.config["schedule"], steps_per_epoch=5, epochs=2)
    predictor = {id(p) for p in m.predictor.parameters()}
    fixed = [g for g in opt.param_groups if g.get("fixed_lr")]
    assert len(fixed) == 1 and {id(p) for p in fixed[0]["params"]} == predictor
    base = 0.03 * 128 / 256                                   # the paper's lr = 0.03 x batch / 256
    for _ in range(9):
        opt.step()
        sched.step()
    rates = {bool(g.get("fixed_lr")): g["lr"] for g in opt.param_groups}
    assert rates[True] == pytest.approx(base) and rates[False] < 0.05 * base


def test_lars_methods_exclude_biases_and_batch_norm():
    for name, lr in (("simclr", 0.075 * 128 ** 0.5), ("byol", 0.2 * 128 / 256)):   # sqrt and linear scaling
        spec, m = make(name)
        opt = build_optimizer(m.param_groups(), spec.config["optimizer"], batch_size=128)
        assert type(opt).__name__ == "LARS"
        adapted = [g for g in opt.param_groups if g["lars_adapt"]]
        plain = [g for g in opt.param_groups if not g["lars_adapt"]]
        assert all(p.ndim >= 2 for g in adapted for p in g["params"]) and all(g["weight_decay"] > 0 for g in adapted)
        assert all(p.ndim < 2 for g in plain for p in g["params"]) and all(g["weight_decay"] == 0 for g in plain)
        bn = m.encoder.stem[1]
        assert any(bn.weight is p for g in plain for p in g["params"])
        assert all(g["lr"] == pytest.approx(lr) for g in opt.param_groups)


def test_projection_heads_end_as_the_authors_code():
    _, simsiam = make("simsiam")
    out_bn = simsiam.projector[-1]
    assert isinstance(out_bn, nn.BatchNorm1d) and not out_bn.affine           # builder.py: affine=False
    _, simclr = make("simclr")
    out_bn = simclr.projector[-1]                                            # model_util.py: BN, center=False
    assert isinstance(out_bn, nn.BatchNorm1d) and out_bn.weight.requires_grad and not out_bn.bias.requires_grad
    assert float(out_bn.bias.abs().sum()) == 0


@pytest.mark.parametrize("name", ["simclr", "byol", "simsiam"])
def test_two_view_baselines_use_the_etp_protocol_and_say_so(name):
    _, m = make(name)
    assert m.settings()["augmentations"].startswith("`etp` (random segmentation and inversion")
    x = ecg_batch(64, 200)
    torch.manual_seed(0)
    v = m.augment(x)
    # every view is x re-ordered in time (segments shuffled), with the polarity inverted about the mean for some
    flipped = (2 * x.mean(dim=(1, 2), keepdim=True) - v)
    same_values = lambda a, b: torch.allclose(a.sort(dim=-1).values, b.sort(dim=-1).values, atol=1e-5)  # noqa: E731
    kinds = [("plain" if same_values(v[i], x[i]) else "inverted" if same_values(flipped[i], x[i]) else "?")
             for i in range(64)]
    assert "?" not in kinds and 16 < kinds.count("inverted") < 48
    assert not any(torch.equal(v[i], x[i]) for i in range(64))
    _, alt = make(name, augmentations="simclr")
    assert alt.settings()["augmentations"].startswith("`simclr`")


def test_unknown_augmentation_family_is_named():
    from benchmark.augment import Compose
    from benchmark.errors import ConfigError
    with pytest.raises(ConfigError, match=r"unknown augmentation family 'simclr2' \(did you mean 'simclr'\?\); available: etp, simclr"):
        Compose.from_config("simclr2", 100)


@pytest.mark.parametrize("name", ["simclr", "byol", "simsiam"])
def test_the_configured_optimiser_lowers_the_loss(name):
    """The methods' own optimisers (LARS for SimCLR and BYOL, whose steps are ~lr * eta of each weight's
    norm; SGD with a fixed-lr predictor for SimSiam) at their configured, batch-scaled lr: eight steps on one
    batch with the same augmentation draws every step lower the loss."""
    spec, m = make(name, epochs=1, steps_per_epoch=8)
    opt = build_optimizer(m.param_groups(), spec.config["optimizer"], batch_size=8)
    x = ecg_batch()
    m.train()

    def loss_at():
        torch.manual_seed(123)
        return m.training_step({"ecg": x})

    with torch.no_grad():
        before = loss_at().item()
    for step in range(8):
        loss = loss_at()
        opt.zero_grad()
        loss.backward()
        opt.step()
        m.on_step_end(step, 8)
    with torch.no_grad():
        after = loss_at().item()
    assert after < before - 0.03, (before, after)
