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


def _tiny_bert(folder: Path, seed: int) -> None:
    """A BERT (transformers BertModel + a WordPiece tokenizer wrapped as BertTokenizerFast), saved into `folder`."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(["sinus rhythm normal ECG", "atrial fibrillation", "Sinusrhythmus Linkstyp"],
                            trainers.WordPieceTrainer(vocab_size=200, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                                                      "[MASK]"]))
    BertTokenizerFast(tokenizer_object=tok, do_lower_case=False).save_pretrained(folder)
    torch.manual_seed(seed)
    BertModel(BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(folder)


def test_a_model_saved_again_into_the_same_folder_is_embedded_again(tmp_path):
    """A local folder is identified by what it holds, not by its path: the rehearsal (scripts/rehearse.py) builds its
    BERT into a folder, and a rebuilt model in the same folder must not be served the old model's cached embeddings."""
    folder, cache = tmp_path / "bert", tmp_path / "cache"
    texts = ["sinus rhythm", "atrial fibrillation"]
    _tiny_bert(folder, seed=0)
    first = embed_texts(str(folder), texts, cache)
    assert first.shape == (2, 32)
    assert np.array_equal(embed_texts(str(folder), texts, cache), first)      # same folder, same files: cached
    _tiny_bert(folder, seed=1)                                                # another model, same path
    second = embed_texts(str(folder), texts, cache)
    assert not np.allclose(first, second)
    assert text.model_fingerprint("emilyalsentzer/Bio_ClinicalBERT") is None  # a Hub id: its name identifies it
