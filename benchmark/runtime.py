"""Device, threads, seeds and determinism: facts about where and how a step runs, recorded with every result so
that two runs that differ can say why (which code ran: benchmark.provenance).

Determinism. Every step seeds Python, NumPy and torch, and turns on `torch.use_deterministic_algorithms`: on the
CPU the same code, stack and thread count then give bit-identical weights (tests/test_determinism.py). On a GPU
it also turns off cuDNN's autotuner and selects deterministic cuDNN and cuBLAS kernels (CUBLAS_WORKSPACE_CONFIG);
there an operation without a deterministic kernel warns in the job's log instead of stopping the run
(`warn_only`), and the run records which it was. What it costs on a GPU is not measured yet (no GPU was
available to the sessions that built this): cuDNN may pick slower deterministic algorithms and its autotuner is
off; `pretrain.deterministic: false` trades reproducibility for that speed. The evaluation steps always run
deterministically. Across machines the numbers still differ in the last bits (other CPU vector paths, other
library versions): `environment()` records what would explain it.
"""
from __future__ import annotations

import os
import platform
import random
from importlib import metadata

import numpy as np
import torch

from benchmark.errors import ConfigError
from benchmark.kernels import PORTABLE, cpu

# Libraries whose kernels decide a result's last bits; their versions go into every result.
STACK = ("torch", "numpy", "scipy", "scikit-learn", "transformers")
# Environment variables that pin the code paths of torch's own kernels, oneDNN and MKL (benchmark.kernels).
CODE_PATH_VARIABLES = tuple(PORTABLE)


def pick_device(setting: str) -> torch.device:
    if setting == "auto":
        setting = "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigError("config asks for device: cuda but no CUDA GPU is visible; use device: auto or cpu")
    if setting == "cuda" and not torch.are_deterministic_algorithms_enabled():
        # fixed input shapes: let cuDNN pick the fastest convolution algorithms once (not reproducible bit for bit)
        torch.backends.cudnn.benchmark = True
    return torch.device(setting)


def setup(threads: int | None, seed: int | None = None, deterministic: bool = True) -> None:
    """Threads, seeds and deterministic algorithms for this process (call before any CUDA work)."""
    if threads:
        torch.set_num_threads(threads)
    if seed is not None:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS' reproducible workspace
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=torch.cuda.is_available())
    else:
        torch.use_deterministic_algorithms(False)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    n = torch.get_num_threads()
    return f"CPU ({platform.processor() or platform.machine()}, {n} thread{'s' if n != 1 else ''})"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment(device: torch.device | None = None) -> dict:
    """What a step ran on, as far as it can move a number: library versions, the CPU and the vector paths its
    kernels took (or the GPU, CUDA and cuDNN), threads, and whether deterministic algorithms were on."""
    model, flags = cpu()
    env = {"stack": {p: _version(p) for p in STACK} | {"torch": torch.__version__},
           "python": platform.python_version(), "cpu": model, "cpu_vector_extensions": flags,
           "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "code_path_variables": {v: os.environ[v] for v in CODE_PATH_VARIABLES if v in os.environ},
           "threads": torch.get_num_threads(), "deterministic": torch.are_deterministic_algorithms_enabled()}
    if device is not None and device.type == "cuda":
        env.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version(),
                   deterministic_warn_only=torch.is_deterministic_algorithms_warn_only_enabled())
    return env


def describe(env: dict) -> str:
    """One line of an environment() record, for the board's header."""
    stack = ", ".join(f"{p} {v}" for p, v in env["stack"].items() if v)
    where = (f"{env['gpu']} (CUDA {env['cuda']}, cuDNN {env['cudnn']})" if env.get("gpu") else
             f"{env['cpu']} ({'/'.join(env['cpu_vector_extensions']) or 'no x86 vector flags read'}; torch kernels "
             f"{env['torch_cpu_capability']}"
             + "".join(f", {k}={v}" for k, v in env.get("code_path_variables", {}).items()) + ")")
    threads = env["threads"]
    return (f"{stack}; {where}; {threads} thread{'s' if threads != 1 else ''} per job; deterministic algorithms "
            + ("on" + (" (warn-only)" if env.get("deterministic_warn_only") else "") if env["deterministic"]
               else "off"))
