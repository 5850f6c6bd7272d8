"""benchmark/optim.py: LARS on hand-computed steps, bias/norm exclusion, per-group fixed learning rates."""
import pytest
import torch
from torch import nn

from benchmark.optim import LARS, build_optimizer, build_schedule


def one_step(opt_cfg, w, g, bias=None, bias_grad=None):
    params = [nn.Parameter(torch.tensor(w))]
    if bias is not None:
        params.append(nn.Parameter(torch.tensor(bias)))
    opt = build_optimizer(params, opt_cfg)
    params[0].grad = torch.tensor(g)
    if bias is not None:
        params[1].grad = torch.tensor(bias_grad)
    opt.step()
    return [p.detach().flatten() for p in params]


def test_lars_trust_ratio_by_hand():
    # w = (3, 4): ||w|| = 5; g = (0.6, 0.8): ||g|| = 1; trust = 0.001 * 5 / 1 = 0.005; step = lr * trust * g
    cfg = {"name": "lars", "lr": 1.0, "momentum": 0.9, "weight_decay": 0.0, "trust_coefficient": 1e-3}
    (w,) = one_step(cfg, [[3.0, 4.0]], [[0.6, 0.8]])
    assert w.tolist() == pytest.approx([3 - 0.003, 4 - 0.004], abs=1e-7)
    # with weight decay 0.1 the adapted gradient is g + 0.1 w = (0.9, 1.2), norm 1.5: trust = 0.005 / 1.5,
    # and the step is again (0.003, 0.004)
    (w,) = one_step(dict(cfg, weight_decay=0.1), [[3.0, 4.0]], [[0.6, 0.8]])
    assert w.tolist() == pytest.approx([3 - 0.003, 4 - 0.004], abs=1e-7)
    # the step is lr * trust * g whatever the gradient's scale: LARS normalises it away
    (w,) = one_step(dict(cfg, lr=2.0), [[3.0, 4.0]], [[60.0, 80.0]])
    assert w.tolist() == pytest.approx([3 - 0.006, 4 - 0.008], abs=1e-6)


def test_lars_excludes_biases_and_norms_from_decay_and_adaptation():
    cfg = {"name": "lars", "lr": 0.5, "momentum": 0.9, "weight_decay": 0.1, "exclude_bias_and_norm": True}
    w, b = one_step(cfg, [[3.0, 4.0]], [[0.6, 0.8]], bias=[2.0], bias_grad=[0.4])
    assert w.tolist() == pytest.approx([3 - 0.5 * 0.003, 4 - 0.5 * 0.004], abs=1e-6)   # adapted, decayed
    assert b.tolist() == pytest.approx([2.0 - 0.5 * 0.4], abs=1e-7)                      # plain SGD step


def test_lars_momentum_accumulates_adapted_steps():
    p = nn.Parameter(torch.tensor([[3.0, 4.0]]))
    opt = LARS([p], lr=1.0, momentum=0.5, trust_coefficient=1e-3)
    for _ in range(2):
        p.grad = torch.tensor([[0.6, 0.8]])
        opt.step()
    # step 1: v = 0.005 g; step 2 at ||w|| = 4.995: v = 0.5 * 0.005 g + 0.004995 g
    total = 0.005 + 0.5 * 0.005 + 0.004995
    assert p.detach().flatten().tolist() == pytest.approx([3 - 0.6 * total, 4 - 0.8 * total], abs=1e-7)


def test_exclusion_also_spares_biases_from_weight_decay_in_sgd():
    cfg = {"name": "sgd", "lr": 1.0, "momentum": 0.0, "weight_decay": 0.5, "exclude_bias_and_norm": True}
    w, b = one_step(cfg, [[1.0, 1.0]], [[0.0, 0.0]], bias=[1.0], bias_grad=[0.0])
    assert w.tolist() == [0.5, 0.5] and b.tolist() == [1.0]


def test_fixed_lr_group_keeps_its_rate_while_the_others_follow_the_schedule():
    a, b = nn.Parameter(torch.ones(2, 2)), nn.Parameter(torch.ones(2, 2))
    opt = build_optimizer([{"params": [a]}, {"params": [b], "fixed_lr": True}], {"name": "sgd", "lr": 0.1})
    sched = build_schedule(opt, {"name": "cosine"}, steps_per_epoch=5, epochs=2)
    rates = []
    for _ in range(10):
        opt.step()
        sched.step()
        rates.append([g["lr"] for g in opt.param_groups])
    assert rates[4][0] == pytest.approx(0.05) and rates[-1][0] == pytest.approx(0.0, abs=1e-12)
    assert all(r[1] == pytest.approx(0.1) for r in rates)


def test_a_parameter_in_two_groups_is_refused():
    a = nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match="two of the method's param_groups"):
        build_optimizer([{"params": [a]}, {"params": [a]}], {"name": "adam", "lr": 1e-3})
