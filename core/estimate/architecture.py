"""Decoder-only transformer shapes: parameter count from the architecture, and the reverse.

Parameter count per layer (bias terms and norms are < 0.1 % and left out):
  attention  = h·h (Q) + 2·h·(kv_heads·head_dim) (K, V; smaller under GQA/MQA) + h·h (output)
  MLP        = 2·h·f, or 3·h·f for a gated (SwiGLU) MLP
  embeddings = V·h, twice when the output head is not tied to the input embedding
With K = V = Q, f = 4h and no gating this is the familiar N ≈ 12·L·h² of Kaplan et al. 2020 (Sec. 2.1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Architecture:
    """The shape of a decoder-only transformer (what an HF config.json says)."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn_hidden: int
    vocab: int
    context: int
    gated_mlp: bool = True
    tied_embeddings: bool = False
    params: float | None = None  # the published count, when known; else derived

    def __post_init__(self) -> None:
        for name in ("layers", "hidden", "heads", "kv_heads", "ffn_hidden", "vocab", "context"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        if self.kv_heads > self.heads or self.heads % self.kv_heads:
            raise ValueError(f"kv_heads ({self.kv_heads}) must divide heads ({self.heads})")

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def gqa_ratio(self) -> float:
        """heads / kv_heads: how much smaller the KV cache is than with full multi-head attention."""
        return self.heads / self.kv_heads

    @property
    def params_count(self) -> float:
        return float(self.params) if self.params else float(params_from_architecture(self))


def params_from_architecture(arch: Architecture) -> int:
    """Derive N from the architecture (formula in the module docstring)."""
    h, kv_width = arch.hidden, arch.kv_heads * arch.head_dim
    attention = 2 * h * h + 2 * h * kv_width
    mlp = (3 if arch.gated_mlp else 2) * h * arch.ffn_hidden
    embeddings = arch.vocab * h * (1 if arch.tied_embeddings else 2)
    return arch.layers * (attention + mlp) + embeddings


def shape_from_params(params: float, context: int = 4096, vocab: int = 32000) -> Architecture:
    """A plausible shape for a model known only by its size, for memory estimates.

    Uses N ≈ 12·L·h² (Kaplan et al. 2020) with head_dim 128 and h = 128·L/… chosen so that
    h/L ≈ 64–128 as in the published LLaMA/GPT-3 shapes; rounded to multiples of 128.
    """
    if not (math.isfinite(params) and params > 0):
        raise ValueError(f"params must be a positive finite number, got {params!r}")
    # h ≈ 96·L is in the middle of published aspect ratios; then 12·L·(96L)² = N.
    layers = max(1, round((params / (12 * 96**2)) ** (1 / 3)))
    hidden = max(128, round(math.sqrt(params / (12 * layers)) / 128) * 128)
    heads = hidden // 128
    return Architecture(
        name=f"~{params / 1e9:.3g}B (shape estimated)", layers=layers, hidden=hidden, heads=heads,
        kv_heads=heads, ffn_hidden=4 * hidden, vocab=vocab, context=context, gated_mlp=False,
        tied_embeddings=False, params=float(params),
    )


def with_params(arch: Architecture, params: float | None) -> Architecture:
    return replace(arch, params=params)
