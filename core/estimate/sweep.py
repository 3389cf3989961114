"""Sweeps as SQL over the catalogue: every accelerator × model size × token budget × count.

The formulas are those of core.estimate.training (6·N·D or 8·N·D, hours = FLOPs / (peak × MFU),
cost = hours × price, energy = hours × power × PUE), written once more as one DuckDB query so a
million scenarios cost one vectorised scan instead of a million Python calls. tests pin the SQL
to the Python functions. User accelerators travel as bound list parameters (unnest), so the query
covers them without writing to the read-only catalogue.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from core import catalog
from core.estimate.catalogue import cached, user_accelerators

_ACCELERATORS_CTE = """
acc AS (
    SELECT a.accelerator_id, a.name, a.bf16_tflops_dense::DOUBLE AS tflops, a.board_power_w::DOUBLE AS power_w,
           (SELECT p.usd_per_accelerator_hour FROM accelerator_prices p
             WHERE p.accelerator_id = a.accelerator_id
             ORDER BY (p.pricing = 'on-demand') DESC, p.usd_per_accelerator_hour LIMIT 1)::DOUBLE AS usd_per_hour
    FROM accelerators a
    UNION ALL
    SELECT unnest($user_ids::VARCHAR[]), unnest($user_names::VARCHAR[]), unnest($user_tflops::DOUBLE[]),
           unnest($user_power::DOUBLE[]), unnest($user_price::DOUBLE[])
)"""

_SWEEP_SQL = f"""
WITH {_ACCELERATORS_CTE},
sizes AS (SELECT unnest($params::DOUBLE[]) AS params),
budgets AS (SELECT unnest($tokens::DOUBLE[]) AS tokens),
counts AS (SELECT unnest($counts::BIGINT[]) AS n),
scenarios AS (
    SELECT acc.accelerator_id, acc.name, params, tokens, n AS count,
           $flops_per_param_token * params * tokens AS flops,
           $flops_per_param_token * params * tokens / (tflops * 1e12 * $mfu) / 3600.0 AS accelerator_hours,
           usd_per_hour, power_w
    FROM acc, sizes, budgets, counts
    WHERE $only_accelerator IS NULL OR acc.accelerator_id = $only_accelerator
)
SELECT accelerator_id, name, params, tokens, count, flops, accelerator_hours,
       accelerator_hours / count AS wall_clock_hours,
       accelerator_hours / count / 24.0 AS wall_clock_days,
       accelerator_hours * usd_per_hour AS cost_usd,
       accelerator_hours * power_w / 1000.0 * $pue AS energy_kwh,
       usd_per_hour
FROM scenarios
"""


def _user_params() -> dict:
    user = user_accelerators()
    return {
        "user_ids": user["accelerator_id"].tolist(),
        "user_names": user["name"].tolist(),
        "user_tflops": [float(v) for v in user["bf16_tflops_dense"]],
        "user_power": [None if pd.isna(v) else float(v) for v in user["board_power_w"]],
        "user_price": [None if pd.isna(v) else float(v) for v in user["usd_per_accelerator_hour"]],
    }


def sweep_params(params: Sequence[float], tokens: Sequence[float], counts: Sequence[int], *, mfu: float = 0.4,
                 pue: float = 1.2, recompute: bool = False, accelerator_id: str | None = None,
                 include_user: bool = True) -> dict:
    """The bound parameters of the sweep query (exposed for the benchmark)."""
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu must be in (0, 1], got {mfu!r}")
    values = {
        "params": [float(p) for p in params], "tokens": [float(t) for t in tokens],
        "counts": [int(c) for c in counts], "mfu": float(mfu), "pue": float(pue),
        "flops_per_param_token": 8.0 if recompute else 6.0, "only_accelerator": accelerator_id,
    }
    if min(values["params"] + values["tokens"], default=1) <= 0 or min(values["counts"], default=1) < 1:
        raise ValueError("params and tokens must be positive and counts >= 1")
    user = _user_params() if include_user else {"user_ids": [], "user_names": [], "user_tflops": [],
                                                "user_power": [], "user_price": []}
    return values | user


def training_sweep(params: Sequence[float], tokens: Sequence[float], counts: Sequence[int], **kwargs) -> pd.DataFrame:
    """One row per accelerator × size × budget × count, with flops, hours, days, cost, energy."""
    return catalog.query(_SWEEP_SQL + " ORDER BY accelerator_id, params, tokens, count",
                         sweep_params(params, tokens, counts, **kwargs))


@cached
def compare_accelerators(params: float, tokens: float, count: int, **kwargs) -> pd.DataFrame:
    """Cost and time of one training job on every accelerator (the page's chart)."""
    return catalog.query(_SWEEP_SQL + " ORDER BY cost_usd NULLS LAST",
                         sweep_params([params], [tokens], [count], **kwargs))


_DEADLINE_SQL = f"""
WITH {_ACCELERATORS_CTE},
job AS (
    SELECT acc.accelerator_id, acc.name, usd_per_hour,
           $flops_per_param_token * $param * $token / (tflops * 1e12 * $mfu) / 3600.0 AS accelerator_hours
    FROM acc
)
SELECT accelerator_id, name, accelerator_hours,
       greatest(1, ceil(accelerator_hours / $deadline_hours - 1e-9))::BIGINT AS accelerators_needed,
       accelerator_hours / greatest(1, ceil(accelerator_hours / $deadline_hours - 1e-9)) / 24.0 AS wall_clock_days,
       accelerator_hours * usd_per_hour AS cost_usd
FROM job
ORDER BY cost_usd NULLS LAST, accelerators_needed
"""


@cached
def accelerators_for_deadline(params: float, tokens: float, deadline_days: float, *, mfu: float = 0.4,
                              recompute: bool = False) -> pd.DataFrame:
    """How many of each accelerator finish the job within the deadline (ideal scaling), and the cost."""
    if not deadline_days > 0:
        raise ValueError("deadline_days must be positive")
    values = sweep_params([params], [tokens], [1], mfu=mfu, recompute=recompute)
    bound = {k: values[k] for k in ("user_ids", "user_names", "user_tflops", "user_power", "user_price",
                                    "mfu", "flops_per_param_token")}
    bound |= {"param": float(params), "token": float(tokens), "deadline_hours": float(deadline_days) * 24.0}
    return catalog.query(_DEADLINE_SQL, bound)
