"""A method's declared input: stored signals resampled, cropped or padded, reordered and normalised in one place
(benchmark/inputs.py), checked on known sine waves."""
import numpy as np
import pytest

from benchmark.data.store import LEADS
from benchmark.errors import ConfigError
from benchmark.inputs import InputAdapter, InputSpec

FREQS = np.arange(1, 13) * 1.5   # lead i carries a sine of FREQS[i] Hz (all below 25 Hz)


def sines(rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.sin(2 * np.pi * FREQS[:, None] * t)[None].astype(np.float32)   # (1, 12, T)


def test_downsampling_cropping_and_reordering_keep_each_lead_its_sine():
    stored = InputSpec(500, 5000)                                   # 500 Hz, 10 s
    order = ("V6", "I", "aVF", "aVL", "II")
    target = stored.declared({"sampling_rate": 100, "seconds": 5, "leads": list(order)}, "test")
    assert (target.sampling_rate, target.n_samples, target.leads) == (100, 500, order)
    out = InputAdapter(stored, target)(sines(500, 10))
    assert out.shape == (1, 5, 500) and out.dtype == np.float32
    t = np.arange(500) / 100
    for row, lead in enumerate(order):
        expected = np.sin(2 * np.pi * FREQS[LEADS.index(lead)] * t)
        # the whole record is resampled before the cut, so only the record's start carries filter edge effects
        assert np.abs(out[0, row, 20:] - expected[20:]).max() < 0.02, lead


def test_upsampling_and_zero_padding_a_short_record():
    stored = InputSpec(100, 500)                                    # 100 Hz, 5 s (the demo preset)
    target = stored.declared({"sampling_rate": 500, "seconds": 10}, "test")
    out = InputAdapter(stored, target)(sines(100, 5))
    assert out.shape == (1, 12, 5000)
    t = np.arange(2500) / 500
    assert np.abs(out[0, 0, 100:2400] - np.sin(2 * np.pi * FREQS[0] * t[100:2400])).max() < 0.02
    assert not out[0, :, 2500:].any()                               # the missing 5 s are zeros


def test_declared_normalisation_is_applied_after_the_cut():
    stored = InputSpec(100, 1000)
    x = sines(100, 10) * 3 + 1
    x[0, 2, 700:] = 50                                              # outside the kept 5 s: must not set the range
    lead_range = InputAdapter(stored, stored.declared({"seconds": 5, "normalisation": "lead_range"}, "t"))(x)
    assert np.allclose(lead_range.min(-1), -1, atol=1e-5) and np.allclose(lead_range.max(-1), 1, atol=1e-5)
    minmax = InputAdapter(stored, stored.declared({"normalisation": "minmax"}, "t"))(x)
    assert minmax.min() == pytest.approx(0) and minmax.max() == pytest.approx(1)
    assert minmax[0, 2, 700:].max() == pytest.approx(1)             # one range over all leads


def test_nothing_declared_is_the_identity_and_bad_declarations_name_the_file():
    stored = InputSpec(100, 500)
    x = sines(100, 5)
    adapt = InputAdapter(stored, stored.declared(None, "t"))
    assert adapt.identity and adapt(x) is x
    with pytest.raises(ConfigError, match=r"methods/x/config.yaml: input.leads names \['V7'\]"):
        stored.declared({"leads": ["I", "V7"]}, "methods/x/config.yaml")
