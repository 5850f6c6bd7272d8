"""Signal preprocessing shared by every dataset: resampling, fixed length, normalisation."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly
from benchmark.errors import BenchmarkError

NORMALISATIONS = ("minmax", "zscore", "lead_range", "none")


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Anti-aliased polyphase resampling along the last axis."""
    if fs_in == fs_out:
        return x
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return resample_poly(x, ratio.numerator, ratio.denominator, axis=-1).astype(np.float32)


def fit_length(x: np.ndarray, n: int, crop: str = "start", pad: str = "zero") -> np.ndarray:
    """Crop (from the start or around the centre) or pad (with zeros, or by repeating the record) the last axis to
    n samples."""
    T = x.shape[-1]
    if T > n:
        start = 0 if crop == "start" else (T - n) // 2
        return x[..., start:start + n]
    if T < n:
        if pad == "repeat":
            return np.tile(x, (1,) * (x.ndim - 1) + (math.ceil(n / T),))[..., :n]
        out = np.zeros(x.shape[:-1] + (n,), dtype=x.dtype)
        out[..., :T] = x
        return out
    return x


def normalise(x: np.ndarray, mode: str, eps: float = 1e-6) -> np.ndarray:
    """Normalise records (..., leads, T).

    minmax: per-record min-max to [0, 1] over all leads, as in the MERL/ETP code lineage (the relative
            amplitudes of the leads are kept, which the lead-axis morphology relies on);
    zscore: per-lead zero mean, unit variance;
    lead_range: per-lead min-max to [-1, 1] (HuBERT-ECG's `scaling`; a method's declared input, benchmark.inputs);
    none:   keep millivolts.
    """
    x = np.asarray(x, dtype=np.float32)
    if mode == "minmax":
        lo = x.min(axis=(-2, -1), keepdims=True)
        hi = x.max(axis=(-2, -1), keepdims=True)
        return (x - lo) / np.maximum(hi - lo, eps)
    if mode == "zscore":
        return (x - x.mean(axis=-1, keepdims=True)) / np.maximum(x.std(axis=-1, keepdims=True), eps)
    if mode == "lead_range":
        lo, hi = x.min(axis=-1, keepdims=True), x.max(axis=-1, keepdims=True)
        return 2 * (x - lo) / np.maximum(hi - lo, eps) - 1
    if mode == "none":
        return x
    raise BenchmarkError(f"unknown normalisation {mode!r}; choose one of {NORMALISATIONS} (config key data.normalisation, or a method's input.normalisation)")
