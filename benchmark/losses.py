"""Contrastive losses shared by the methods, and the float32 guard for losses of a method's own.

On a GPU the training loop runs `training_step` under bfloat16 autocast (the preset's `amp`): matrix products and
convolutions then compute in bfloat16, with an 8-bit mantissa. Every loss here computes in float32 all the same
(`float32`): cosine logits divided by temperatures like 0.07 span about +-14, where bfloat16 would blur the
softmax. A method's own loss, or any other numerically delicate term (a log, an exp, a division by a small
number), should be decorated with `@float32` too; on the CPU it changes nothing.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


def float32(fn):
    """Decorator: run `fn` with autocast off and its floating-point tensor arguments in float32 (the guard every
    loss of this module has; use it on a method's own losses, benchmark/losses.py's docstring says why)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        tensors = [a for a in (*args, *kwargs.values()) if torch.is_tensor(a)]
        up = lambda a: a.float() if torch.is_tensor(a) and a.is_floating_point() else a  # noqa: E731
        with torch.autocast(tensors[0].device.type, enabled=False):
            return fn(*map(up, args), **{k: up(v) for k, v in kwargs.items()})
    return wrapper


@float32
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


@float32
def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent over 2N views (SimCLR, Chen et al. 2020, Eq. 1): each view's positive is its partner, the
    other 2N - 2 views are negatives; the loss is averaged over all 2N anchors."""
    z = F.normalize(torch.cat([z1, z2]), dim=-1)
    n = z1.shape[0]
    logits = z @ z.t() / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.arange(2 * n, device=z.device).roll(n)   # n..2n-1, 0..n-1: built on the device, no copy
    return F.cross_entropy(logits, target)


@float32
def info_nce(query: torch.Tensor, keys: torch.Tensor, temperature: float = 1.0, normalise: bool = False) -> torch.Tensor:
    """InfoNCE (van den Oord et al. 2018, Eq. 4) with in-batch negatives: row i of `query` must pick row i
    of `keys` among all rows of `keys`. Dot-product scores by default (CPC); cosine when `normalise`."""
    if normalise:
        query, keys = F.normalize(query, dim=-1), F.normalize(keys, dim=-1)
    logits = query @ keys.t() / temperature
    return F.cross_entropy(logits, torch.arange(query.shape[0], device=query.device))


def same_id_mask(ids: torch.Tensor, other: torch.Tensor | None = None) -> torch.Tensor:
    """(N,) ids -> (N, M) bool mask, True where row i of `ids` and row k of `other` (default: `ids` itself)
    carry the same id, the diagonal included: the positive pairs of patient-level contrastive losses
    (CLOCS, Kiyasseh et al. 2021; ASTCL) when both axes index records of one batch."""
    other = ids if other is None else other
    return ids[:, None] == other[None, :]


@float32
def multi_positive_info_nce(query: torch.Tensor, keys: torch.Tensor, positives: torch.Tensor,
                            temperature: float) -> torch.Tensor:
    """InfoNCE with any number of positives per anchor (CLOCS' patient-specific loss, Kiyasseh et al. 2021).

    Logits are cosine similarities between rows of `query` and `keys` divided by the temperature; for every
    positive pair (i, k) (`positives[i, k]` True) the term is -log softmax over row i evaluated at k, and the
    loss is the mean over all positive pairs (the paper's expectation over positive pairs). With the
    identity as `positives` this is `info_nce(query, keys, temperature, normalise=True)`. One direction
    only (query -> keys); call it again with the roles swapped for the symmetric loss.
    """
    q, k = F.normalize(query, dim=-1), F.normalize(keys, dim=-1)
    log_p = F.log_softmax((q @ k.t()).float() / temperature, dim=1)
    pos = positives.to(log_p.dtype)   # a masked mean, not boolean indexing: no host synchronisation
    return -(log_p * pos).sum() / pos.sum()
