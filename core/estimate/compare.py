"""One configuration across every accelerator or every dtype: the tables behind the pages' charts.

Inference and memory are evaluated per accelerator with the pure functions (a few dozen rows);
training sweeps over sizes × budgets × counts live in sweep.py as SQL.
"""
from __future__ import annotations

import pandas as pd

from core.estimate.architecture import Architecture
from core.estimate.catalogue import Accelerator, accelerator, accelerator_list, accelerators, cached
from core.estimate.inference import estimate_inference
from core.estimate.memory import training_memory
from core.estimate.units import DTYPES, USABLE_MEMORY_FRACTION


def _price(acc: Accelerator, override: float | None) -> float | None:
    return override if override is not None else acc.usd_per_accelerator_hour


def inference_on(arch: Architecture, accelerator_id: str | Accelerator, table: pd.DataFrame | None = None, *,
                 usd_per_accelerator_hour: float | None = None, **settings):
    """estimate_inference on one catalogue accelerator (price from the catalogue unless given)."""
    acc = accelerator_id if isinstance(accelerator_id, Accelerator) else accelerator(accelerator_id, table)
    return estimate_inference(arch, peak_tflops=acc.bf16_tflops_dense, bandwidth_tbs=acc.bandwidth_tbs,
                              memory_gib=acc.memory_gib, usd_per_accelerator_hour=_price(acc, usd_per_accelerator_hour),
                              **settings)


@cached
def inference_across_accelerators(arch: Architecture, **settings) -> pd.DataFrame:
    """Per accelerator: weights / KV cache / activations GiB against capacity, speed and cost."""
    return pd.DataFrame([{"accelerator_id": acc.accelerator_id, "name": acc.name}
                         | inference_on(arch, acc, **settings).as_dict() for acc in accelerator_list()])


@cached
def inference_across_dtypes(arch: Architecture, accelerator_id: str, **settings) -> pd.DataFrame:
    """The same serving setup with fp32 / bf16 / int8 / int4 weights."""
    settings.pop("dtype", None)
    acc = accelerator(accelerator_id)
    return pd.DataFrame([{"dtype": dtype} | inference_on(arch, acc, dtype=dtype, **settings).as_dict() for dtype in DTYPES])


@cached
def training_memory_across_accelerators(arch: Architecture, **settings) -> pd.DataFrame:
    """Per accelerator: the (accelerator-independent) memory per device against each capacity."""
    table = accelerators()
    mem = training_memory(arch.params_count, arch=arch, **settings)
    out = table[["accelerator_id", "name", "memory_gib"]].rename(columns={"memory_gib": "capacity_gib"}).copy()
    for key, value in mem.as_dict().items():
        out[key] = value
    out["fits"] = out["total_gib"] <= out["capacity_gib"] * USABLE_MEMORY_FRACTION
    return out
