"""Device, threads and seeds: facts about where and how a step runs (which code ran: benchmark.provenance)."""
from __future__ import annotations

import platform
import random

import numpy as np
import torch

from benchmark.errors import ConfigError


def pick_device(setting: str) -> torch.device:
    if setting == "auto":
        setting = "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigError("config asks for device: cuda but no CUDA GPU is visible; use device: auto or cpu")
    if setting == "cuda":
        # fixed input shapes: let cuDNN pick the fastest convolution algorithms once
        torch.backends.cudnn.benchmark = True
    return torch.device(setting)


def setup(threads: int | None, seed: int | None = None) -> None:
    if threads:
        torch.set_num_threads(threads)
    if seed is not None:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"CPU ({platform.processor() or platform.machine()}, {n} thread{'s' if n != 1 else ''})"
