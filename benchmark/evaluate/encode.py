"""Running a frozen network over the records of a store (features for the linear probe, ECG embeddings for
zero-shot). torch is imported inside: the linear probe and the statistics start without it."""
from __future__ import annotations

import numpy as np


def embed(fn, signals, rows: np.ndarray, device, batch_size: int, adapt=None) -> np.ndarray:
    """Apply `fn` (a method's `features` or `embed_ecg`) to the given records in batches, in eval mode, after
    `adapt` (benchmark.inputs.InputAdapter: the stored signals -> the method's input)."""
    import torch

    adapt = adapt or (lambda x: x)
    out = []
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            # float32 whatever the store holds (a float16 store is widened batch by batch)
            x = torch.from_numpy(np.ascontiguousarray(adapt(signals[rows[i:i + batch_size]]), dtype=np.float32)).to(device)
            out.append(fn(x).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def load_weights(module, path, what: str) -> None:
    """Load the safetensors file a pre-training step exported into `module`, strictly, and set eval mode."""
    from benchmark.checkpoints import load_strict, read_tensors

    from benchmark.io import remake_advice

    remedy = remake_advice(path)   # an output of the pre-training step
    load_strict(module, read_tensors(path, remedy=remedy), f"{what} from {path}", remedy)
    module.eval()
