"""Contrastive losses shared by the methods."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def clip_loss(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE between paired rows of `a` and `b` (ETP, Eq. 3-5; CLIP).

    Rows are L2-normalised so the logits are cosine similarities r_ij divided by the temperature; the i-th
    row of `a` must pick the i-th row of `b` among the K in the batch and vice versa; the two
    cross-entropies are averaged, which is Eq. 5's 1/(2K) sum.
    """
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    logits = a @ b.t() / temperature
    target = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
