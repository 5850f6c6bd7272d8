"""ECG augmentations shared by the self-supervised methods, applied per step to a whole batch.

Every function takes and returns a (B, leads, T) tensor on whatever device the batch is on (the GPU when
there is one), draws its randomness per sample from torch's global generator (seeded and checkpointed by
the training loop), and never changes the shape. Methods compose them from their config.yaml:

    augmentations:
      - {name: random_resized_crop, scale: [0.5, 1.0]}
      - {name: gaussian_noise, sigma: 0.05}

with `Compose.from_config(cfg["augmentations"], sampling_rate)`. Strengths are relative to each record's
own standard deviation where that matters, so they mean the same after min-max or z-score normalisation.
"""
from __future__ import annotations

import difflib
import inspect
import math

import torch
import torch.nn.functional as F

from benchmark.errors import ConfigError


def _per_sample(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return torch.empty(x.shape[0], 1, 1, device=x.device).uniform_(low, high)


def _record_std(x: torch.Tensor) -> torch.Tensor:
    return x.std(dim=(1, 2), keepdim=True).clamp_min(1e-6)


def gaussian_noise(x: torch.Tensor, sigma: float = 0.05, **_) -> torch.Tensor:
    """Additive white noise ("jitter"), sigma relative to each record's standard deviation."""
    return x + torch.randn_like(x) * sigma * _record_std(x)


def amplitude_scale(x: torch.Tensor, low: float = 0.8, high: float = 1.2, per_lead: bool = False, **_) -> torch.Tensor:
    """Multiply by a random factor per record (or per lead): gain differences between recordings."""
    shape = (x.shape[0], x.shape[1] if per_lead else 1, 1)
    return x * torch.empty(shape, device=x.device).uniform_(low, high)


def baseline_wander(x: torch.Tensor, amplitude: float = 0.1, max_hz: float = 0.5, sampling_rate: int = 100,
                    **_) -> torch.Tensor:
    """Add a slow sinusoid per lead (respiration / electrode motion), amplitude relative to the record std."""
    b, leads, t = x.shape
    time = torch.arange(t, device=x.device) / sampling_rate
    freq = torch.empty(b, leads, 1, device=x.device).uniform_(0.05, max_hz)
    phase = torch.empty(b, leads, 1, device=x.device).uniform_(0, 2 * math.pi)
    amp = torch.empty(b, 1, 1, device=x.device).uniform_(0, amplitude) * _record_std(x)
    return x + amp * torch.sin(2 * math.pi * freq * time + phase)


def lead_mask(x: torch.Tensor, p: float = 0.25, **_) -> torch.Tensor:
    """Zero each lead with probability p (at least one lead is always kept)."""
    keep = torch.rand(x.shape[0], x.shape[1], 1, device=x.device) >= p
    none_kept = ~keep.any(dim=1, keepdim=True)
    keep = keep | (none_kept & (torch.arange(x.shape[1], device=x.device).view(1, -1, 1) == 0))
    return x * keep


def time_mask(x: torch.Tensor, ratio: float = 0.1, **_) -> torch.Tensor:
    """Zero one random contiguous segment of `ratio` of the length, in all leads."""
    b, _, t = x.shape
    width = max(1, int(round(ratio * t)))
    start = torch.randint(0, t - width + 1, (b, 1, 1), device=x.device)
    pos = torch.arange(t, device=x.device).view(1, 1, -1)
    return x * ~((pos >= start) & (pos < start + width))


def random_resized_crop(x: torch.Tensor, scale: tuple[float, float] = (0.5, 1.0), **_) -> torch.Tensor:
    """Crop a random window of `scale` of the length and stretch it back to the full length (linear)."""
    b, leads, t = x.shape
    frac = torch.empty(b, device=x.device).uniform_(*scale)
    start = torch.rand(b, device=x.device) * (1 - frac)
    # sampling grid in [-1, 1] over the chosen window, per sample
    u = torch.linspace(0, 1, t, device=x.device)
    grid_x = (start[:, None] + frac[:, None] * u[None, :]) * 2 - 1
    grid = torch.stack([grid_x, torch.zeros_like(grid_x)], dim=-1).unsqueeze(1)  # (B, 1, T, 2)
    return F.grid_sample(x.unsqueeze(2), grid, mode="bilinear", align_corners=True).squeeze(2)


def segment_permutation(x: torch.Tensor, max_segments: int = 5, **_) -> torch.Tensor:
    """Split the time axis at 1..max_segments-1 random points into 2..max_segments pieces and put them in a
    random order other than the original one, the same way in every lead: TS-TCC's strong view. Every record
    comes back rearranged. (The reference code draws 1..max_seg-1 pieces, so its max_seg = 5 is our
    max_segments = 4; it leaves ~43 % of records unchanged, one piece or an identity order, and permutes
    channel 0 only, a bug for 12-lead input.) Vectorised: one gather for the whole batch."""
    b, leads, t = x.shape
    if t < 2:
        raise ValueError(f"segment_permutation needs at least 2 samples, got a signal of {t}")
    dev, m = x.device, min(max_segments, t)
    n = torch.randint(2, m + 1, (b, 1), device=dev)                            # pieces per record
    slot = torch.arange(m, device=dev)[None, :]
    # n - 1 distinct cut points in 1..t-1: the first of a random order; unused slots are pushed to the end (t)
    cuts = torch.rand(b, t - 1, device=dev).argsort(dim=1)[:, : m - 1] + 1
    cuts = torch.where(slot[:, : m - 1] < n - 1, cuts, torch.full_like(cuts, t)).sort(dim=1).values
    starts = torch.cat([torch.zeros_like(cuts[:, :1]), cuts], dim=1)           # (B, m); unused pieces are empty
    lengths = torch.cat([cuts, torch.full_like(cuts[:, :1], t)], dim=1) - starts
    # a uniform random order of the n pieces (unused slots stay last), redrawn where it is the identity; a fixed
    # number of redraws, decided on the device (a loop until none is left would read back to the host every
    # step). With 2 pieces the swap is the only other order, which the fallback gives exactly; with 3 or more,
    # an identity survives 8 redraws with probability 6^-9 and then becomes a cyclic shift.
    def draw():
        return torch.rand(b, m, device=dev).masked_fill(slot >= n, float("inf")).argsort(dim=1)

    def identity(order):
        return ((order == slot) | (slot >= n)).all(dim=1, keepdim=True)

    order = draw()
    for _ in range(8):
        order = torch.where(identity(order), draw(), order)
    shifted = torch.where(slot < n, (slot + 1) % n, slot)   # 1, 2, .., n-1, 0, then the unused slots
    order = torch.where(identity(order), shifted, order)
    # output position p lies in piece r of the new order: its source is that piece's start + offset into it
    new_len = lengths.gather(1, order)
    new_end = new_len.cumsum(dim=1)
    pos = torch.arange(t, device=dev).expand(b, t).contiguous()
    r = torch.searchsorted(new_end, pos, right=True)
    src = starts.gather(1, order).gather(1, r) + pos - (new_end - new_len).gather(1, r)
    return x.gather(2, src[:, None, :].expand(b, leads, t))


def time_reverse(x: torch.Tensor, p: float = 0.5, **_) -> torch.Tensor:
    flip = torch.rand(x.shape[0], 1, 1, device=x.device) < p
    return torch.where(flip, x.flip(-1), x)


def sign_flip(x: torch.Tensor, p: float = 0.5, **_) -> torch.Tensor:
    """Invert the polarity about each record's mean (the mean is kept; values may leave a min-max range)."""
    flip = torch.rand(x.shape[0], 1, 1, device=x.device) < p
    mean = x.mean(dim=(1, 2), keepdim=True)
    return torch.where(flip, 2 * mean - x, x)


AUGMENTATIONS = {f.__name__: f for f in (gaussian_noise, amplitude_scale, baseline_wander, lead_mask, time_mask,
                                         random_resized_crop, segment_permutation, time_reverse, sign_flip)}


# Named augmentation families, shared by the two-view baselines (SimCLR, BYOL, SimSiam): a method's config
# says `augmentations: <name>`, or gives its own list. name -> (what it is, the list).
FAMILIES = {
    # ETP Sec. 2.2: its uni-modal baselines use "strong augmentation ... such as random segmentation and
    # inversion", following TS-TCC [7]: read as TS-TCC's permutation (random segments, shuffled) and polarity
    # inversion (methods/simclr/README.md discusses the reading)
    "etp": ("random segmentation and inversion, the ETP paper's protocol for its Table 1 baselines (Sec. 2.2)",
            [{"name": "segment_permutation", "max_segments": 4},
             {"name": "sign_flip", "p": 0.5}]),
    # ECG analogues of SimCLR Sec. 3 / Appendix A: crop-and-resize in time, then "colour" distortions (lead
    # gains, noise, baseline wander; lead drop ~ grayscale); strengths relative to each record's std
    "simclr": ("SimCLR-style crop-and-resize with gain, noise, baseline-wander and lead-drop distortions",
               [{"name": "random_resized_crop", "scale": [0.5, 1.0]},
                {"name": "amplitude_scale", "low": 0.5, "high": 1.5, "per_lead": True, "apply_p": 0.8},
                {"name": "gaussian_noise", "sigma": 0.1, "apply_p": 0.8},
                {"name": "baseline_wander", "amplitude": 0.2, "max_hz": 0.5, "apply_p": 0.8},
                {"name": "lead_mask", "p": 0.25, "apply_p": 0.2}]),
}


def family_summary(spec: str | list | None) -> str:
    """One line naming the augmentations a config entry stands for (recorded with the run, shown on the board)."""
    if isinstance(spec, str):
        return f"`{spec}` ({FAMILIES[spec][0]})" if spec in FAMILIES else f"`{spec}`"
    return "custom list (see the method's config.yaml)" if spec else "none"


class Compose:
    """Apply a list of augmentations in order; each entry may carry `apply_p` (probability per batch element)."""

    def __init__(self, steps: list[tuple[callable, dict, float]], summary: str = "custom"):
        self.steps = steps
        self.summary = summary  # what it is, for the board (family_summary)

    @classmethod
    def from_config(cls, spec: str | list[dict] | None, sampling_rate: int) -> "Compose":
        """`spec`: a list of {name: ..., <arguments>, apply_p: ...}, or the name of one of FAMILIES."""
        summary = family_summary(spec)
        steps = []
        for entry in resolve(spec):
            entry = dict(entry)
            name, apply_p = entry.pop("name"), entry.pop("apply_p", 1.0)
            steps.append((AUGMENTATIONS[name], dict(entry, sampling_rate=sampling_rate), apply_p))
        return cls(steps, summary)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for fn, kwargs, apply_p in self.steps:
            y = fn(x, **kwargs)
            if apply_p < 1.0:
                y = torch.where(torch.rand(x.shape[0], 1, 1, device=x.device) < apply_p, y, x)
            x = y
        return x


# --- ECG noise and denoising (ASTCL's "noise enhancement" and "denoising" views, Wang et al. 2023) ---------

def powerline_noise(x: torch.Tensor, amplitude: float = 0.05, freq_hz: tuple[float, ...] = (50.0, 60.0),
                    sampling_rate: int = 100, **_) -> torch.Tensor:
    """Add mains interference: a sinusoid at 50 or 60 Hz (drawn per record) with one phase for all leads and
    an amplitude per lead, uniform in [0, amplitude] times the record std. Sampled as is: at sampling rates
    below twice the mains frequency it aliases (60 Hz at 100 Hz appears at 40 Hz), as in an unfiltered
    recording."""
    b, leads, t = x.shape
    time = torch.arange(t, device=x.device) / sampling_rate
    pick = torch.randint(0, len(freq_hz), (b, 1, 1), device=x.device)
    freq = sum((pick == i).to(x.dtype) * float(f) for i, f in enumerate(freq_hz))  # no host-to-device copy
    phase = torch.empty(b, 1, 1, device=x.device).uniform_(0, 2 * math.pi)
    amp = torch.empty(b, leads, 1, device=x.device).uniform_(0, amplitude) * _record_std(x)
    return x + amp * torch.sin(2 * math.pi * freq * time + phase)


def _moving_average(x: torch.Tensor, window: torch.Tensor, max_window: int) -> torch.Tensor:
    """Centred moving average of every lead, window length per record ((B,) samples on x's device, at most
    `max_window`, which sizes the padding without reading the windows back to the host), edges replicated.
    Computed from cumulative sums in float64, so any window costs the same."""
    b, leads, t = x.shape
    window = window.to(dtype=torch.long).clamp(1, t)
    left, right = (window - 1) // 2, window // 2
    pad = min(int(max_window), t) // 2 + 1
    csum = F.pad(F.pad(x.double(), (pad, pad), mode="replicate").cumsum(-1), (1, 0))  # csum[j] = sum of first j
    pos = torch.arange(t, device=x.device)[None, :] + pad
    hi = (pos + right[:, None] + 1)[:, None, :].expand(b, leads, t)
    lo = (pos - left[:, None])[:, None, :].expand(b, leads, t)
    return ((csum.gather(-1, hi) - csum.gather(-1, lo)) / window.view(b, 1, 1)).to(x.dtype)


def moving_average_smooth(x: torch.Tensor, cutoff_hz: tuple[float, float] = (35.0, 50.0), sampling_rate: int = 100,
                          **_) -> torch.Tensor:
    """Low-pass denoising by a centred moving average whose first spectral zero, sampling_rate / window, is
    drawn per record in `cutoff_hz` (window = round(sampling_rate / cutoff), at least 2 samples): removes
    EMG-like high-frequency noise, and mains interference when the zero falls on 50 or 60 Hz."""
    cutoff = torch.empty(x.shape[0], device=x.device).uniform_(*cutoff_hz)
    window = (sampling_rate / cutoff).round().clamp_min(2)
    return _moving_average(x, window, max(2, round(sampling_rate / min(cutoff_hz))))


def baseline_removal(x: torch.Tensor, window_s: float = 1.0, sampling_rate: int = 100, **_) -> torch.Tensor:
    """High-pass denoising: subtract each lead's moving-average baseline (window `window_s` seconds, about one
    beat, so the P-QRS-T complex survives) and restore the lead's mean level, removing baseline wander."""
    w = max(1, round(window_s * sampling_rate))
    window = torch.full((x.shape[0],), w, device=x.device)
    return x - _moving_average(x, window, w) + x.mean(dim=-1, keepdim=True)


AUGMENTATIONS.update({f.__name__: f for f in (powerline_noise, moving_average_smooth, baseline_removal)})


def arguments(name: str) -> list[str]:
    """The arguments a config entry may give augmentation `name` (besides `apply_p`; the loop adds sampling_rate)."""
    params = list(inspect.signature(AUGMENTATIONS[name]).parameters.values())[1:]
    return [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "sampling_rate"]


def resolve(spec, where: str = "a method config") -> list[dict]:
    """The list of entries a config value stands for (a family name, a list of names or {name: ..., <arguments>}
    entries, or nothing), checked: known names,
    known arguments (the functions take **_ for the sampling rate, so a misspelt argument would vanish), apply_p a
    probability. Errors name `where` and the closest valid spelling."""
    if spec is None:
        return []
    if isinstance(spec, str):
        if spec not in FAMILIES:
            raise ConfigError(f"{where}: unknown augmentation family {spec!r}{_close(spec, FAMILIES)}; available: "
                              f"{', '.join(sorted(FAMILIES))}, or a list of augmentations")
        return FAMILIES[spec][1]
    if not isinstance(spec, list):
        raise ConfigError(f"{where}: augmentations must be a family name ({', '.join(sorted(FAMILIES))}) or a list of "
                          f"{{name: ..., <arguments>}} entries, not {type(spec).__name__}")
    spec = [{"name": e} if isinstance(e, str) else e for e in spec]   # a bare name: the augmentation's defaults
    for i, entry in enumerate(spec):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            raise ConfigError(f"{where}[{i}]: {entry!r} is not an augmentation; write its name (e.g. gaussian_noise) "
                              "or {name: gaussian_noise, <arguments>}")
        if name not in AUGMENTATIONS:
            raise ConfigError(f"{where}[{i}]: unknown augmentation {name!r}{_close(name, AUGMENTATIONS)}; "
                              f"available: {', '.join(sorted(AUGMENTATIONS))}")
        for arg in sorted(set(entry) - {"name", "apply_p"} - set(arguments(name))):
            raise ConfigError(f"{where}[{i}]: augmentation {name!r} has no argument {arg!r}"
                              f"{_close(arg, arguments(name))}; its arguments: {', '.join(arguments(name))}, apply_p")
        p = entry.get("apply_p", 1.0)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ConfigError(f"{where}[{i}]: apply_p of {name!r} is {p!r}; give a probability in [0, 1]")
    return spec


def _close(word: str, options) -> str:
    found = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {found[0]!r}?)" if found else ""
