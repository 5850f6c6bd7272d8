"""Optimisers and learning-rate schedules of the training loop, built from a method's config.yaml.

A method hands the loop its parameter groups (`Method.param_groups`): dicts with "params" and optionally
`fixed_lr: True`, a group the schedule leaves at the configured learning rate (SimSiam's predictor,
`--fix-pred-lr` in facebookresearch/simsiam). `optimizer.exclude_bias_and_norm` splits every group into its
weight matrices and its biases and normalisation scales/shifts (parameters with fewer than two dimensions);
the latter get no weight decay and, under LARS, no trust-ratio adaptation, as in the SimCLR and BYOL
configurations.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class LARS(torch.optim.Optimizer):
    """Layer-wise Adaptive Rate Scaling (You, Gitman & Ginsburg 2017), as SimCLR (Chen et al. 2020, Sec. B.1)
    and BYOL (Grill et al. 2020, Sec. 3.3) use it: per parameter tensor, the gradient plus weight decay is
    rescaled by the trust ratio eta * ||w|| / ||g + wd w|| (1 when either norm is zero), then accumulated in
    a heavy-ball momentum buffer; the step is lr times that buffer (the order of BYOL's released optimizer;
    SimCLR's TF code multiplies the lr in before the momentum, which differs whenever the lr changes, i.e.
    during warm-up and decay). A group with `lars_adapt: False` is plain SGD with momentum. Each step moves
    an adapted tensor by about lr * eta of its norm, whatever the gradient's scale."""

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
                 trust_coefficient: float = 1e-3):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      trust_coefficient=trust_coefficient, lars_adapt=True))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"]:
                    g = g.add(p, alpha=group["weight_decay"])
                if group["lars_adapt"]:
                    w_norm, g_norm = torch.linalg.vector_norm(p), torch.linalg.vector_norm(g)
                    trust = torch.where((w_norm > 0) & (g_norm > 0),
                                        group["trust_coefficient"] * w_norm / g_norm.clamp_min(1e-30),
                                        torch.ones_like(w_norm))
                    g = g * trust
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = g.detach().clone()
                else:
                    state["momentum_buffer"].mul_(group["momentum"]).add_(g)
                p.add_(state["momentum_buffer"], alpha=-group["lr"])
        return loss


def split_bias_and_norm(groups: list[dict], **excluded) -> list[dict]:
    """Each group -> its matrices/kernels, and its biases and normalisation parameters (ndim < 2) with no weight
    decay plus the settings `excluded` (LARS: lars_adapt=False). Empty groups are dropped."""
    out = []
    for g in groups:
        params = list(g["params"])
        rest = {k: v for k, v in g.items() if k != "params"}
        out.append(dict(rest, params=[p for p in params if p.ndim >= 2]))
        out.append(dict(rest, params=[p for p in params if p.ndim < 2], weight_decay=0.0, **excluded))
    return [g for g in out if g["params"]]


def trainable_groups(groups: list[dict]) -> list[dict]:
    """Keep parameters that require gradients; refuse a parameter listed in two groups."""
    seen, out = set(), []
    for g in groups:
        params = [p for p in g["params"] if p.requires_grad]
        for p in params:
            if id(p) in seen:
                raise ValueError("a parameter appears in two of the method's param_groups(); list each once")
            seen.add(id(p))
        if params:
            out.append(dict(g, params=params))
    return out


def learning_rate(opt: dict, batch_size: int | None) -> float:
    """The configured lr, scaled to the batch size when the config gives `lr_reference_batch`: linearly
    (`lr_scaling: linear`, the BYOL/SimSiam convention lr = base x batch / 256) or by the square root
    (`lr_scaling: sqrt`, SimCLR Appendix B.1's rule for small batches, lr = 0.075 x sqrt(batch))."""
    ref = opt.get("lr_reference_batch")
    if ref is None:
        return opt["lr"]
    if batch_size is None:
        raise ValueError("optimizer.lr_reference_batch is set, so the batch size is needed to scale the lr")
    ratio = batch_size / ref
    return opt["lr"] * (math.sqrt(ratio) if opt.get("lr_scaling", "linear") == "sqrt" else ratio)


def build_optimizer(groups: list[dict] | list[nn.Parameter], opt: dict,
                    batch_size: int | None = None) -> torch.optim.Optimizer:
    """`groups`: a method's param_groups() (or a plain parameter list); `opt`: the config's `optimizer`;
    `batch_size`: the preset's, for configs that scale the lr with it."""
    groups = list(groups)
    if groups and not isinstance(groups[0], dict):
        groups = [{"params": groups}]
    name, kw = opt["name"], dict(lr=learning_rate(opt, batch_size), weight_decay=opt.get("weight_decay", 0.0))
    groups = trainable_groups(groups)
    if opt.get("exclude_bias_and_norm", False):
        groups = split_bias_and_norm(groups, **({"lars_adapt": False} if name == "lars" else {}))
    if name == "lars":
        return LARS(groups, momentum=opt.get("momentum", 0.9), trust_coefficient=opt.get("trust_coefficient", 1e-3),
                    **kw)
    if name == "adam":
        return torch.optim.Adam(groups, betas=tuple(opt.get("betas", (0.9, 0.999))), **kw)
    if name == "adamw":
        return torch.optim.AdamW(groups, betas=tuple(opt.get("betas", (0.9, 0.999))), **kw)
    if name == "sgd":
        return torch.optim.SGD(groups, momentum=opt.get("momentum", 0.9), **kw)
    raise ValueError(f"unknown optimizer.name {name!r}; use adam, adamw, sgd or lars")


def build_schedule(optimizer, sched: dict, steps_per_epoch: int, epochs: int):
    """Per-step multiplier: constant, or linear warm-up then cosine decay to zero. The warm-up never takes
    more than a tenth of training, so a short (demo) run still reaches the method's peak learning rate.
    Groups marked `fixed_lr` keep the configured learning rate throughout."""
    total = max(1, steps_per_epoch * epochs)
    warmup = min(int(sched.get("warmup_epochs", 0) * steps_per_epoch), total // 10)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if sched["name"] == "cosine":
            return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
        return 1.0

    lambdas = [(lambda step: 1.0) if g.get("fixed_lr") else factor for g in optimizer.param_groups]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambdas)
    scheduler.warmup_steps = warmup   # the loop's NaN check says when a loss broke during warm-up
    return scheduler
