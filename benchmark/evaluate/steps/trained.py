"""A method as its pre-training step exported it, for the steps that run it (features, zero-shot): built by its
folder (`build_encoder`, the input it declares) and loaded from the weights that step exported, whether it trained
them, exported an initialisation or loaded a published checkpoint. Stored signals reach it through
benchmark.inputs (resampled, cropped and reordered to its input, in one place)."""
from __future__ import annotations

from benchmark import paths
from benchmark.evaluate.encode import load_weights
from benchmark.evaluate.steps.common import train_log
from benchmark.inputs import InputAdapter, InputSpec
from benchmark.method import build_method, load_method


def load_trained(config: dict, name: str, seed: int, store, device):
    """(spec, the method as its pre-training step exported it, the adapter from `store` to its input)."""
    spec = load_method(paths.method_folder(name, paths.methods_dir(config)))
    info = train_log(config, name, seed)
    # built as it was pre-trained (heads may depend on the input length); this store is adapted to that input
    trained = InputSpec(int(info["sampling_rate"]), int(info["n_samples"]))
    method = build_method(spec, config, trained, info.get("text_dim"))
    load_weights(method, paths.pretrain_dir(config, name, seed) / "model.safetensors", f"method {name}")
    return spec, method.to(device), InputAdapter(InputSpec.of_store(store.meta, store.signals.shape[-1]),
                                                 method.input_spec)
