"""Which dtype the prompt-side matrix products (prefill, label scoring, batched evaluation) run in,
chosen by measurement once per process.

The two CPU kinds this project runs on differ by 5x here: on an Intel Xeon with AMX, a
(300 x 896) @ (896 x 4864) product took 1.3 ms in bf16 and 7.7 ms in fp32; on an AMD EPYC without
bf16 instructions, bf16 is several times slower than fp32 (DATA_SOURCES.md: a 512-token SmolLM2
prefill 8.4-9.9 s in bf16 vs 1.4 s in fp32). So `prefill_autocast()` times both on a
prefill-shaped product and enables bf16 autocast only where it is clearly faster (>= 1.5x);
weights stay fp32 in memory and the decode step is not affected. OPPLAB_PREFILL_DTYPE=fp32|bf16
overrides the measurement.
"""
from __future__ import annotations

import contextlib
import os
import time

import torch

_choice: list[torch.dtype] = []


def _fastest(fns, reps: int = 15) -> list[float]:
    """Best time of each function over `reps` interleaved rounds (after warm-up calls), so that a
    burst of load from another process hits both alike; the minimum is the least disturbed run."""
    for fn in fns:
        fn()
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(reps):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def prefill_dtype() -> torch.dtype:
    if _choice:
        return _choice[0]
    forced = os.environ.get("OPPLAB_PREFILL_DTYPE", "").strip().lower()
    if forced in ("fp32", "bf16"):
        _choice.append(torch.bfloat16 if forced == "bf16" else torch.float32)
        return _choice[0]
    x, w = torch.randn(128, 896), torch.randn(2048, 896)
    xb, wb = x.bfloat16(), w.bfloat16()
    with torch.inference_mode():
        fp32, bf16 = _fastest([lambda: torch.nn.functional.linear(x, w), lambda: torch.nn.functional.linear(xb, wb)])
    _choice.append(torch.bfloat16 if bf16 * 1.5 <= fp32 else torch.float32)
    return _choice[0]


def prefill_autocast(device: torch.device | str = "cpu"):
    """A context for prompt-side forwards: bf16 autocast on CPUs where it measured faster."""
    if torch.device(device).type != "cpu" or prefill_dtype() != torch.bfloat16:
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=torch.bfloat16)
