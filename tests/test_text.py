"""Frozen text encoders: packaged model, cache reuse, clear error for a model that cannot be found."""
from pathlib import Path

import numpy as np
import pytest

from benchmark import text
from benchmark.text import TextModelNotFound, embed_texts, resolve_model


def test_packaged_minilm_resolves_to_a_local_folder():
    path = resolve_model("all-MiniLM-L6-v2")
    assert (Path(path) / "config.json").is_file() and (Path(path) / "tokenizer.json").is_file()
    assert resolve_model("emilyalsentzer/Bio_ClinicalBERT") == "emilyalsentzer/Bio_ClinicalBERT"  # Hub id kept


def test_embeddings_are_cached_and_reused(tmp_path, monkeypatch):
    texts = ["atrial fibrillation with rapid ventricular response", "normal sinus rhythm, normal ECG",
             "this ECG indicates atrial fibrillation"]
    first = embed_texts("all-MiniLM-L6-v2", texts, tmp_path)
    assert first.shape == (3, 384) and np.isfinite(first).all()
    # the frozen model's geometry is meaningful: the AF prompt is closer to the AF report
    unit = first / np.linalg.norm(first, axis=1, keepdims=True)
    assert unit[2] @ unit[0] > unit[2] @ unit[1]

    def no_model(*a, **k):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(text, "FrozenTextEncoder", no_model)
    again = embed_texts("all-MiniLM-L6-v2", texts, tmp_path)
    assert np.array_equal(first, again)
    with pytest.raises(AssertionError):  # other texts are a different cache entry
        embed_texts("all-MiniLM-L6-v2", texts[:2], tmp_path)


def test_missing_model_gets_a_clear_error(tmp_path):
    with pytest.raises(TextModelNotFound, match=r"cannot load text model .*local folder"):
        text.FrozenTextEncoder(str(tmp_path / "no-such-model"))
