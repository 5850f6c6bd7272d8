"""MERL trained by the benchmark (methods/merl): its loss on hand-computed cases, its attention pool against an
explicit computation, and its two uni-modal views."""
import math
import sys

import pytest
import torch

from benchmark.encoders import ResNet18_1D
from benchmark.method import METHODS_DIR, load_method
from benchmark.optim import build_optimizer
from benchmark.pretrain import loss_and_terms

T, B, TEXT_DIM = 256, 6, 10


pytestmark = pytest.mark.usefixtures("one_thread")


def make(**overrides):
    spec = load_method(METHODS_DIR / "merl")
    cfg = dict(spec.config["params"], sampling_rate=100, n_samples=T, epochs=1, steps_per_epoch=10,
               text_dim=TEXT_DIM)
    cfg.update(overrides)
    torch.manual_seed(0)
    return spec, spec.cls(ResNet18_1D(), cfg)


def merl():
    return sys.modules[load_method(METHODS_DIR / "merl").cls.__module__]


def batch():
    g = torch.Generator().manual_seed(1)
    return {"ecg": torch.rand(B, 12, T, generator=g), "patient": torch.arange(B),
            "text_emb": torch.randn(B, TEXT_DIM, generator=g)}


def test_merl_clip_loss_sums_both_directions():
    """a = b = the 2 x 2 identity, temperature 1: cosine logits are the identity, each of the four rows and
    columns has cross-entropy log(1 + e^-1); MERL adds the two directions (not their mean)."""
    eye = torch.eye(2)
    expected = 2 * math.log(1 + math.exp(-1))
    assert merl().merl_clip_loss(eye, eye, 1.0).item() == pytest.approx(expected, rel=1e-6)
    # an asymmetric case: rows (1, 0), (1, 1)/sqrt2 against (1, 0), (0, 1), T = 0.5
    a, b = torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    c = 1 / math.sqrt(2)
    logits = [[1 / 0.5, 0.0], [c / 0.5, c / 0.5]]
    rows = -(logits[0][0] - math.log(math.exp(logits[0][0]) + math.exp(logits[0][1]))) \
        - (logits[1][1] - math.log(math.exp(logits[1][0]) + math.exp(logits[1][1])))
    cols = -(logits[0][0] - math.log(math.exp(logits[0][0]) + math.exp(logits[1][0]))) \
        - (logits[1][1] - math.log(math.exp(logits[0][1]) + math.exp(logits[1][1])))
    assert merl().merl_clip_loss(a, b, 0.5).item() == pytest.approx((rows + cols) / 2, rel=1e-6)


def test_attention_pool_is_one_query_attending_over_query_and_map():
    """One head, written out: the query token (+ position 0, added twice as MERL's forward does) attends over
    [query; map] + positions with softmax(q k^T / sqrt(d)); the weighted values go through out_proj and out."""
    torch.manual_seed(3)
    pool = merl().AttentionPool1d(length=5, dim=4, heads=1, out_dim=3)
    x = torch.randn(2, 4, 5)
    pos = pool.positions[0]
    tokens = torch.cat([(pool.query[0] + pos[:1]), torch.zeros(5, 4)])[None].repeat(2, 1, 1)
    tokens[:, 1:] = x.transpose(1, 2)
    tokens = tokens + pos
    w_q, w_k, w_v = pool.attention.in_proj_weight.chunk(3)
    b_q, b_k, b_v = pool.attention.in_proj_bias.chunk(3)
    q = tokens[:, :1] @ w_q.T + b_q
    k, v = tokens @ w_k.T + b_k, tokens @ w_v.T + b_v
    weights = torch.softmax(q @ k.transpose(1, 2) / 2.0, dim=-1)          # sqrt(4) = 2
    attended = pool.attention.out_proj(weights @ v)[:, 0]
    expected = pool.out(attended)
    torch.testing.assert_close(pool(x), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="built for 5 time steps"):
        pool(torch.randn(2, 4, 6))


def test_training_step_is_cma_plus_uma_from_its_parts():
    """Without dropout (eval mode) the loss equals CMA (attention-pooled ECG vs projected text) plus UMA (the
    two bias-free heads on the average-pooled 256-d map), each the sum of two cross-entropies at T = 0.07."""
    _, m = make()
    m.eval()
    data = batch()
    with torch.no_grad():
        out = m.training_step(data)
        fmap = m.downconv(m.encoder.feature_map(data["ecg"]))
        assert fmap.shape == (B, 256, ResNet18_1D.feature_length(T))

        def two_way(a, b):
            a, b = torch.nn.functional.normalize(a, dim=-1), torch.nn.functional.normalize(b, dim=-1)
            logits = a @ b.T / 0.07
            target = torch.arange(B)
            return (torch.nn.functional.cross_entropy(logits, target, reduction="sum")
                    + torch.nn.functional.cross_entropy(logits.T, target, reduction="sum")) / B

        cma = two_way(m.attention_pool(fmap), m.text_proj(data["text_emb"]))
        pooled = fmap.mean(-1)
        uma = two_way(pooled @ m.uma_views[0][0].weight.T, pooled @ m.uma_views[1][0].weight.T)
    assert out["cma"].item() == pytest.approx(cma.item(), rel=1e-5)
    assert out["uma"].item() == pytest.approx(uma.item(), rel=1e-5)
    assert out["loss"].item() == pytest.approx(cma.item() + uma.item(), rel=1e-5)
    assert all(view[0].bias is None and view[1].p == 0.1 for view in m.uma_views)
    assert not torch.equal(m.uma_views[0][0].weight, m.uma_views[1][0].weight)
    assert m.embed_ecg(data["ecg"]).shape == (B, 256) and m.embed_text(data["text_emb"]).shape == (B, 256)


def test_dropout_makes_the_uma_views_differ_in_training():
    _, m = make()
    m.train()
    pooled = torch.randn(B, 256)
    torch.manual_seed(5)
    first = m.uma_views[0](pooled)
    torch.manual_seed(6)
    again = m.uma_views[0](pooled)
    assert not torch.equal(first, again)
    m.eval()
    torch.testing.assert_close(m.uma_views[0](pooled), pooled @ m.uma_views[0][0].weight.T)


def test_a_few_steps_on_a_fixed_batch_lower_the_loss():
    spec, m = make()
    data = batch()
    opt = build_optimizer(m.param_groups(), dict(spec.config["optimizer"], lr=1e-3))

    def evaluate():
        torch.manual_seed(123)
        with torch.no_grad():
            return loss_and_terms(m.training_step(data), "merl")[0].item()

    before = evaluate()
    for _ in range(8):
        torch.manual_seed(123)
        loss, _ = loss_and_terms(m.training_step(data), "merl")
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = evaluate()
    assert math.isfinite(before) and after < before - 0.05 * abs(before), (before, after)
