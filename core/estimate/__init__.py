"""Compute, memory and cost estimators (issue 3).

Pure formulas (no I/O): training, memory, inference, architecture. Data: catalogue (DuckDB + the
user's additions in the store), sweep (SQL over the catalogue), validation (error vs published runs).
Other areas use the pure functions directly, e.g. before a training run starts:

    from core.estimate import training_memory_gib, training_flops
    training_memory_gib(135e6, "lora", seq_len=128, micro_batch=8)
    training_flops(135e6, 1e9)  # 6·N·D
    training_time_seconds(135e6, 1e7, tokens_per_second=142)  # measured on this CPU
"""
from core.estimate.architecture import Architecture, params_from_architecture, shape_from_params
from core.estimate.inference import estimate_inference, kv_cache_bytes, weights_bytes
from core.estimate.memory import training_memory, training_memory_gib
from core.estimate.training import (
    accelerator_hours,
    accelerators_for_deadline,
    chinchilla_optimal_tokens,
    estimate_training,
    training_flops,
    training_time_seconds,
)

__all__ = [
    "Architecture", "params_from_architecture", "shape_from_params", "estimate_inference", "kv_cache_bytes",
    "weights_bytes", "training_memory", "training_memory_gib", "accelerator_hours", "accelerators_for_deadline",
    "chinchilla_optimal_tokens", "estimate_training", "training_flops", "training_time_seconds",
]
