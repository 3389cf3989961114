"""Training memory per accelerator: model states (weights, gradients, optimizer) and activations.

Sources:
- Rajbhandari et al. 2020 ("ZeRO"), Sec. 3.1 and 5: mixed-precision Adam keeps 2 bytes of fp16/bf16
  weights, 2 bytes of gradients and K = 12 bytes of optimizer state (fp32 master weights, momentum,
  variance) per parameter: 16 bytes. ZeRO stage 1 shards the optimizer states over the N_d
  data-parallel ranks, stage 2 also the gradients, stage 3 also the weights.
- Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models"),
  Eq. 1–2 and Table 2: activations per layer = s·b·h·(34 + 5·a·s/h) bytes (16-bit activations);
  with tensor + sequence parallelism of degree t divided by t; selective recomputation keeps
  34·s·b·h/t; full recomputation keeps only the layer input, 2·s·b·h/t. Under 1F1B pipelining the
  first stage holds activations for p micro-batches of L/p layers: L layers' worth (Sec. 4.2.3).
- Hu et al. 2021 (LoRA): a rank-r adapter on a d_in×d_out matrix trains r·(d_in + d_out) parameters.
- Dettmers et al. 2023 (QLoRA), Sec. 3: NF4 base weights with double quantisation cost
  4 + 0.127 bits per parameter; adapters train in 16-bit with 32-bit optimizer states.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

from core.estimate.architecture import Architecture, shape_from_params
from core.estimate.units import GIB

Method = Literal["full", "lora", "qlora"]
Precision = Literal["mixed", "fp32"]
Recompute = Literal["none", "selective", "full"]

WEIGHT_BYTES_16BIT = 2.0
GRADIENT_BYTES_16BIT = 2.0
ADAM_STATE_BYTES = 12.0  # fp32 master copy + momentum + variance (ZeRO's K = 12)
QLORA_BYTES_PER_PARAM = (4 + 0.127) / 8  # NF4 + double-quantised constants (Dettmers et al. 2023)
METHODS: tuple[str, ...] = ("full", "lora", "qlora")
# Bytes per trained parameter (weights, gradients, optimizer) and activation scale by precision.
# "fp32" (e.g. CPU training): fp32 weights and gradients, Adam's two fp32 moments, no master copy,
# activations stored in 4 bytes instead of 2.
PRECISION_BYTES = {"mixed": (WEIGHT_BYTES_16BIT, GRADIENT_BYTES_16BIT, ADAM_STATE_BYTES, 1.0),
                   "fp32": (4.0, 4.0, 8.0, 2.0)}
RECOMPUTE: tuple[str, ...] = ("none", "selective", "full")


def activation_bytes_per_layer(seq_len: int, micro_batch: int, hidden: int, heads: int,
                               recompute: Recompute = "none", tensor_parallel: int = 1) -> float:
    """Korthikanti et al. 2022: bytes of activations one transformer layer keeps for the backward pass."""
    s, b, h, a, t = seq_len, micro_batch, hidden, heads, tensor_parallel
    if recompute == "full":
        return 2.0 * s * b * h / t
    if recompute == "selective":
        return 34.0 * s * b * h / t
    if recompute == "none":
        return s * b * h * (34.0 + 5.0 * a * s / h) / t
    raise ValueError(f"recompute must be one of {RECOMPUTE}, got {recompute!r}")


def lora_trainable_params(arch: Architecture, rank: int, targets_per_layer: int = 4) -> float:
    """Adapters on `targets_per_layer` h×h projections (q, k, v, o by default): L·targets·r·2h."""
    if rank < 1 or targets_per_layer < 1:
        raise ValueError("lora rank and targets must be >= 1")
    return float(arch.layers * targets_per_layer * rank * 2 * arch.hidden)


@dataclass(frozen=True)
class TrainingMemory:
    """GiB per accelerator for one training configuration."""

    weights_gib: float
    gradients_gib: float
    optimizer_gib: float
    activations_gib: float
    total_gib: float
    trainable_params: float
    data_parallel: int
    method: str

    def as_dict(self) -> dict:
        return asdict(self)


def training_memory(
    params: float,
    method: Method = "full",
    *,
    arch: Architecture | None = None,
    seq_len: int = 2048,
    micro_batch: int = 1,
    recompute: Recompute = "none",
    zero_stage: int = 0,
    count: int = 1,
    tensor_parallel: int = 1,
    pipeline_parallel: int = 1,
    lora_rank: int = 16,
    lora_targets_per_layer: int = 4,
    precision: Precision = "mixed",
) -> TrainingMemory:
    """Memory per accelerator for full fine-tuning / pre-training, LoRA or QLoRA.

    params: N (not billions). arch: the model's shape (layers, hidden, heads) for activations and
    adapter sizes; without it a plausible shape is derived from N (architecture.shape_from_params).
    count accelerators are split into tensor × pipeline × data parallel groups; ZeRO shards
    over the data-parallel degree count / (tensor_parallel · pipeline_parallel).
    precision: "mixed" (16-bit weights/gradients/activations, fp32 Adam: 16 bytes per trained
    parameter) or "fp32" (everything fp32, as on a CPU: 4 + 4 + 8 bytes, activations doubled).
    """
    if precision not in PRECISION_BYTES:
        raise ValueError(f"precision must be one of {tuple(PRECISION_BYTES)}, got {precision!r}")
    weight_b, grad_b, optim_b, act_scale = PRECISION_BYTES[precision]
    if not (math.isfinite(params) and params > 0):
        raise ValueError(f"params must be a positive finite number, got {params!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if zero_stage not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage must be 0, 1, 2 or 3, got {zero_stage!r}")
    for name, value in (("seq_len", seq_len), ("micro_batch", micro_batch), ("count", count),
                        ("tensor_parallel", tensor_parallel), ("pipeline_parallel", pipeline_parallel)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    model_parallel = tensor_parallel * pipeline_parallel
    if count % model_parallel:
        raise ValueError(f"count ({count}) must be a multiple of tensor × pipeline parallel ({model_parallel})")
    dp = count // model_parallel
    arch = arch or shape_from_params(params)

    # Model states held by one model-parallel shard, then ZeRO-sharded across data parallel ranks.
    shard = params / model_parallel
    if method == "full":
        trainable = params
        frozen_bytes = 0.0
    else:
        trainable = lora_trainable_params(arch, lora_rank, lora_targets_per_layer)
        frozen_bytes = (QLORA_BYTES_PER_PARAM if method == "qlora" else weight_b) * shard
    trainable_shard = trainable / model_parallel
    weights = frozen_bytes + weight_b * trainable_shard
    gradients = grad_b * trainable_shard
    optimizer = optim_b * trainable_shard
    if zero_stage >= 1:
        optimizer /= dp
    if zero_stage >= 2:
        gradients /= dp
    if zero_stage >= 3:
        weights /= dp

    activations = act_scale * arch.layers * activation_bytes_per_layer(seq_len, micro_batch, arch.hidden, arch.heads,
                                                                       recompute, tensor_parallel)
    parts = [weights / GIB, gradients / GIB, optimizer / GIB, activations / GIB]
    return TrainingMemory(*parts, total_gib=sum(parts), trainable_params=trainable, data_parallel=dp, method=method)


def training_memory_gib(params: float, method: Method = "full", **kwargs) -> float:
    """Total GiB per accelerator; the one number the training studio checks before a run starts.

    Example: training_memory_gib(135e6, "lora", seq_len=128, micro_batch=8) for SmolLM2-135M.
    Keyword arguments are those of training_memory (arch, seq_len, micro_batch, recompute,
    zero_stage, count, tensor_parallel, pipeline_parallel, lora_rank, lora_targets_per_layer,
    precision="fp32" for CPU training).
    """
    return training_memory(params, method, **kwargs).total_gib
