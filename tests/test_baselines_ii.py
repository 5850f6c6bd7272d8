"""Baselines II: TS-TCC, CLOCS and ASTCL (methods/tstcc, methods/clocs, methods/astcl).

Every expected number below is worked out by hand in the test, so a wrong loss, mask, view or gradient
direction fails. Inputs are short (T = 256, batch 8) so the file runs in seconds on a laptop CPU.
"""
import math
import sys

import pytest
import torch

from benchmark.augment import Compose, baseline_removal, moving_average_smooth, powerline_noise, segment_permutation
from benchmark.encoders import ResNet18_1D
from benchmark.losses import multi_positive_info_nce, same_id_mask
from benchmark.method import METHODS_DIR, load_method
from benchmark.optim import build_optimizer
from benchmark.pretrain import loss_and_terms

T, B = 256, 8
PATIENTS = torch.tensor([0, 1, 2, 2, 3, 4, 5, 0])  # two patients with two records each


pytestmark = pytest.mark.usefixtures("one_thread")


def make(name: str, **overrides):
    spec = load_method(METHODS_DIR / name)
    cfg = dict(spec.config["params"], sampling_rate=100, n_samples=1000, epochs=1, steps_per_epoch=10)
    cfg.update(overrides)
    torch.manual_seed(0)
    return spec, spec.cls(ResNet18_1D(), cfg)


def module(name: str):
    """The method's module (loaded by discovery as benchmark_methods.<name>_<folder hash>), for its helper functions."""
    return sys.modules[load_method(METHODS_DIR / name).cls.__module__]


def fixed_batch():
    g = torch.Generator().manual_seed(1)
    t = torch.arange(T) / 100
    # ECG-like: a 1.2 Hz beat train plus per-record, per-lead noise, min-max-ish range
    beat = torch.exp(-((t % 0.8) - 0.3) ** 2 / 0.001)
    x = 0.5 + 0.3 * beat * torch.rand(B, 12, 1, generator=g) + 0.05 * torch.randn(B, 12, T, generator=g)
    return {"ecg": x, "patient": PATIENTS.clone()}


def lse(*v):
    return math.log(sum(math.exp(a) for a in v))


# ----------------------------------------------------------------------------------------------- CLOCS
def test_clocs_patient_positive_mask_exact():
    _, m = make("clocs")
    patient = torch.tensor([3, 7, 3, 9, 7, 3])
    expected = torch.tensor([[1, 0, 1, 0, 0, 1],
                             [0, 1, 0, 0, 1, 0],
                             [1, 0, 1, 0, 0, 1],
                             [0, 0, 0, 1, 0, 0],
                             [0, 1, 0, 0, 1, 0],
                             [1, 0, 1, 0, 0, 1]], dtype=torch.bool)
    assert torch.equal(m.positive_mask(patient), expected)


def test_clocs_loss_hand_checked():
    """Two views of three records, records 0 and 2 from one patient, temperature 0.5 (logits = 2 * cosine)."""
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    patient = torch.tensor([5, 6, 5])
    # a -> b: rows of logits [2, 0, -2], [0, 2, 0], [2, 0, -2]; own-view pairs (0,0) (1,1) (2,2), other
    # same-patient pairs (0,2) (2,0)
    l0, l1 = lse(2, 0, -2), lse(0, 2, 0)
    own_ab, other_ab = ((l0 - 2) + (l1 - 2) + (l0 + 2)) / 3, ((l0 + 2) + (l0 - 2)) / 2
    # b -> a: rows [2, 0, 2], [0, 2, 0], [-2, 0, -2]
    m0, m2 = lse(2, 0, 2), lse(-2, 0, -2)
    own_ba, other_ba = ((m0 - 2) + (l1 - 2) + (m2 + 2)) / 3, ((m0 - 2) + (m2 + 2)) / 2
    # the authors' weighting: own view and other records are two terms of equal weight per direction
    _, m = make("clocs", temperature=0.5)
    got = m.contrastive_loss([a, b], patient)
    assert got.item() == pytest.approx(((own_ab + other_ab) / 2 + (own_ba + other_ba) / 2) / 2, rel=1e-5)
    # without a shared patient in the batch only the own-view term is left
    got = m.contrastive_loss([a, b], torch.tensor([5, 6, 7]))
    assert got.item() == pytest.approx((own_ab + own_ba) / 2, rel=1e-5)
    # per_pair: one mean over the five positive pairs of each direction
    _, m = make("clocs", temperature=0.5, positive_weighting="per_pair")
    a_to_b, b_to_a = (3 * own_ab + 2 * other_ab) / 5, (3 * own_ba + 2 * other_ba) / 5
    assert m.contrastive_loss([a, b], patient).item() == pytest.approx((a_to_b + b_to_a) / 2, rel=1e-5)
    # the shared function, one direction
    assert multi_positive_info_nce(a, b, same_id_mask(patient), 0.5).item() == pytest.approx(a_to_b, rel=1e-5)


