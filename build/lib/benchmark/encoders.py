"""The shared ECG encoder: ResNet18-1D as used by MERL/ETP (DESIGN.md, "Reference facts").

Stem Conv1d(12->64, k7, s2, p3) + BN + ReLU (no max-pool), BasicBlocks [2, 2, 2, 2] with 64/128/256/512
channels and strides 1/2/2/2, global average pool -> 512. Every method uses this exact network so that
Table 1 compares pre-training objectives, not architectures.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class BasicBlock1d(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm1d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet18_1D(nn.Module):
    """(B, leads, T) -> (B, 512). `feature_map` gives the (B, 512, T/16) temporal features."""

    out_dim = 512
    stride = 16  # total temporal down-sampling of the feature map

    def __init__(self, in_leads: int = 12):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(in_leads, 64, 7, 2, 3, bias=False), nn.BatchNorm1d(64), nn.ReLU(inplace=True))
        layers, c_in = [], 64
        for c_out, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers.append(nn.Sequential(BasicBlock1d(c_in, c_out, stride), BasicBlock1d(c_out, c_out, 1)))
            c_in = c_out
        self.layers = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @staticmethod
    def feature_length(n_samples: int) -> int:
        """Time steps of `feature_map` for an input of n_samples (four stride-2 stages, each ceil(L / 2))."""
        for _ in range(4):
            n_samples = -(-n_samples // 2)
        return n_samples

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3:
            raise ValueError(f"ECG encoder expects (batch, leads, time), got shape {tuple(x.shape)}")
        return self.layers(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_map(x).mean(dim=-1)


def receptive_field(encoder: nn.Module, start: int = 1024) -> int:
    """How many consecutive input samples one time step of the encoder's temporal features depends on
    (`encoder.feature_map`, or the module itself when it has none), measured rather than derived: a float64
    copy whose convolutions average their inputs with positive weights and whose batch norms are the identity
    (so no path cancels and no ReLU cuts one) is differentiated at its middle output step. The probe input
    doubles until the field lies inside it."""
    probe = copy.deepcopy(encoder).double().eval()
    with torch.no_grad():
        for m in probe.modules():
            if isinstance(m, nn.modules.conv._ConvNd):
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_parameters()  # weight 1, bias 0, running mean 0, running var 1
    forward = getattr(probe, "feature_map", probe)
    in_channels = next(m for m in probe.modules() if isinstance(m, nn.modules.conv._ConvNd)).in_channels
    n = start
    while True:
        x = torch.ones(1, in_channels, n, dtype=torch.float64, requires_grad=True)
        out = forward(x)
        out[0, :, out.shape[-1] // 2].sum().backward()
        used = x.grad[0].abs().sum(dim=0).nonzero().flatten()
        lo, hi = int(used.min()), int(used.max())
        if lo > 0 and hi < n - 1:
            return hi - lo + 1
        if n > 2 ** 22:
            raise ValueError(f"the receptive field of {type(encoder).__name__} exceeds {n} samples")
        n *= 2
