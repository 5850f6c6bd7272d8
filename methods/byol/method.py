"""BYOL: Bootstrap Your Own Latent (Grill et al., NeurIPS 2020), on the shared ResNet18-1D.

An online network (encoder f_theta, projector g_theta, predictor q_theta) learns to predict, from one
augmented view, the target network's projection of another view of the same ECG (Sec. 3.1). The target
network (f_xi, g_xi) has the online architecture minus the predictor, receives no gradient, and follows the
online weights by an exponential moving average (Sec. 3.1, Eq. 1) whose rate tau rises from tau_base to 1
along a cosine (Sec. 3.3). No negatives are used.
"""
import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

import benchmark
from benchmark import params as p
from benchmark.augment import Compose


def mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    # Sec. 3.3: Linear(hidden 4096) -> BatchNorm -> ReLU -> Linear(256); the same shape for g and q
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                         nn.Linear(hidden, d_out))


def cosine_momentum(tau_base: float, k: int, total: int) -> float:
    """Sec. 3.3: tau = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2, from tau_base at k = 0 to 1 at k = K."""
    return 1.0 - (1.0 - tau_base) * (math.cos(math.pi * k / max(1, total)) + 1.0) / 2.0


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """Eq. 1 (Sec. 3.1): xi <- tau xi + (1 - tau) theta, for every parameter. Batch-norm running statistics
    are not averaged: the target runs in training mode (batch statistics) and tracks its own."""
    for xi, theta in zip(target.parameters(), online.parameters()):
        xi.mul_(tau).add_(theta.detach(), alpha=1.0 - tau)


def regression_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Eq. 2: || p/|p| - z/|z| ||^2 = 2 - 2 cos(p, z), batch mean; z is the target (no gradient).
    Computed in float32 (also under bfloat16 autocast)."""
    return (2 - 2 * F.cosine_similarity(p.float(), z.detach().float(), dim=-1)).mean()


class Method(benchmark.Method):
    title = "BYOL"
    paper = "Grill et al., NeurIPS 2020"
    params_schema = {"hidden_dim": p.positive_int, "proj_dim": p.positive_int, "tau_base": p.probability,
                     "augmentations": p.augmentations}

    def __init__(self, encoder, cfg):
        super().__init__(encoder, cfg)
        # the augmentation family (`etp`: the ETP paper's protocol for its baselines; `simclr`: the family
        # BYOL itself reuses from SimCLR, Appendix B, as ECG analogues), or a list; see README.md
        self.augment = Compose.from_config(cfg["augmentations"], cfg["sampling_rate"])
        self.projector = mlp(encoder.out_dim, cfg["hidden_dim"], cfg["proj_dim"])
        self.predictor = mlp(cfg["proj_dim"], cfg["hidden_dim"], cfg["proj_dim"])
        # Sec. 3.1: target = same architecture as the online encoder + projector, initialised to the same
        # weights (a deep copy), registered as a sub-module so checkpoints and exports carry it, never optimised
        self.target = nn.Sequential(copy.deepcopy(encoder), copy.deepcopy(self.projector))
        self.target.requires_grad_(False)
        self.tau_base = float(cfg["tau_base"])

    def settings(self):
        return {"augmentations": self.augment.summary}

    def online(self, x):
        return self.predictor(self.projector(self.encoder(x)))

    def training_step(self, batch):
        x = batch["ecg"]
        v1, v2 = self.augment(x), self.augment(x)   # Sec. 3.1: v = t(x), v' = t'(x)
        p1, p2 = self.online(v1), self.online(v2)
        with torch.no_grad():                        # Sec. 3.1: stop-gradient on the target, sg(z'_xi)
            z1, z2 = self.target(v1), self.target(v2)
        # Sec. 3.1, Eq. 2-3: symmetrised loss L + L~ (v' through the online net, v through the target and back)
        return regression_loss(p1, z2) + regression_loss(p2, z1)

    def on_step_end(self, step, total_steps):
        # Sec. 3.1: after each optimiser step on theta, xi <- tau xi + (1 - tau) theta with the cosine tau
        tau = cosine_momentum(self.tau_base, step, total_steps)
        ema_update(self.target[0], self.encoder, tau)
        ema_update(self.target[1], self.projector, tau)
