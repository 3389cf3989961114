"""A tiny randomly initialised Llama (SmolLM2's tokenizer and chat template, 2 layers, 64 wide) for
the demos' tests: same code paths as the shipped model, in milliseconds."""
from __future__ import annotations

import shutil
from pathlib import Path

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from core.lm.base import base_model_dir


def make_tiny_llama(path: Path, seed: int = 0) -> Path:
    tokenizer = AutoTokenizer.from_pretrained(str(base_model_dir()))
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2,
                         rms_norm_eps=1e-5)
    model = LlamaForCausalLM(config)
    model.save_pretrained(str(path), safe_serialization=True)
    tokenizer.save_pretrained(str(path))
    return path


def copy_without_weights(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    (dst / "model.safetensors").unlink()
    return dst
