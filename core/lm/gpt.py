"""A decoder-only GPT built from scratch: transformers' GPT2 (causal self-attention, pre-LN
blocks, tied embeddings), sized by a typed config. Attention is softmax(QK^T / sqrt(d_k)) V per
head with a causal mask (Vaswani et al. 2017, eq. 1; Radford et al. 2019)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from transformers import GPT2Config, GPT2LMHeadModel


@dataclass
class GPTConfig:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    vocab_size: int = 65
    dropout: float = 0.0
    bos_token_id: int = 0
    eos_token_id: int = 0
    pad_token_id: int | None = None

    def __post_init__(self) -> None:
        for name in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    def to_hf(self) -> GPT2Config:
        return GPT2Config(
            vocab_size=self.vocab_size, n_positions=self.block_size, n_embd=self.n_embd,
            n_layer=self.n_layer, n_head=self.n_head, resid_pdrop=self.dropout,
            embd_pdrop=self.dropout, attn_pdrop=self.dropout,
            # A custom vocabulary: GPT2Config's defaults (50256) would point outside it.
            bos_token_id=self.bos_token_id, eos_token_id=self.eos_token_id,
            pad_token_id=self.pad_token_id, tie_word_embeddings=True,
        )

    def as_dict(self) -> dict:
        return asdict(self)


def build_gpt(config: GPTConfig) -> GPT2LMHeadModel:
    """A randomly initialised GPT2LMHeadModel (GPT-2 init: N(0, 0.02), scaled residual projections)."""
    return GPT2LMHeadModel(config.to_hf())


def parameter_count(model) -> int:
    return sum(p.numel() for p in model.parameters())
