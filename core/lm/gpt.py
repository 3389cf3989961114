"""A decoder-only GPT built from scratch: transformers' GPT2 (causal self-attention, pre-LN
blocks, tied embeddings), sized by a typed config. Attention is softmax(QK^T / sqrt(d_k)) V per
head with a causal mask (Vaswani et al. 2017, eq. 1; Radford et al. 2019).

Two architecture options follow nanoGPT (Karpathy, model.py), whose from-scratch default is
`bias=False` ("True: bias in Linears and LayerNorms, like GPT-2. False: a bit better and faster")
with exact GELU (nn.GELU), where GPT-2 has biases and the tanh approximation ("gelu_new"):

- `bias=False`: transformers' GPT2 has no switch for it, so every bias parameter (the LayerNorms'
  and the Conv1D projections') is set to zero and frozen (requires_grad=False). The optimizer
  never sees them (it takes trainable parameters only), checkpoints store them as zeros, DDP does
  not synchronise them, so the network computes exactly what a bias-free GPT computes. The saved
  model is an ordinary GPT2 checkpoint (zero biases) that any GPT2 loader reads; its config
  carries `bias: false` so fine-tuning it keeps them frozen (`freeze_biases_if_bias_free`).
- `activation="gelu"`: exact GELU (erf); "gelu_new" is GPT-2's tanh approximation.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from transformers import GPT2Config, GPT2LMHeadModel

ACTIVATIONS = ("gelu", "gelu_new")


@dataclass
class GPTConfig:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    vocab_size: int = 65
    dropout: float = 0.0
    bias: bool = False  # nanoGPT's default; True = GPT-2's trainable biases
    activation: str = "gelu"  # exact GELU (nanoGPT); "gelu_new" = GPT-2's tanh approximation
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
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}")

    def to_hf(self) -> GPT2Config:
        return GPT2Config(
            vocab_size=self.vocab_size, n_positions=self.block_size, n_embd=self.n_embd,
            n_layer=self.n_layer, n_head=self.n_head, resid_pdrop=self.dropout,
            embd_pdrop=self.dropout, attn_pdrop=self.dropout, activation_function=self.activation,
            # A custom vocabulary: GPT2Config's defaults (50256) would point outside it.
            bos_token_id=self.bos_token_id, eos_token_id=self.eos_token_id,
            pad_token_id=self.pad_token_id, tie_word_embeddings=True,
            bias=bool(self.bias),  # kept in config.json: False = biases frozen at zero
        )

    def as_dict(self) -> dict:
        return asdict(self)


def bias_parameters(model: torch.nn.Module) -> list[tuple[str, torch.nn.Parameter]]:
    """Every bias parameter (LayerNorm and Linear/Conv1D biases; the attention mask is a buffer)."""
    return [(name, p) for name, p in model.named_parameters() if name.rsplit(".", 1)[-1] == "bias"]


@torch.no_grad()
def freeze_biases(model: torch.nn.Module) -> int:
    """Set every bias to zero and stop training it: the model becomes functionally bias-free."""
    count = 0
    for _, p in bias_parameters(model):
        p.zero_()
        p.requires_grad_(False)
        count += 1
    return count


def freeze_biases_if_bias_free(model: torch.nn.Module) -> None:
    """A model saved with `bias: false` in its config keeps its biases frozen at zero."""
    if getattr(getattr(model, "config", None), "bias", True) is False:
        freeze_biases(model)


def build_gpt(config: GPTConfig) -> GPT2LMHeadModel:
    """A randomly initialised GPT2LMHeadModel (GPT-2 init: N(0, 0.02), scaled residual projections),
    bias-free (biases frozen at zero) unless config.bias."""
    model = GPT2LMHeadModel(config.to_hf())
    if not config.bias:
        freeze_biases(model)
    return model


def parameter_count(model, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
