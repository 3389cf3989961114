"""The estimator's own error against published training runs.

For each run (shipped or the user's): estimate compute with 6·N·D (8·N·D where the run's reported
throughput counts recomputation), then accelerator-hours from the run's *own* reported efficiency
(MFU, tokens/s per accelerator, or achieved TFLOP/s per accelerator) and, separately, from a
default MFU for runs that report none. % error = (estimate − reported) / reported × 100.
"""
from __future__ import annotations

import math

import pandas as pd

from core.estimate import training
from core.estimate.catalogue import accelerators, cached, training_runs

DEFAULT_MFU = 0.4


def _num(value) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _error_pct(estimate: float | None, reported: float | None) -> float | None:
    if estimate is None or reported is None or reported == 0:
        return None
    return (estimate - reported) / reported * 100.0


BASIS_LABELS = {"tokens_per_s": "{v:,.0f} tokens/s per accelerator", "tflops": "{v:g} TFLOP/s per accelerator",
                "mfu": "MFU {v:.1%}", "default_mfu": "MFU {v:.0%} (default)"}


def _own_efficiency_hours(run: dict, flops: float, peak_tflops: float | None) -> tuple[float | None, str | None, float | None]:
    """Accelerator-hours from what the run itself reported, with which kind of figure and its value."""
    tokens = run["tokens_b"] * 1e9
    tps = _num(run.get("reported_tokens_per_s_per_accelerator"))
    if tps:
        return training.accelerator_hours_from_throughput(tokens, tps), "tokens_per_s", tps
    achieved = _num(run.get("reported_tflops_per_accelerator"))
    if achieved:
        hardware_flops = training.training_flops(run["params_b"] * 1e9, tokens, recompute=bool(run.get("activation_recompute")))
        return hardware_flops / (achieved * 1e12) / 3600.0, "tflops", achieved
    mfu = _num(run.get("reported_mfu"))
    if mfu and peak_tflops:
        return training.accelerator_hours(flops, peak_tflops, mfu), "mfu", mfu
    return None, None, None


@cached
def validation_table(default_mfu: float = DEFAULT_MFU) -> pd.DataFrame:
    """One row per run: our estimates next to the reported figures, with % errors."""
    if not 0 < default_mfu <= 1:
        raise ValueError("default_mfu must be in (0, 1]")
    peaks = accelerators().set_index("accelerator_id")["bf16_tflops_dense"].to_dict()
    rows = []
    for run in training_runs().to_dict("records"):
        params, tokens = float(run["params_b"]) * 1e9, float(run["tokens_b"]) * 1e9
        peak = _num(peaks.get(run["accelerator_id"]))
        flops = training.training_flops(params, tokens)
        own_hours, kind, value = _own_efficiency_hours(run, flops, peak)
        if kind is None:
            kind, value = "default_mfu", default_mfu
        default_hours = training.accelerator_hours(flops, peak, default_mfu) if peak else None
        reported_hours = _num(run.get("reported_accelerator_hours"))
        reported_days = _num(run.get("reported_days"))
        count = _num(run.get("accelerator_count"))
        best_hours = own_hours if own_hours is not None else default_hours
        est_days = best_hours / count / 24.0 if best_hours and count else None
        rows.append({
            "run_id": run["run_id"], "model": run["model"], "accelerator_id": run["accelerator_id"],
            "accelerator_count": int(count) if count else None, "params_b": run["params_b"], "tokens_b": run["tokens_b"],
            "estimated_flops": flops, "reported_flops": _num(run.get("reported_flops")),
            "flops_error_pct": _error_pct(flops, _num(run.get("reported_flops"))),
            "efficiency_kind": kind, "efficiency_value": value,
            "efficiency_basis": BASIS_LABELS[kind].format(v=value),
            "estimated_accelerator_hours": best_hours,
            "estimated_hours_own": own_hours, "estimated_hours_default_mfu": default_hours,
            "reported_accelerator_hours": reported_hours,
            "hours_error_pct_own": _error_pct(own_hours, reported_hours),
            "hours_error_pct_default_mfu": _error_pct(default_hours, reported_hours),
            "estimated_days": est_days, "reported_days": reported_days,
            "days_error_pct": _error_pct(est_days, reported_days),
            "source_url": run["source_url"], "user_added": bool(run["user_added"]),
        })
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> dict:
    """Median absolute % error per comparison and how many runs each covers."""
    out = {}
    for column in ("flops_error_pct", "hours_error_pct_own", "hours_error_pct_default_mfu", "days_error_pct"):
        values = pd.to_numeric(table[column], errors="coerce").dropna().abs()
        out[column] = {"runs": int(values.size), "median_abs_pct": float(values.median()) if values.size else None}
    return out
