"""One configuration across every accelerator or every dtype: the tables behind the pages' charts.

Inference and memory are evaluated per accelerator with the pure functions (a few dozen rows);
training sweeps over sizes × budgets × counts live in sweep.py as SQL.
"""
from __future__ import annotations

import pandas as pd

from core.estimate.architecture import Architecture
from core.estimate.catalogue import Accelerator, accelerator, accelerators, cached
from core.estimate.inference import estimate_inference
from core.estimate.memory import training_memory
from core.estimate.units import DTYPES, USABLE_MEMORY_FRACTION


def _price(acc: Accelerator, override: float | None) -> float | None:
    return override if override is not None else acc.usd_per_accelerator_hour


def inference_on(arch: Architecture, accelerator_id: str, table: pd.DataFrame | None = None, *,
                 usd_per_accelerator_hour: float | None = None, **settings):
    """estimate_inference on one catalogue accelerator (price from the catalogue unless given)."""
    acc = accelerator(accelerator_id, table)
    return estimate_inference(arch, peak_tflops=acc.bf16_tflops_dense, bandwidth_tbs=acc.bandwidth_tbs,
                              memory_gib=acc.memory_gib, usd_per_accelerator_hour=_price(acc, usd_per_accelerator_hour),
                              **settings)


@cached
def inference_across_accelerators(arch: Architecture, **settings) -> pd.DataFrame:
    """Per accelerator: weights / KV cache / activations GiB against capacity, speed and cost."""
    table = accelerators()
    rows = []
    for accelerator_id, name in zip(table["accelerator_id"], table["name"]):
        est = inference_on(arch, accelerator_id, table, **settings)
        rows.append({"accelerator_id": accelerator_id, "name": name} | est.as_dict())
    return pd.DataFrame(rows)


@cached
def inference_across_dtypes(arch: Architecture, accelerator_id: str, **settings) -> pd.DataFrame:
    """The same serving setup with fp32 / bf16 / int8 / int4 weights."""
    settings.pop("dtype", None)
    rows = []
    for dtype in DTYPES:
        est = inference_on(arch, accelerator_id, dtype=dtype, **settings)
        rows.append({"dtype": dtype} | est.as_dict())
    return pd.DataFrame(rows)


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
