"""Training compute, time, money and energy: pure functions, units in the names.

Sources (each formula is cited here once):
- Kaplan et al. 2020, "Scaling Laws for Neural Language Models", Sec. 2.1 / Table 1: a forward pass
  costs ≈ 2N FLOPs per token and the backward pass twice that, so training costs C ≈ 6·N·D.
- Full activation recomputation (Chen et al. 2016; Korthikanti et al. 2022, Sec. 5) runs every
  forward pass a second time during the backward pass: C ≈ 8·N·D of hardware work.
- Hoffmann et al. 2022 ("Chinchilla"), Sec. 3 and Table 3: compute-optimal D ≈ 20·N.
- Model FLOPs utilisation (MFU, Chowdhery et al. 2022 "PaLM", App. B): achieved model FLOP/s over
  the accelerator's peak. Accelerator-hours = C / (peak dense bf16 FLOP/s × MFU) / 3600.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from core.estimate.units import HOURS_PER_DAY, SECONDS_PER_HOUR

FLOPS_PER_PARAM_TOKEN = 6.0  # Kaplan et al. 2020
FLOPS_PER_PARAM_TOKEN_RECOMPUTE = 8.0  # + one recomputed forward pass
CHINCHILLA_TOKENS_PER_PARAM = 20.0  # Hoffmann et al. 2022

# Hoffmann et al. 2022, Table 3 (approach 1): parameters, FLOPs, tokens at the compute optimum.
CHINCHILLA_TABLE3: tuple[tuple[float, float, float], ...] = (
    (400e6, 1.92e19, 8.0e9),
    (1e9, 1.21e20, 20.2e9),
    (10e9, 1.23e22, 205.1e9),
    (67e9, 5.76e23, 1.5e12),
    (175e9, 3.85e24, 3.7e12),
    (280e9, 9.90e24, 5.9e12),
    (520e9, 3.43e25, 11.0e12),
    (1e12, 1.27e26, 21.2e12),
    (10e12, 1.30e28, 216.2e12),
)


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def training_flops(params: float, tokens: float, recompute: bool = False) -> float:
    """Total training FLOPs: 6·N·D, or 8·N·D with full activation recomputation.

    params: N, trainable-and-used parameters (not billions); tokens: D, training tokens.
    """
    per = FLOPS_PER_PARAM_TOKEN_RECOMPUTE if recompute else FLOPS_PER_PARAM_TOKEN
    return per * _positive("params", params) * _positive("tokens", tokens)


def chinchilla_optimal_tokens(params: float) -> float:
    """Compute-optimal training tokens D ≈ 20·N (Hoffmann et al. 2022)."""
    return CHINCHILLA_TOKENS_PER_PARAM * _positive("params", params)


def accelerator_hours(flops: float, peak_tflops: float, mfu: float) -> float:
    """Accelerator-hours = FLOPs / (peak dense TFLOP/s × 1e12 × MFU) / 3600."""
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu must be in (0, 1], got {mfu!r}")
    return _positive("flops", flops) / (_positive("peak_tflops", peak_tflops) * 1e12 * mfu) / SECONDS_PER_HOUR


def accelerator_hours_from_throughput(tokens: float, tokens_per_second_per_accelerator: float) -> float:
    """When a run reports tokens/s per accelerator instead of an MFU: D / throughput / 3600."""
    return _positive("tokens", tokens) / _positive("tokens_per_second", tokens_per_second_per_accelerator) / SECONDS_PER_HOUR


def mfu_from_throughput(params: float, tokens_per_second_per_accelerator: float, peak_tflops: float) -> float:
    """The MFU implied by a throughput: 6·N·(tokens/s) / peak."""
    return FLOPS_PER_PARAM_TOKEN * params * tokens_per_second_per_accelerator / (peak_tflops * 1e12)


def training_time_seconds(params: float, tokens: float, *, achieved_flops_per_second: float | None = None,
                          tokens_per_second: float | None = None, recompute: bool = False) -> float:
    """Seconds to train on any device (CPU included) from one measured throughput.

    Give either the achieved FLOP/s (time = 6·N·D / FLOP/s, 8·N·D with recompute) or the measured
    training tokens/s (time = D / tokens/s). Example for the studio, after timing a few steps:
    training_time_seconds(13.9e6, 5e6, tokens_per_second=1000) -> 5000.0
    """
    if (achieved_flops_per_second is None) == (tokens_per_second is None):
        raise ValueError("give exactly one of achieved_flops_per_second or tokens_per_second")
    if tokens_per_second is not None:
        return _positive("tokens", tokens) / _positive("tokens_per_second", tokens_per_second)
    return training_flops(params, tokens, recompute) / _positive("achieved_flops_per_second", achieved_flops_per_second)


def wall_clock_hours(accelerator_hours_: float, count: int) -> float:
    """Ideal scaling: k accelerators share the work evenly."""
    if not (isinstance(count, int) and count >= 1):
        raise ValueError(f"count must be an integer >= 1, got {count!r}")
    return _positive("accelerator_hours", accelerator_hours_) / count


def cost_usd(accelerator_hours_: float, usd_per_accelerator_hour: float | None) -> float | None:
    if usd_per_accelerator_hour is None or (isinstance(usd_per_accelerator_hour, float) and math.isnan(usd_per_accelerator_hour)):
        return None
    return accelerator_hours_ * usd_per_accelerator_hour


def energy_kwh(accelerator_hours_: float, board_power_w: float | None, pue: float = 1.2) -> float | None:
    """Energy at full board power times the data centre's PUE (an upper bound for the chips)."""
    if board_power_w is None or (isinstance(board_power_w, float) and math.isnan(board_power_w)):
        return None
    if not 1 <= pue <= 3:
        raise ValueError(f"pue must be between 1 and 3, got {pue!r}")
    return accelerator_hours_ * board_power_w / 1000.0 * pue


