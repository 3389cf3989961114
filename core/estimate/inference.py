"""Inference memory, speed and cost from a roofline: pure functions, units in the names.

Sources:
- KV cache (Pope et al. 2022, "Efficiently Scaling Transformer Inference", Sec. 2; Ainslie et al.
  2023 for GQA): each layer stores a key and a value vector per KV head per token:
  bytes = 2 × layers × kv_heads × head_dim × tokens × batch × bytes_per_value. Under GQA/MQA
  kv_heads < heads, so the cache shrinks by heads / kv_heads.
- Roofline (Williams et al. 2009): a step takes max(FLOPs / compute, bytes / bandwidth).
  Prefill is compute-bound: ≈ 2·N FLOPs per prompt token plus attention 2·L·s²·h per sequence
  (Kaplan et al. 2020, Table 1: 2·n_layer·n_ctx·d_attn per token). Decode is bandwidth-bound:
  every new token reads all weights and the whole KV cache once, so
  tokens/s per sequence ≤ bandwidth / bytes read per step.
- Working activations: at most one layer's s·b·h·(34 + 5·a·s/h) bytes at a time (Korthikanti
  et al. 2022; an upper bound, since inference frees them layer by layer).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from core.estimate.architecture import Architecture
from core.estimate.memory import activation_bytes_per_layer
from core.estimate.units import DTYPE_BYTES, GIB, USABLE_MEMORY_FRACTION


def dtype_bytes(dtype: str) -> float:
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise ValueError(f"dtype must be one of {sorted(DTYPE_BYTES)}, got {dtype!r}") from None


def weights_bytes(params: float, dtype: str = "bf16") -> float:
    return params * dtype_bytes(dtype)


def kv_cache_bytes(layers: int, kv_heads: int, head_dim: int, tokens: int, batch: int = 1,
                   dtype: str = "bf16") -> float:
    """2 (key and value) × layers × kv_heads × head_dim × tokens × batch × bytes per value."""
    for name, value in (("layers", layers), ("kv_heads", kv_heads), ("head_dim", head_dim),
                        ("tokens", tokens), ("batch", batch)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return 2.0 * layers * kv_heads * head_dim * tokens * batch * dtype_bytes(dtype)


def kv_cache_bytes_for(arch: Architecture, tokens: int, batch: int = 1, dtype: str = "bf16") -> float:
    return kv_cache_bytes(arch.layers, arch.kv_heads, arch.head_dim, tokens, batch, dtype)


def prefill_seconds(arch: Architecture, prompt_tokens: int, batch: int, peak_tflops: float,
                    bandwidth_tbs: float, weight_bytes: float, efficiency: float) -> float:
    """Time to first token: max(compute time, one read of the weights)."""
    flops = batch * (2.0 * arch.params_count * prompt_tokens + 2.0 * arch.layers * prompt_tokens**2 * arch.hidden)
    return max(flops / (peak_tflops * 1e12 * efficiency), weight_bytes / (bandwidth_tbs * 1e12 * efficiency))


def decode_step_seconds(arch: Architecture, batch: int, context_tokens: int, peak_tflops: float,
                        bandwidth_tbs: float, weight_bytes: float, kv_dtype: str, efficiency: float) -> float:
    """One decode step for the whole batch: max(2·N·batch FLOPs, weights + KV cache bytes)."""
    bytes_read = weight_bytes + kv_cache_bytes_for(arch, context_tokens, batch, kv_dtype)
    flops = 2.0 * arch.params_count * batch
    return max(flops / (peak_tflops * 1e12 * efficiency), bytes_read / (bandwidth_tbs * 1e12 * efficiency))


@dataclass(frozen=True)
class InferenceEstimate:
    weights_gib: float
    kv_cache_gib: float
    activations_gib: float
    total_gib: float
    capacity_gib: float
    fits: bool
    max_batch: int  # at prompt + output tokens per sequence
    max_context: int  # tokens per sequence at this batch, at most the model's context window
    time_to_first_token_s: float
    tokens_per_second: float  # all sequences together, during decode
    tokens_per_second_per_sequence: float
    latency_s: float  # prefill + all output tokens
    cost_per_million_tokens_usd: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def estimate_inference(
    arch: Architecture,
    *,
    peak_tflops: float,
    bandwidth_tbs: float,
    memory_gib: float,
    count: int = 1,
    dtype: str = "bf16",
    kv_dtype: str = "bf16",
    batch: int = 1,
    prompt_tokens: int = 512,
    output_tokens: int = 256,
    efficiency: float = 0.7,
    usable_memory_fraction: float = USABLE_MEMORY_FRACTION,
    usd_per_accelerator_hour: float | None = None,
) -> InferenceEstimate:
    """Memory, speed and cost of serving `arch` on `count` accelerators (tensor parallel, ideal).

    efficiency scales both the peak FLOP/s and the bandwidth (achieved / peak); usable_memory_fraction
    leaves room for the runtime (CUDA context, allocator fragmentation).
    """
    if not 0 < efficiency <= 1:
        raise ValueError(f"efficiency must be in (0, 1], got {efficiency!r}")
    if not 0 < usable_memory_fraction <= 1:
        raise ValueError("usable_memory_fraction must be in (0, 1]")
    for name, value in (("count", count), ("batch", batch), ("prompt_tokens", prompt_tokens),
                        ("output_tokens", output_tokens)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    peak, bandwidth = peak_tflops * count, bandwidth_tbs * count
    capacity = memory_gib * count
    tokens = prompt_tokens + output_tokens
    w_bytes = weights_bytes(arch.params_count, dtype)
    kv_bytes = kv_cache_bytes_for(arch, tokens, batch, kv_dtype)
    act_bytes = activation_bytes_per_layer(prompt_tokens, batch, arch.hidden, arch.heads, "none", count)
    total = (w_bytes + kv_bytes + act_bytes) / GIB
    usable_bytes = capacity * usable_memory_fraction * GIB

    kv_per_token = kv_cache_bytes_for(arch, 1, 1, kv_dtype)
    free = usable_bytes - w_bytes
    max_batch = max(0, int(free // (kv_per_token * tokens))) if free > 0 else 0
    max_context = min(arch.context, max(0, int(free // (kv_per_token * batch)))) if free > 0 else 0

    ttft = prefill_seconds(arch, prompt_tokens, batch, peak, bandwidth, w_bytes, efficiency)
    # The KV cache grows during decode; the average step sees prompt + output/2 tokens.
    step = decode_step_seconds(arch, batch, prompt_tokens + max(1, output_tokens // 2), peak, bandwidth,
                               w_bytes, kv_dtype, efficiency)
    per_sequence = 1.0 / step
    throughput = batch * per_sequence
    cost = None
    if usd_per_accelerator_hour is not None and not math.isnan(usd_per_accelerator_hour):
        cost = usd_per_accelerator_hour * count / (throughput * 3600.0) * 1e6
    return InferenceEstimate(
        weights_gib=w_bytes / GIB, kv_cache_gib=kv_bytes / GIB, activations_gib=act_bytes / GIB,
        total_gib=total, capacity_gib=capacity, fits=total * GIB <= usable_bytes,
        max_batch=max_batch, max_context=max_context, time_to_first_token_s=ttft,
        tokens_per_second=throughput, tokens_per_second_per_sequence=per_sequence,
        latency_s=ttft + output_tokens * step, cost_per_million_tokens_usd=cost,
    )
