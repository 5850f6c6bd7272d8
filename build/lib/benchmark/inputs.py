"""The input a method's encoder expects, and the one place where stored signals are adapted to it.

A store holds every record at the preset's rate and length, in the standard lead order (benchmark.data.store).
A method folder may declare another input in its config.yaml (`input: {sampling_rate, seconds, leads}`), as a
published checkpoint must: HuBERT-ECG reads 12 leads at 100 Hz for 5 s, MERL's ResNet18 500 Hz for 10 s with
aVL and aVF swapped. Keys it leaves out keep the store's value. Batches are adapted on the host, before they
reach the device, by `InputAdapter` (the training loop and every evaluation step use it):

1. leads are picked and reordered by name;
2. the signal is resampled with the same anti-aliased polyphase filter the stores are built with
   (benchmark.data.preprocess.resample), over the whole stored record;
3. the first `seconds` are kept (a longer record is cropped at its end), or, for a shorter record, zeros are
   appended (0 in the store's normalised units), as the stores themselves are cut (preprocess.fit_length);
4. if the method declares a `normalisation`, each record is normalised again with it
   (benchmark.data.preprocess.normalise: MERL's global min-max, HuBERT-ECG's per-lead [-1, 1] range); otherwise
   the store's (`data.normalisation`) is kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.data.preprocess import fit_length, normalise, resample
from benchmark.data.store import LEADS
from benchmark.errors import ConfigError


@dataclass(frozen=True)
class InputSpec:
    """A batch's layout: (batch, len(leads), n_samples) at sampling_rate Hz, normalised as stored (None) or again
    with `normalisation`."""

    sampling_rate: int
    n_samples: int
    leads: tuple[str, ...] = LEADS
    normalisation: str | None = None

    @property
    def seconds(self) -> float:
        return self.n_samples / self.sampling_rate

    @classmethod
    def of_store(cls, meta: dict, n_samples: int) -> "InputSpec":
        return cls(int(meta["sampling_rate"]), int(n_samples), tuple(meta.get("leads", LEADS)))

    def declared(self, declaration: dict | None, where: str) -> "InputSpec":
        """This (stored) input with a method's declaration applied; `where` names the declaring file."""
        declaration = declaration or {}
        rate = int(declaration.get("sampling_rate", self.sampling_rate))
        seconds = declaration.get("seconds")
        n = self.n_samples if seconds is None and rate == self.sampling_rate else \
            int(round((self.seconds if seconds is None else seconds) * rate))
        leads = tuple(declaration.get("leads", self.leads))
        unknown = [lead for lead in leads if lead not in self.leads]
        if unknown:
            raise ConfigError(f"{where}: input.leads names {unknown}, which the stored signals do not have "
                              f"(they hold {list(self.leads)}); spell the leads as the store does")
        if n < 1:
            raise ConfigError(f"{where}: input of {seconds} s at {rate} Hz holds no sample")
        return InputSpec(rate, n, leads, declaration.get("normalisation"))

    def describe(self) -> str:
        order = "" if self.leads == LEADS else f", leads {'/'.join(self.leads)}"
        norm = f", normalised `{self.normalisation}`" if self.normalisation else ""
        return f"{self.sampling_rate} Hz, {self.seconds:g} s ({self.n_samples} samples){order}{norm}"


class InputAdapter:
    """Turns stored batches (B, leads, T) of `source` into batches of `target` (see the module docstring).
    `identity` when the two agree: the batch is passed through untouched."""

    def __init__(self, source: InputSpec, target: InputSpec):
        self.source, self.target = source, target
        self.lead_index = [source.leads.index(lead) for lead in target.leads]
        self.identity = source == target

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.identity:
            return x
        if x.ndim != 3 or x.shape[1] != len(self.source.leads):
            raise ValueError(f"expected stored batches of shape (batch, {len(self.source.leads)}, time), "
                             f"got {x.shape}")
        x = np.asarray(x[:, self.lead_index], dtype=np.float32)
        x = resample(x, self.source.sampling_rate, self.target.sampling_rate)
        x = np.ascontiguousarray(fit_length(x, self.target.n_samples, crop="start", pad="zero"))
        if self.target.normalisation:
            x = normalise(x, self.target.normalisation)
        return x
