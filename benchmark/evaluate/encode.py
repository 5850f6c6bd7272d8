"""Running a frozen network over the records of a store (features for the linear probe, ECG embeddings for
zero-shot). torch is imported inside: the linear probe and the statistics start without it."""
from __future__ import annotations

import numpy as np

from benchmark.errors import BenchmarkError


def embed(fn, signals, rows: np.ndarray, device, batch_size: int, adapt=None) -> np.ndarray:
    """Apply `fn` (a method's `features` or `embed_ecg`) to the given records in batches, in eval mode, after
    `adapt` (benchmark.inputs.InputAdapter: the stored signals -> the method's input)."""
    import torch

    adapt = adapt or (lambda x: x)
    out = []
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(adapt(signals[rows[i:i + batch_size]]))).to(device)
            out.append(fn(x).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def load_weights(module, path, what: str) -> None:
    from safetensors.torch import load_file

    try:
        module.load_state_dict(load_file(str(path)))
    except (FileNotFoundError, RuntimeError) as e:
        raise BenchmarkError(f"cannot load {what} from {path}: {str(e).splitlines()[0]}; re-run its pre-training") from None
    module.eval()