def accelerators_for_deadline(accelerator_hours_: float, deadline_hours: float) -> int:
    """Smallest k with accelerator_hours / k <= deadline (ideal scaling)."""
    return max(1, math.ceil(_positive("accelerator_hours", accelerator_hours_) / _positive("deadline_hours", deadline_hours) - 1e-9))


@dataclass(frozen=True)
class TrainingEstimate:
    flops: float
    accelerator_hours: float
    wall_clock_hours: float
    wall_clock_days: float
    cost_usd: float | None
    energy_kwh: float | None
    chinchilla_tokens: float
    tokens_per_param: float
    usd_per_accelerator_hour: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def estimate_training(
    params: float,
    tokens: float,
    peak_tflops: float,
    count: int,
    mfu: float = 0.4,
    usd_per_accelerator_hour: float | None = None,
    board_power_w: float | None = None,
    pue: float = 1.2,
    recompute: bool = False,
    tokens_per_second_per_accelerator: float | None = None,
) -> TrainingEstimate:
    """Everything the Training cost page and `estimate training` show, from plain numbers.

    With tokens_per_second_per_accelerator the time comes from the throughput (MFU is ignored).
    """
    flops = training_flops(params, tokens, recompute)
    if tokens_per_second_per_accelerator:
        hours = accelerator_hours_from_throughput(tokens, tokens_per_second_per_accelerator)
    else:
        hours = accelerator_hours(flops, peak_tflops, mfu)
    wall = wall_clock_hours(hours, count)
    return TrainingEstimate(
        flops=flops,
        accelerator_hours=hours,
        wall_clock_hours=wall,
        wall_clock_days=wall / HOURS_PER_DAY,
        cost_usd=cost_usd(hours, usd_per_accelerator_hour),
        energy_kwh=energy_kwh(hours, board_power_w, pue),
        chinchilla_tokens=chinchilla_optimal_tokens(params),
        tokens_per_param=tokens / params,
        usd_per_accelerator_hour=usd_per_accelerator_hour,
    )
