"""Units and number formats shared by the estimators (one place, so no formula repeats them)."""
from __future__ import annotations

import math
import re

GIB = 1024**3  # bytes in a GiB: memory sizes are binary (a "80 GB" HBM part holds 80e9 bytes ≈ 74.5 GiB)
GB = 1e9
SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24.0

# Bytes per stored value. int4 packs two values per byte; NF4 (QLoRA) adds its quantisation
# constants on top, see memory.QLORA_BYTES_PER_PARAM.
DTYPE_BYTES: dict[str, float] = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "int8": 1.0, "int4": 0.5}
DTYPES = ("fp32", "bf16", "int8", "int4")
# Share of an accelerator's memory a model may use; the rest is runtime (CUDA context, allocator).
USABLE_MEMORY_FRACTION = 0.9

_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_NUMBER = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmbgt]?)\s*$", re.IGNORECASE)


def parse_count(text: str) -> float:
    """'7e9', '7B', '1.4T', '380' -> float. Raises ValueError with a readable message."""
    match = _NUMBER.match(str(text))
    if not match:
        raise ValueError(f"not a number: {text!r} (use e.g. 7e9, 7B or 1.4T)")
    value = float(match.group(1)) * _SUFFIX[match.group(2).lower()]
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {text!r}")
    return value


def human(value: float | None, unit: str = "", digits: int = 3) -> str:
    """1.23e23 -> '1.23e+23'; 1234567 -> '1.23M' (short, for metrics)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if abs(value) >= 1e15 or (0 < abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}{unit}"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g}{suffix}{unit}"
    return f"{value:.{digits}g}{unit}"
