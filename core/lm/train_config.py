"""The settings of a training run, one typed object shared by the CLI, the studio and the job
runner (`python -m core train` flags map one to one: underscores become dashes)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
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


def _opt(default: Any, help: str, group: str, choices: tuple | None = None, by_kind: dict | None = None,
         required: bool = False) -> Any:
    """A setting with what its flag and its studio widget need: help text, flag group, allowed
    values and, for settings whose default depends on what is trained, one default per kind
    (scratch | lora | full). The CLI (core/cli/train.py) and the studio form are built from this."""
    return field(default=default, metadata={"help": help, "group": group, "choices": choices, "by_kind": by_kind,
                                            "required": required})


KINDS = ("scratch", "lora", "full")


@dataclass
class TrainConfig:
    """Every knob of a run; the CLI flags map one to one (underscores become dashes)."""

    # from scratch
    corpus: str | None = _opt(None, "bundled corpus name (see data/corpora/) or a text file", "from scratch")
    tokenizer: str = _opt("char", "character or byte-pair tokenizer", "from scratch", choices=("char", "bpe"))
    vocab_size: int = _opt(4096, "BPE vocabulary size", "from scratch")
    n_layer: int = _opt(4, "transformer blocks", "from scratch")
    n_head: int = _opt(4, "attention heads", "from scratch")
    n_embd: int = _opt(128, "embedding width", "from scratch")
    block_size: int | None = _opt(None, "context length from scratch; max sequence length when fine-tuning",
                                  "from scratch", by_kind={"scratch": 64, "lora": 256, "full": 256})
    dropout: float = _opt(0.0, "dropout rate", "from scratch")
    bias: bool = _opt(False, "trainable biases in Linear and LayerNorm like GPT-2 (--bias) or none like nanoGPT "
                             "(--no-bias, the default: biases frozen at zero, see core.lm.gpt)", "from scratch")
    activation: str = _opt("gelu", "MLP activation: exact GELU (nanoGPT) or GPT-2's tanh approximation",
                           "from scratch", choices=("gelu", "gelu_new"))
    # fine-tuning
    base: str | None = _opt(None, "registry id (e.g. smollm2-135m-instruct) or a local HF directory", "fine-tuning")
    task: str | None = _opt(None, "task of the training pairs", "fine-tuning",
                            choices=("generation", "qa", "translation", "sentiment"))
    data: str | None = _opt(None, "task data file (sentiment CSV, QA JSONL, translation TSV, text)", "fine-tuning")
    val_data: str | None = _opt(None, "held-out task file (default: 10% of --data)", "fine-tuning")
    lora: bool = _opt(False, "train LoRA adapters instead of all weights", "fine-tuning")
    lora_r: int = _opt(8, "LoRA rank", "fine-tuning")
    lora_alpha: int = _opt(16, "LoRA scaling alpha", "fine-tuning")
    prompt_version: int = _opt(1, "task prompt format: 1 (instruction) or 2 (system turn and worked examples, the "
                                  "Qwen task models'); kept on the card", "fine-tuning", choices=(1, 2))
    # optimisation
    batch_size: int | None = _opt(None, "sequences per micro-batch", "optimisation",
                                  by_kind={"scratch": 12, "lora": 8, "full": 8})
    grad_accum: int = _opt(1, "micro-batches per optimizer step", "optimisation")
    max_iters: int | None = _opt(None, "optimizer steps", "optimisation",
                                 by_kind={"scratch": 2000, "lora": 200, "full": 200})
    lr: float | None = _opt(None, "peak learning rate", "optimisation",
                            by_kind={"scratch": 1e-3, "lora": 2e-4, "full": 5e-5})
    min_lr: float | None = _opt(None, "final learning rate (default lr/10)", "optimisation")
    warmup_iters: int | None = _opt(None, "warm-up steps (default min(100, max-iters/10))", "optimisation")
    weight_decay: float = _opt(0.1, "AdamW weight decay", "optimisation")
    beta1: float = _opt(0.9, "AdamW beta1", "optimisation")
    beta2: float = _opt(0.99, "AdamW beta2", "optimisation")
    grad_clip: float = _opt(1.0, "gradient norm clip; 0 disables clipping", "optimisation")
    # evaluation, logging, checkpoints
    eval_interval: int | None = _opt(None, "steps between evaluations", "evaluation and checkpoints",
                                     by_kind={"scratch": 250, "lora": 50, "full": 50})
    eval_iters: int | None = _opt(None, "batches per evaluation", "evaluation and checkpoints",
                                  by_kind={"scratch": 20, "lora": 10, "full": 10})
    log_interval: int = _opt(10, "steps between progress lines", "evaluation and checkpoints")
    checkpoint_interval: int | None = _opt(None, "steps between checkpoints (default: eval interval)",
                                           "evaluation and checkpoints")
    sample_tokens: int = _opt(200, "tokens sampled at each evaluation", "evaluation and checkpoints")
    # runtime
    out: str = _opt("runs/default", "run folder: checkpoint/, model/, metrics.jsonl", "runtime", required=True)
    resume: bool = _opt(False, "continue from the checkpoint in --out", "runtime")
    seed: int = _opt(1337, "random seed", "runtime")
    device: str = _opt("auto", "where to train", "runtime", choices=("auto", "cpu", "cuda"))
    compile: bool = _opt(False, "torch.compile the model (slow start, faster steps)", "runtime")
    threads: int | None = _opt(None, "torch threads per process", "runtime")
    run_id: str | None = _opt(None, "report progress to this studio run in the store", "runtime")

    @staticmethod
    def kind_of(base: str | None, lora: bool) -> str:
        return "scratch" if not base else ("lora" if lora else "full")

    @classmethod
    def kind_defaults(cls, kind: str) -> dict[str, Any]:
        """The defaults that depend on what is trained, for kind scratch | lora | full."""
        return {f.name: f.metadata["by_kind"][kind] for f in fields(cls) if f.metadata.get("by_kind")}

    def __post_init__(self) -> None:
        # Defaults that depend on what is trained (nanoGPT's recipe from scratch; usual LoRA /
        # full fine-tuning rates and a short CPU-sized run for a pretrained base).
        for name, value in self.kind_defaults(self.kind_of(self.base, self.lora)).items():
            if getattr(self, name) is None:
                setattr(self, name, value)

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


