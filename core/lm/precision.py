"""Which dtype the prompt-side matrix products (prefill, label scoring, batched evaluation) run in,
chosen by measurement once per machine (kept in the state directory).

The two CPU kinds this project runs on differ by 5x here: on an Intel Xeon with AMX, a
(300 x 896) @ (896 x 4864) product took 1.3 ms in bf16 and 7.7 ms in fp32; on an AMD EPYC without
bf16 instructions, bf16 is several times slower than fp32 (docs/data-sources.md: a 512-token SmolLM2
prefill 8.4-9.9 s in bf16 vs 1.4 s in fp32). So `prefill_autocast()` times both on a
prefill-shaped product and enables bf16 autocast only where it is clearly faster (>= 1.5x per
token) and only for prompts long enough to earn back autocast's cast of the weights (measured
too); weights stay fp32 in memory and the decode step is not affected. OPPLAB_PREFILL_DTYPE=fp32|bf16
overrides the measurement (bf16 then for every length).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time

import torch

_choice: list[tuple[torch.dtype, int]] = []  # (dtype, fewest prompt tokens worth bf16), once measured


def _fastest(fns, reps: int = 7) -> list[float]:
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


def _measure() -> tuple[torch.dtype, int]:
    """Time a prefill-shaped product (rows = prompt tokens) in fp32 and under bf16 autocast over the
    same fp32 weight, at a short and a long prompt. Autocast casts the weight to bf16 on every
    call, a fixed cost per product that a short prompt does not earn back (on the AMX Xeon a
    48-token SmolLM2 prefill took 159 ms in fp32 and 252 ms in bf16, a 512-token one 947 vs 518 ms,
    before the vocabulary head was taken out of autocast; most of that fixed cost was the head's).
    A line through the two points per dtype gives the prompt length from which bf16 is faster."""
    w = torch.randn(2048, 896)
    short, long_ = 32, 512
    xs, xl = torch.randn(short, 896), torch.randn(long_, 896)

    def bf16(x):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return torch.nn.functional.linear(x, w)

    with torch.inference_mode():
        f_s, f_l, b_s, b_l = _fastest([lambda: torch.nn.functional.linear(xs, w), lambda: torch.nn.functional.linear(xl, w),
                                       lambda: bf16(xs), lambda: bf16(xl)])
    per_f, per_b = (f_l - f_s) / (long_ - short), (b_l - b_s) / (long_ - short)
    if per_b * 1.5 > per_f:  # bf16 not clearly faster per token (e.g. no AMX/avx512_bf16): never
        return torch.float32, 0
    fixed_f, fixed_b = f_s - per_f * short, b_s - per_b * short
    return torch.bfloat16, max(1, int((fixed_b - fixed_f) / (per_f - per_b)) + 1)


def machine_key() -> str:
    """What the measurement depends on: the CPU (model name and instruction flags), the core count
    and the torch build. A state directory shared by machines of different kinds keeps one entry each."""
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            info = fh.read()
        fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        cpu = " ".join(fields.get(k, "").strip() for k in ("model name\t", "flags\t\t"))
    except OSError:
        pass
    raw = f"{cpu}|{os.cpu_count()}|{torch.__version__}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _calibration_file():
    from core.config import get_settings

    return get_settings().state_dir / "calibration.json"


def _measured() -> tuple[torch.dtype, int]:
    """The measurement, kept per machine in $OPPLAB_STATE_DIR/calibration.json: on the AVX2-only
    EPYC timing bf16 (emulated there) costs seconds, which every new process (each CLI call, each
    server start) paid before its first answer. An unreadable or foreign file is measured anew."""
    path, key = _calibration_file(), machine_key()
    try:
        saved = json.loads(path.read_text(encoding="utf-8")).get("prefill", {}).get(key)
        if saved and saved.get("dtype") in ("fp32", "bf16"):
            return (torch.bfloat16 if saved["dtype"] == "bf16" else torch.float32), int(saved["min_tokens"])
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    dtype, min_tokens = _measure()
    try:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            doc = doc if isinstance(doc, dict) else {}
        except (OSError, ValueError):
            doc = {}
        doc.setdefault("prefill", {})[key] = {"dtype": "bf16" if dtype == torch.bfloat16 else "fp32",
                                              "min_tokens": min_tokens, "measured": time.strftime("%Y-%m-%d")}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        os.replace(tmp, path)  # atomic: concurrent processes never read half a file
    except OSError:
        pass  # a read-only state directory: measured again next time
    return dtype, min_tokens


def _decide() -> tuple[torch.dtype, int]:
    if not _choice:
        from core.config import get_settings

        forced = get_settings().prefill_dtype
        if forced:
            _choice.append((torch.bfloat16 if forced == "bf16" else torch.float32, 0))
        else:
            _choice.append(_measured())
    return _choice[0]


def prefill_dtype(tokens: int | None = None) -> torch.dtype:
    """The dtype for a prompt-side forward over `tokens` positions (None: a large batch)."""
    dtype, min_tokens = _decide()
    if dtype == torch.bfloat16 and tokens is not None and tokens < min_tokens:
        return torch.float32
    return dtype


def prefill_autocast(device: torch.device | str = "cpu", tokens: int | None = None):
    """A context for prompt-side forwards: bf16 autocast on CPUs where it measured faster for a
    forward over `tokens` positions (all the rows of the batch; None for a large batch)."""
    if torch.device(device).type != "cpu" or prefill_dtype(tokens) != torch.bfloat16:
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=torch.bfloat16)
