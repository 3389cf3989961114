"""The settings of a training run, one typed object shared by the CLI, the studio and the job
runner (`python -m core train` flags map one to one: underscores become dashes)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

# Settings that define the model; on resume they come from the checkpoint.
ARCH_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "bias", "activation", "tokenizer",
             "vocab_size", "base", "task", "lora", "lora_r", "lora_alpha", "prompt_version")
# What checkpoints written before `bias`/`activation`/`prompt_version` existed trained (transformers'
# GPT-2 defaults; task prompts of version 1).
LEGACY_ARCH = {"bias": True, "activation": "gelu_new", "prompt_version": 1}


# (lowest, highest) of every integer setting; None is allowed where a default is computed.
_INT_BOUNDS = {
    "n_layer": (1, 512), "n_head": (1, 512), "n_embd": (1, 65_536), "block_size": (1, 1_048_576),
    "vocab_size": (1, 2_000_000), "batch_size": (1, 1_000_000), "grad_accum": (1, 1_000_000),
    "max_iters": (1, 10**9), "eval_interval": (1, 10**9), "eval_iters": (1, 10**6), "log_interval": (1, 10**9),
    "lora_r": (1, 65_536), "lora_alpha": (1, 10**6), "warmup_iters": (0, 10**9), "checkpoint_interval": (1, 10**9),
    "sample_tokens": (0, 100_000), "seed": (0, 2**32 - 1), "threads": (1, 1024), "prompt_version": (1, 2),
}


@dataclass
class TrainConfig:
    """Every knob of a run; the CLI flags map one to one (underscores become dashes)."""

    out: str = "runs/default"
    # from scratch
    corpus: str | None = None  # a bundled corpus name or a text file
    tokenizer: str = "char"  # char | bpe
    vocab_size: int = 4096  # bpe only
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int | None = None  # context (from scratch, default 64) / max sequence length (fine-tune, 256)
    dropout: float = 0.0
    bias: bool = False  # nanoGPT's default: no biases (frozen at zero, see core.lm.gpt); True = GPT-2's
    activation: str = "gelu"  # exact GELU (nanoGPT) | gelu_new (GPT-2's tanh approximation)
    # fine-tuning
    base: str | None = None  # registry id or local HF directory
    task: str | None = None
    data: str | None = None
    val_data: str | None = None
    lora: bool = False
    lora_r: int = 8
    lora_alpha: int = 16
    prompt_version: int = 1  # how task examples are rendered (core.lm.tasks.PROMPT_VERSIONS); kept on the card
    # optimisation
    batch_size: int | None = None  # default 12 from scratch, 8 fine-tuning
    grad_accum: int = 1
    max_iters: int = 2000
    lr: float | None = None  # default 1e-3 from scratch, 2e-4 LoRA, 5e-5 full fine-tuning
    min_lr: float | None = None  # default lr / 10
    warmup_iters: int | None = None  # default min(100, max_iters // 10)
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    # evaluation, logging, checkpoints
    eval_interval: int = 250
    eval_iters: int = 20
    log_interval: int = 10
    checkpoint_interval: int | None = None  # default eval_interval
    sample_tokens: int = 200
    # runtime
    resume: bool = False
    seed: int = 1337
    device: str = "auto"  # auto | cpu | cuda
    compile: bool = False
    threads: int | None = None
    run_id: str | None = None

    def __post_init__(self) -> None:
        # Defaults that depend on what is trained (nanoGPT's recipe from scratch; usual LoRA /
        # full fine-tuning rates for a pretrained base).
        scratch = not self.base
        if self.block_size is None:
            self.block_size = 64 if scratch else 256
        if self.batch_size is None:
            self.batch_size = 12 if scratch else 8
        if self.lr is None:
            self.lr = 1e-3 if scratch else (2e-4 if self.lora else 5e-5)

    @property
    def kind(self) -> str:
        return "finetune" if self.base else "scratch"

    def validate(self) -> None:
        if self.base:
            if not self.task or not self.data:
                raise ValueError("fine-tuning needs --task and --data with --base")
        elif not self.corpus:
            raise ValueError("give --corpus (train from scratch) or --base with --task and --data (fine-tune)")
        if self.tokenizer not in ("char", "bpe"):
            raise ValueError("--tokenizer must be char or bpe")
        # Upper bounds too: a huge value must be a message, not an allocation that takes the machine down.
        for name, (low, high) in _INT_BOUNDS.items():
            value = getattr(self, name)
            if value is None and name in ("warmup_iters", "checkpoint_interval", "threads"):
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"--{name.replace('_', '-')} must be an integer from {low:,} to {high:,}")
        if not (math.isfinite(self.lr) and 0 < self.lr < 1):
            raise ValueError("--lr must be a finite number in (0, 1)")
        if self.n_embd % self.n_head:
            raise ValueError(f"--n-embd ({self.n_embd}) must be divisible by --n-head ({self.n_head})")
        if not 0 <= self.dropout < 1:
            raise ValueError("--dropout must be in [0, 1)")
        for name, low, high in (("min_lr", 0.0, 1.0), ("weight_decay", 0.0, 10.0), ("beta1", 0.0, 0.999999),
                                ("beta2", 0.0, 0.999999), ("grad_clip", 0.0, 1e6)):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and low <= value <= high):
                raise ValueError(f"--{name.replace('_', '-')} must be a finite number from {low:g} to {high:g}")
        if self.activation not in ("gelu", "gelu_new"):
            raise ValueError("--activation must be gelu or gelu_new")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError("--device must be auto, cpu or cuda")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_argv(self) -> list[str]:
        """The `python -m core train` flags for this config (defaults left out, --out always)."""
        default = TrainConfig(base=self.base, lora=self.lora)  # kind-dependent defaults
        argv = ["--out", self.out]
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("out", "resume", "run_id") or value is None or value is False:
                continue
            if f.name not in ("base", "lora") and value == getattr(default, f.name):
                continue
            flag = "--" + f.name.replace("_", "-")
            argv += [flag] if value is True else ([] if value is False else [flag, str(value)])
        return argv

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