def test_clocs_views_segments_and_lead_groups():
    x = torch.randn(4, 12, T)
    _, cmsc = make("clocs", variant="cmsc")
    first, second = cmsc.views(x)
    assert torch.equal(first, x[..., :T // 2]) and torch.equal(second, x[..., T // 2:])  # adjacent, disjoint
    _, cmlc = make("clocs", variant="cmlc")
    g1, g2 = cmlc.views(x)
    kept1, kept2 = g1.abs().sum(-1) > 0, g2.abs().sum(-1) > 0
    assert (kept1.sum(1) == 6).all() and (kept2.sum(1) == 6).all()   # 6 leads each
    assert not (kept1 & kept2).any()                                   # disjoint
    assert torch.equal(g1 + g2, x)                                     # together: the record
    _, both = make("clocs", variant="cmsmlc")
    assert [tuple(v.shape) for v in both.views(x)] == [(4, 12, T // 2)] * 4


# ---------------------------------------------------------------------------------------------- TS-TCC
def assert_segment_permutation_of_all_leads(out, x, max_segments):
    """x[b, l, t] encodes (b, l, t); every lead of out must be x's lead reordered by one shared,
    non-identity permutation made of 2..max_segments contiguous runs."""
    for b in range(x.shape[0]):
        src = out[b] - x[b, :, :1]                          # source time index of every output sample
        assert torch.equal(src, src[:1].expand_as(src))      # the same permutation in all 12 leads
        order = src[0].long()
        assert torch.equal(order.sort().values, torch.arange(x.shape[-1]))
        for lead in range(x.shape[1]):
            assert not torch.equal(out[b, lead], x[b, lead])  # every lead was touched
        runs = 1 + int((order[1:] != order[:-1] + 1).sum())
        assert 2 <= runs <= max_segments


def test_tstcc_strong_view_permutes_every_lead():
    _, m = make("tstcc", strong_jitter=0.0)
    x = (torch.arange(T).view(1, 1, T) + 1000.0 * torch.arange(12).view(1, 12, 1)
         + 100000.0 * torch.arange(B).view(B, 1, 1)).float()
    torch.manual_seed(3)
    for _ in range(5):
        weak, strong = m.views(x)
        assert_segment_permutation_of_all_leads(strong, x, m.max_segments)
        assert weak.shape == x.shape and not torch.equal(weak, x)


def test_segment_permutation_never_returns_a_record_unchanged():
    """The primitive itself rearranges every record (before, ~1 in 5 came back as the identity order)."""
    x = (torch.arange(64).view(1, 1, 64) + 1000.0 * torch.arange(12).view(1, 12, 1)).float().repeat(400, 1, 1)
    torch.manual_seed(0)
    for max_segments in (2, 5):
        assert_segment_permutation_of_all_leads(segment_permutation(x, max_segments=max_segments), x, max_segments)


def test_tstcc_temporal_contrast_hand_checked():
    TemporalContrast = module("tstcc").TemporalContrast
    tc = TemporalContrast(feat_dim=2, hidden=2, layers=1, heads=1, mlp_dim=4, dropout=0.0, timesteps=1)
    with torch.no_grad():
        tc.predictors[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        tc.predictors[0].bias.copy_(torch.tensor([0.0, 0.5]))
    c = torch.tensor([[1.0, 1.0], [0.0, -1.0]])        # W c: (1, 2.5) and (0, -1.5)
    z = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])      # z_{t+1} of the two records
    # logits rows [1, 2.5] and [0, -1.5]; targets on the diagonal
    expected = ((lse(1, 2.5) - 1) + (lse(0, -1.5) + 1.5)) / 2
    assert tc.loss(c, z).item() == pytest.approx(expected, rel=1e-6)


def test_tstcc_temporal_term_starts_near_chance_beside_the_contextual_one():
    """The reference trainer L2-normalises the feature maps before temporal contrasting. Without it, raw
    512-d ReLU features gave a TC loss of ~99 at initialisation (12x chance) against a CC loss of ~5, so the
    lambdas no longer set the balance and growing the feature norms paid off."""
    _, m = make("tstcc")
    torch.manual_seed(0)
    batch = {"ecg": torch.rand(32, 12, T), "patient": torch.arange(32)}
    out = m.training_step(batch)
    per_direction_chance = math.log(32)  # each of L_TC^s, L_TC^w: pick 1 of 32
    assert out["temporal"].item() / 2 == pytest.approx(per_direction_chance, rel=0.25)
    z = m.feature_sequence(batch["ecg"])
    assert torch.allclose(z.norm(dim=-1), torch.ones(z.shape[:2]), atol=1e-5)


def test_tstcc_contexts_predict_the_other_views_future():
    """Eq. 2 cross-view: the strong context predicts the weak view's z_{t+1..t+K} and vice versa."""
    _, m = make("tstcc")
    steps = 16
    time_code = torch.arange(steps, dtype=torch.float).view(1, 1, steps).expand(B, 512, steps)
    maps = iter([1000 + time_code, 2000 + time_code])            # weak view first, then strong
    m.feature_sequence = lambda x: next(maps).transpose(1, 2)
    # the context reports the code of the last step it saw
    m.tc.context = lambda z: z[:, -1, :1].expand(-1, 100).clone()
    seen = []

    def spy(c, z_future):
        seen.append((float(c[0, 0]), z_future[0, :, 0].tolist()))
        return torch.zeros(())
    m.tc.loss = spy
    m.training_step(fixed_batch())
    (c1, f1), (c2, f2) = seen
    k = min(m.timesteps, steps - 1)
    assert {c1 // 1000, c2 // 1000} == {1, 2}
    for c, future in seen:
        last = int(c % 1000)
        other = 1000 if c >= 2000 else 2000                       # the other view ...
        assert future == [other + last + j for j in range(1, k + 1)]  # ... its next K steps


def test_tstcc_loss_combines_tc_and_cc_as_the_paper():
    spec, m = make("tstcc")
    assert (m.lambda_tc, m.lambda_cc, m.cc_temperature) == (1.0, 0.7, 0.2)
    assert m.timesteps == 25                                        # 4 s at 100 Hz / stride 16
    out = m.training_step(fixed_batch())
    assert out["loss"].item() == pytest.approx(out["temporal"].item() + 0.7 * out["contextual"].item(), rel=1e-5)


# ----------------------------------------------------------------------------------------------- ASTCL
def test_astcl_losses_hand_checked():
    adversarial_loss, negative_cosine = module("astcl").adversarial_loss, module("astcl").negative_cosine
    sp = lambda v: math.log1p(math.exp(v))  # softplus
    # BCE with logits: target 1 -> softplus(-x), target 0 -> softplus(x)
    got = adversarial_loss(torch.tensor([0.0, 2.0]), torch.tensor([-1.0]))
    assert got.item() == pytest.approx(0.5 * ((sp(0) + sp(-2)) / 2 + sp(-1)), rel=1e-6)
    p = torch.tensor([[[1.0, 1.0], [0.0, 1.0]]], requires_grad=True)   # (B=1, C=2, T=2): (1,0) and (1,1)
    z = torch.tensor([[[1.0, 2.0], [1.0, 2.0]]], requires_grad=True)   # (1,1) and (2,2)
    loss = negative_cosine(p, z)
    assert loss.item() == pytest.approx(-(1 / math.sqrt(2) + 1) / 2, rel=1e-6)
    loss.backward()
    assert z.grad is None and p.grad is not None                        # stop-gradient on the target branch


def test_astcl_discriminator_and_encoder_move_in_opposite_directions():
    adversarial_loss = module("astcl").adversarial_loss
    _, m = make("astcl")
    m.adv_scale.fill_(0.5)
    torch.manual_seed(4)
    x = fixed_batch()["ecg"]
    xn, xc = m.noise_enhance(x), m.denoise(x)
    enc, disc = list(m.encoder.parameters()), list(m.discriminator.parameters())

    def grads(loss):
        g = torch.autograd.grad(loss, enc + disc, allow_unused=True)
        return g[:len(enc)], g[len(enc):]

    def plain_loss():
        return adversarial_loss(m.discriminator(m.encoder(xn)).squeeze(-1), m.discriminator(m.encoder(xc)).squeeze(-1))

    g_enc, g_disc = grads(m.adversarial(m.encoder(xn), m.encoder(xc)))   # through the reversal layer
    p_enc, p_disc = grads(plain_loss())
    for a, b in zip(g_disc, p_disc):      # the discriminator descends the adversarial loss itself ...
        torch.testing.assert_close(a, b)
    for a, b in zip(g_enc, p_enc):        # ... the encoder gets the reversed, scaled gradient
        torch.testing.assert_close(a, -0.5 * b)
    assert sum(float(g.abs().sum()) for g in g_enc) > 0

    # one small step along the (reversal-layer) gradients: the discriminator's step lowers the loss,
    # the encoder's step raises it
    def step_and_eval(params, g, eps=1e-3):
        norm = torch.sqrt(sum((gi ** 2).sum() for gi in g))
        saved = [p.detach().clone() for p in params]
        with torch.no_grad():
            for p, gi in zip(params, g):
                p -= eps * gi / norm
            after = plain_loss().item()
            for p, s in zip(params, saved):
                p.copy_(s)
        return after

    with torch.no_grad():
        before = plain_loss().item()
    assert step_and_eval(disc, g_disc) < before
    assert step_and_eval(enc, g_enc) > before


def test_astcl_reversal_scale_ramps_up():
    _, m = make("astcl")
    assert float(m.adv_scale) == 0.0
    m.on_step_end(49, 100)                   # half way: 2 / (1 + e^-5) - 1
    assert float(m.adv_scale) == pytest.approx(2 / (1 + math.exp(-5)) - 1, rel=1e-6)
    m.on_step_end(99, 100)
    assert float(m.adv_scale) == pytest.approx(2 / (1 + math.exp(-10)) - 1, rel=1e-6)


def test_ecg_noise_and_denoise_augmentations():
    n = torch.arange(T)
    mains = 0.3 * torch.cos(math.pi * n + 0.4).expand(2, 12, T).clone()   # 50 Hz sampled at 100 Hz: +-0.3 cos 0.4
    smooth = moving_average_smooth(mains, cutoff_hz=(50.0, 50.0), sampling_rate=100)   # window 2: zero at 50 Hz
    assert smooth[..., :-1].abs().max() < 1e-5   # (x[t] + x[t+1]) / 2; the last sample sees the edge
    ramp = (0.01 * n).float().expand(2, 12, T).clone()
    flat = baseline_removal(ramp, window_s=0.51, sampling_rate=100)       # 51-sample centred window
    interior = flat[..., 25:-25]
    assert torch.allclose(interior, torch.full_like(interior, float(ramp.mean())), atol=1e-5)
    torch.manual_seed(0)
    x = torch.zeros(3, 12, T)
    noisy = powerline_noise(x + 1.0 * (n % 2), amplitude=0.1, freq_hz=(50.0,), sampling_rate=100)
    assert noisy.shape == x.shape and not torch.equal(noisy, x + 1.0 * (n % 2))
    compose = Compose.from_config([{"name": "powerline_noise"}, {"name": "baseline_removal"},
                                   {"name": "moving_average_smooth"}], 100)
    assert compose(torch.randn(2, 12, T)).shape == (2, 12, T)


# ------------------------------------------------------------------------------------------ all three
@pytest.mark.parametrize("name", ["tstcc", "clocs", "astcl"])
def test_a_few_steps_on_a_fixed_batch_lower_the_loss(name):
    """Eight optimiser steps on one batch with the same random draws (views, crops, time t) every step: a
    check of the objective and its gradients, free of augmentation noise. (TS-TCC's temporal term, on
    unit-norm features as in the reference code, moves too slowly to show through fresh draws in 8 steps.)"""
    spec, m = make(name, n_samples=T)
    batch = fixed_batch()
    opt = build_optimizer(m.param_groups(), spec.config["optimizer"])

    def evaluate():
        torch.manual_seed(123)  # the same views, crops and time step t before and after
        with torch.no_grad():
            return loss_and_terms(m.training_step(batch), name)[0].item()

    before = evaluate()
    for step in range(8):
        torch.manual_seed(123)
        loss, _ = loss_and_terms(m.training_step(batch), name)
        opt.zero_grad()
        loss.backward()
        opt.step()
        m.on_step_end(step, 1000)
    after = evaluate()
    assert math.isfinite(before) and after < before - 0.05 * abs(before), (before, after)


@pytest.mark.parametrize("variant", ["cmlc", "cmsmlc"])
def test_clocs_other_variants_train(variant):
    _, m = make("clocs", variant=variant)
    loss = m.training_step(fixed_batch())
    loss.backward()
    assert torch.isfinite(loss) and m.encoder.stem[0].weight.grad.abs().sum() > 0
