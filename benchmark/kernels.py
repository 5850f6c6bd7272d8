"""Which CPU kernels every step runs: `kernels: portable` (the default) or `native` (a preset key).

torch, oneDNN and MKL each pick their kernels by the CPU's vector extensions, and kernels of different widths sum
in different orders: the same code gives other last bits on an AVX-512 and an AVX2 machine, and the difference grows
through training (a 2-core AVX2 EPYC re-running the published local board moved 16 of its 234 marks). `portable`
caps all three at AVX2, which every x86-64 CPU of the last ten years has, so a published number is re-run bit for
bit elsewhere (`python -m benchmark verify`); `native` lets each library take the machine's widest path (faster
where there is AVX-512; the board's header then says the numbers are this machine's). The workflow sets the
variables for every job when it is built (workflow/rules/common.smk); each result records them
(benchmark.runtime.environment). Nothing here imports torch: the variables must be set before torch loads.
"""
from __future__ import annotations

import os
import platform
from functools import lru_cache

from benchmark.errors import ConfigError

SETTINGS = ("portable", "native")
# torch's own kernels (ATen), oneDNN's (convolutions) and MKL's (BLAS, FFT); MKL_CBWR fixes MKL's code path and
# its reductions' order as well (its conditional numerical reproducibility), also across CPU vendors
PORTABLE = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
            "MKL_CBWR": "AVX2"}
# Vector extensions of x86 CPUs that change which kernels run (from /proc/cpuinfo's flags).
VECTOR_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16")


@lru_cache(maxsize=1)
def cpu() -> tuple[str, list[str]]:
    """(CPU model, its vector extensions that change kernels), from /proc/cpuinfo where there is one."""
    model, flags = "", []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not model:
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = [v for v in VECTOR_FLAGS if v in value.split()]
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), flags


def variables(setting: str) -> dict[str, str]:
    """The environment a step runs under for a `kernels` setting; a CPU that cannot take it is refused."""
    if setting not in SETTINGS:
        raise ConfigError(f"kernels is {setting!r}; write portable (AVX2 kernels, reproducible on other CPUs) or "
                          "native")
    if setting == "native":
        return {}
    model, flags = cpu()
    if "avx2" not in flags:
        raise ConfigError(f"kernels: portable pins AVX2 kernels, which this CPU ({model}, {platform.machine()}) does "
                          "not have; set `kernels: native` (--config kernels=native): its numbers are then this "
                          "machine's and may differ in the last bits elsewhere")
    return dict(PORTABLE)


def apply(setting: str) -> dict[str, str]:
    """Set the variables of `setting` in this process's environment, which every job inherits (a variable set by
    hand is overridden under portable and left alone under native); returns them."""
    chosen = variables(setting)
    os.environ.update(chosen)
    return chosen
