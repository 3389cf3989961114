"""The training loop: from scratch (GPT on a corpus) or fine-tuning (a base model on task data,
full or LoRA), one loop for both.

AdamW (fused kernel on CPU/GPU), linear warmup + cosine decay, gradient clipping, gradient
accumulation, evaluation on held-out data every `eval_interval` steps with a sample, and a
checkpoint (core.lm.checkpoint) that resumes exactly where it stopped. Progress goes to
callbacks (minGPT style) that know nothing about who listens: the CLI prints, the job runner
writes to the store, tests collect.

Distributed: the same entry point runs under `torchrun --nproc_per_node N` (accelerate sets up
DDP: gloo on CPU, nccl on GPU; multi-node through torchrun's rendezvous). Each rank samples its own
batches; gradients are averaged, so replicas stay equal (`replica_checksums` in the result).

Why a hand-written loop and not transformers.Trainer: on the small models trained here the
Trainer's per-step overhead is a large share of the step (see README, bench/train_nanogpt.py);
accelerate still provides devices and DDP, peft provides LoRA.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from core.lm import checkpoint as ckpt
from core.lm.data import IGNORE, Batch, PairDataset, TokenStream, split_pairs

ARCH_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "dropout", "tokenizer", "vocab_size",
             "base", "task", "lora", "lora_r", "lora_alpha")


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
    block_size: int = 64  # context length (from scratch) / max sequence length (fine-tune)
    dropout: float = 0.0
    # fine-tuning
    base: str | None = None  # registry id or local HF directory
    task: str | None = None
    data: str | None = None
    val_data: str | None = None
    lora: bool = False
    lora_r: int = 8
    lora_alpha: int = 16
    # optimisation
    batch_size: int = 12
    grad_accum: int = 1
    max_iters: int = 2000
    lr: float = 1e-3
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
        positive = ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "grad_accum", "max_iters",
                    "eval_interval", "eval_iters", "log_interval", "lora_r", "vocab_size")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if not (math.isfinite(self.lr) and 0 < self.lr < 1):
            raise ValueError("--lr must be a finite number in (0, 1)")
        if self.n_embd % self.n_head:
            raise ValueError(f"--n-embd ({self.n_embd}) must be divisible by --n-head ({self.n_head})")
        if not 0 <= self.dropout < 1:
            raise ValueError("--dropout must be in [0, 1)")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError("--device must be auto, cpu or cuda")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_argv(self) -> list[str]:
        """The `python -m core train` flags for this config (defaults left out, --out always)."""
        default = TrainConfig()
        argv = ["--out", self.out]
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("out", "resume", "run_id") or value == getattr(default, f.name) or value is None:
                continue
            flag = "--" + f.name.replace("_", "-")
            argv += [flag] if value is True else ([] if value is False else [flag, str(value)])
        return argv

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


# ------------------------------------------------------------------ callbacks
@dataclass
class StepInfo:
    step: int  # optimizer steps done
    max_steps: int
    train_loss: float
    learning_rate: float
    tokens_per_second: float
    wall_seconds: float
    eta_seconds: float


@dataclass
class EvalInfo:
    step: int
    train_loss: float
    val_loss: float
    sample: str
    wall_seconds: float


class Callback(Protocol):
    def on_train_begin(self, info: dict) -> None: ...
    def on_step(self, info: StepInfo) -> None: ...
    def on_eval(self, info: EvalInfo) -> None: ...
    def on_checkpoint(self, step: int) -> None: ...
    def should_stop(self) -> bool: ...
    def on_train_end(self, result: dict) -> None: ...


class BaseCallback:
    """No-op defaults; subclass and override what you need."""

    def on_train_begin(self, info: dict) -> None: ...
    def on_step(self, info: StepInfo) -> None: ...
    def on_eval(self, info: EvalInfo) -> None: ...
    def on_checkpoint(self, step: int) -> None: ...
    def should_stop(self) -> bool: return False
    def on_train_end(self, result: dict) -> None: ...


class JsonlCallback(BaseCallback):
    """metrics.jsonl in the run folder: the curve of a run started without the store.
    On resume, points after the checkpoint are dropped so the curve stays one line."""

    def __init__(self, path: Path, resume_step: int | None):
        self.path = path
        if resume_step is not None and path.exists():
            kept = [l for l in path.read_text().splitlines() if l and json.loads(l)["step"] <= resume_step]
            path.write_text("".join(l + "\n" for l in kept))
        elif resume_step is None:
            path.unlink(missing_ok=True)

    def _write(self, row: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def on_step(self, info: StepInfo) -> None:
        self._write({"step": info.step, "train_loss": info.train_loss, "lr": info.learning_rate,
                     "tokens_per_second": info.tokens_per_second})

    def on_eval(self, info: EvalInfo) -> None:
        self._write({"step": info.step, "eval_train_loss": info.train_loss, "val_loss": info.val_loss,
                     "sample": info.sample})


# ------------------------------------------------------------------ pieces
def lr_lambda(config: TrainConfig):
    """Multiplier of config.lr at a step: linear warmup, then cosine decay to min_lr."""
    warmup = config.warmup_iters if config.warmup_iters is not None else min(100, config.max_iters // 10)
    min_ratio = (config.min_lr if config.min_lr is not None else config.lr / 10) / config.lr

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = min(1.0, (step - warmup) / max(1, config.max_iters - warmup))
        return min_ratio + 0.5 * (1 - min_ratio) * (1 + math.cos(math.pi * progress))

    return factor


def make_optimizer(model: torch.nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (nanoGPT's grouping), the fused kernel when possible."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2),
                             fused=device.type in ("cpu", "cuda"))


def lm_loss(model, batch: Batch) -> torch.Tensor:
    logits = model(input_ids=batch.x, attention_mask=batch.mask).logits  # (B, T, V)
    return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), batch.y.reshape(-1), ignore_index=IGNORE)


def unique_state(model: torch.nn.Module, trainable_only: bool) -> dict[str, torch.Tensor]:
    """The weights to checkpoint: tied tensors once, only the adapters for LoRA."""
    seen: set[int] = set()
    out: dict[str, torch.Tensor] = {}
    source = ({n: p for n, p in model.named_parameters() if p.requires_grad} if trainable_only
              else model.state_dict())
    for name, tensor in source.items():
        if tensor.data_ptr() in seen:
            continue
        seen.add(tensor.data_ptr())
        out[name] = tensor.detach()
    return out


def replica_checksum(model: torch.nn.Module) -> float:
    with torch.no_grad():
        return float(sum(p.double().sum().item() * (i + 1) for i, p in enumerate(model.parameters())))


@torch.no_grad()
def sample_text(model, tokenizer, config: TrainConfig, prompt: str | None) -> str:
    """A sample for the eval log: from scratch, sampled char/BPE text with a sliding context
    (nanoGPT's generate); fine-tuned, a greedy answer to a held-out prompt. The global RNG is
    forked so sampling never changes the training stream."""
    model.eval()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            device = next(model.parameters()).device
            if config.kind == "scratch":
                start = tokenizer("\n", add_special_tokens=False)["input_ids"] or [tokenizer.eos_token_id]
                idx = torch.tensor([start[-1:]], device=device)
                for _ in range(config.sample_tokens):
                    logits = model(input_ids=idx[:, -config.block_size:]).logits[:, -1, :] / 0.8
                    top = torch.topk(logits, min(50, logits.size(-1)))
                    logits[logits < top.values[:, [-1]]] = -float("inf")
                    idx = torch.cat([idx, torch.multinomial(torch.softmax(logits, -1), 1)], dim=1)
                return tokenizer.decode(idx[0, 1:].tolist())
            ids = tokenizer(prompt or "", return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=32,
                                 do_sample=False, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
            return tokenizer.decode(out[0, ids.size(1):], skip_special_tokens=True)
    finally:
        model.train()


# ------------------------------------------------------------------ the run
@dataclass
class _Setup:
    model: torch.nn.Module
    tokenizer: Any
    train_batch: Any  # callable(batch_size, generator) -> Batch
    eval_batches: Any  # callable(split, generator) -> iterator of Batch
    sample_prompt: str | None
    info: dict = field(default_factory=dict)


def _setup_scratch(config: TrainConfig, out: Path, resuming: bool) -> _Setup:
    from core.lm import corpora
    from core.lm.gpt import GPTConfig, build_gpt, parameter_count
    from core.lm.tokenizer import encode_corpus, load_tokenizer, train_tokenizer

    text = corpora.read_corpus(config.corpus)
    tok_dir = out / "tokenizer"
    if resuming and (tok_dir / "tokenizer.json").is_file():
        tokenizer = load_tokenizer(tok_dir)
    else:
        tokenizer = train_tokenizer(text, config.tokenizer, config.vocab_size)
        tokenizer.save_pretrained(str(tok_dir))
    stream = TokenStream(encode_corpus(tokenizer, text), config.block_size)
    gpt = GPTConfig(n_layer=config.n_layer, n_head=config.n_head, n_embd=config.n_embd,
                    block_size=config.block_size, vocab_size=len(tokenizer), dropout=config.dropout,
                    bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                    pad_token_id=tokenizer.pad_token_id)
    model = build_gpt(gpt)

    def eval_batches(split, generator):
        return (stream.batch(split, config.batch_size, generator) for _ in range(config.eval_iters))

    return _Setup(model=model, tokenizer=tokenizer,
                  train_batch=lambda bs, g: stream.batch("train", bs, g), eval_batches=eval_batches,
                  sample_prompt=None,
                  info={"parameters": parameter_count(model), "vocab_size": len(tokenizer),
                        "train_tokens": len(stream.splits["train"]), "val_tokens": len(stream.splits["val"])})


def _setup_finetune(config: TrainConfig) -> _Setup:
    from core.lm import tasks
    from core.lm.loader import load_model

    loaded = load_model(config.base, for_training=True)
    model, tokenizer = loaded.model, loaded.tokenizer
    examples = tasks.load_task_examples(config.task, Path(config.data))
    pairs = [tasks.build_training_pair(config.task, ex, tokenizer) for ex in examples]
    if config.val_data:
        val_pairs = [tasks.build_training_pair(config.task, ex, tokenizer)
                     for ex in tasks.load_task_examples(config.task, Path(config.val_data))]
        train_pairs = pairs
    else:
        train_pairs, val_pairs = split_pairs(pairs, seed=config.seed)
    train_set = PairDataset(train_pairs, tokenizer, config.block_size)
    val_set = PairDataset(val_pairs, tokenizer, config.block_size)
    if config.lora:
        from peft import LoraConfig, get_peft_model

        names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
        targets = [n for n in ("q_proj", "k_proj", "v_proj", "o_proj", "c_attn", "c_proj") if n in names]
        model = get_peft_model(model, LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                                                 lora_dropout=0.05, target_modules=targets or "all-linear",
                                                 task_type="CAUSAL_LM"))
    model.train()

    def eval_batches(split, generator):
        if split == "val":
            return val_set.batches_in_order(config.batch_size, limit=config.eval_iters)
        return (train_set.batch(config.batch_size, generator) for _ in range(config.eval_iters))

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return _Setup(model=model, tokenizer=tokenizer, train_batch=train_set.batch, eval_batches=eval_batches,
                  sample_prompt=val_pairs[0][0],
                  info={"parameters": sum(p.numel() for p in model.parameters()), "trainable_parameters": trainable,
                        "train_examples": len(train_set), "val_examples": len(val_set)})


def _merge_resumed_config(config: TrainConfig, saved: dict) -> TrainConfig:
    """On resume the model is what the checkpoint says; schedule and limits may change."""
    raw = config.to_dict()
    for key in ARCH_KEYS:
        if key in saved:
            raw[key] = saved[key]
    return TrainConfig.from_dict(raw)


def train(config: TrainConfig, callbacks: list | None = None) -> dict:
    """Run (or resume) training; returns the final metrics. Raises ValueError on bad input."""
    config.validate()
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=config.device == "cpu" or (config.device == "auto" and not torch.cuda.is_available()))
    rank, world = accelerator.process_index, accelerator.num_processes
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if accelerator.device.type == "cpu":
        torch.set_num_threads(config.threads or max(1, (os.cpu_count() or 1) // local_world))
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir = out / "checkpoint"
    found = ckpt.find_checkpoint(ckpt_dir)
    if found is not None and not config.resume:
        raise ValueError(f"{out} already holds a checkpoint: pass --resume to continue it, or choose a new --out")
    state = ckpt.load_checkpoint(found, rank) if (config.resume and found is not None) else None
    if state is not None:
        config = _merge_resumed_config(config, state.config)

    torch.manual_seed(config.seed + rank)
    setup = _setup_finetune(config) if config.kind == "finetune" else _setup_scratch(config, out, state is not None)
    raw_model = setup.model.to(accelerator.device)
    trainable_only = config.kind == "finetune" and config.lora
    if state is not None:
        _load_weights(raw_model, state.weights, trainable_only)
    optimizer = make_optimizer(raw_model, config, accelerator.device)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(config))
    data_gen = torch.Generator().manual_seed(config.seed * 1000 + rank)
    start_step = 0
    if state is not None:
        optimizer.load_state_dict(state.optimizer)
        scheduler.load_state_dict(state.scheduler)
        ckpt.restore_rng(state.rng["tensors"], state.rng["meta"], data_gen)
        start_step = state.step
    compiled = torch.compile(raw_model) if config.compile else raw_model
    model = accelerator.prepare_model(compiled) if world > 1 else compiled
    callbacks = (callbacks or []) if accelerator.is_main_process else []
    if accelerator.is_main_process:
        callbacks.append(JsonlCallback(out / "metrics.jsonl", start_step if state else None))
    prior = state.extra if state is not None else {}
    for cb in callbacks:
        cb.on_train_begin({**setup.info, "config": config.to_dict(), "start_step": start_step,
                           "world_size": world, "device": str(accelerator.device)})

    def barrier():
        accelerator.wait_for_everyone()

    def save(step: int, extra: dict) -> None:
        ckpt.save_checkpoint(ckpt_dir, step=step, config=config.to_dict(),
                             weights=unique_state(raw_model, trainable_only), optimizer=optimizer,
                             scheduler=scheduler, data_generator=data_gen, rank=rank, world_size=world,
                             extra=extra, barrier=barrier if world > 1 else None)
        for cb in callbacks:
            cb.on_checkpoint(step)

    def evaluate(step: int) -> EvalInfo:
        raw_model.eval()
        losses = {}
        with torch.no_grad():
            for split in ("train", "val"):
                gen = torch.Generator().manual_seed(4242 + rank)
                vals = [lm_loss(compiled, _to(b, accelerator.device)).item() for b in setup.eval_batches(split, gen)]
                mean = torch.tensor(sum(vals) / max(1, len(vals)), device=accelerator.device)
                losses[split] = float(accelerator.reduce(mean, reduction="mean")) if world > 1 else float(mean)
        raw_model.train()
        sample = sample_text(raw_model, setup.tokenizer, config, setup.sample_prompt) if accelerator.is_main_process else ""
        return EvalInfo(step=step, train_loss=losses["train"], val_loss=losses["val"], sample=sample,
                        wall_seconds=wall_before + time.perf_counter() - t_start)

    ckpt_every = config.checkpoint_interval or config.eval_interval
    wall_before = float(prior.get("wall_seconds", 0.0))
    train_seconds = float(prior.get("train_seconds", 0.0))
    tokens_seen = int(prior.get("tokens_seen", 0))
    last_eval: EvalInfo | None = None
    t_start = time.perf_counter()
    step, loss_value, stopped = start_step, float("nan"), False
    window_tokens, window_time, session_seconds = 0, 0.0, 0.0
    model.train()
    while step < config.max_iters:
        t0 = time.perf_counter()
        lr = scheduler.get_last_lr()[0]
        step_tokens = 0
        for micro in range(config.grad_accum):
            batch = _to(setup.train_batch(config.batch_size, data_gen), accelerator.device)
            sync = micro == config.grad_accum - 1 or world == 1
            with (accelerator.no_sync(model) if not sync else _nullcontext()):
                loss = lm_loss(model, batch) / config.grad_accum
                loss.backward()
            step_tokens += batch.tokens
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(raw_model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = loss.item() * config.grad_accum
        step += 1
        dt = time.perf_counter() - t0
        train_seconds += dt
        session_seconds += dt
        tokens_seen += step_tokens * world
        window_tokens += step_tokens * world
        window_time += dt
        if callbacks and (step % config.log_interval == 0 or step == config.max_iters):
            rate = window_tokens / window_time if window_time else 0.0
            info = StepInfo(step=step, max_steps=config.max_iters, train_loss=loss_value, learning_rate=lr,
                            tokens_per_second=rate, wall_seconds=wall_before + time.perf_counter() - t_start,
                            eta_seconds=(config.max_iters - step) * (session_seconds / (step - start_step)))
            for cb in callbacks:
                cb.on_step(info)
            window_tokens, window_time = 0, 0.0
        if step % config.eval_interval == 0 or step == config.max_iters:
            last_eval = evaluate(step)
            for cb in callbacks:
                cb.on_eval(last_eval)
        stop_flag = torch.tensor(float(any(cb.should_stop() for cb in callbacks)))
        if world > 1:
            stop_flag = accelerator.reduce(stop_flag.to(accelerator.device), reduction="sum").cpu()
        stopped = bool(stop_flag.item() > 0) and step < config.max_iters
        extra = {"wall_seconds": wall_before + time.perf_counter() - t_start, "train_seconds": train_seconds,
                 "tokens_seen": tokens_seen, "last_eval": asdict(last_eval) if last_eval else prior.get("last_eval")}
        if step % ckpt_every == 0 or step == config.max_iters or stopped:
            save(step, extra)
        if stopped:
            break

    if last_eval is None and prior.get("last_eval"):
        last_eval = EvalInfo(**prior["last_eval"])
    result = {
        "train_loss": last_eval.train_loss if last_eval else loss_value,
        "val_loss": last_eval.val_loss if last_eval else None,
        "last_batch_loss": loss_value,
        "tokens_per_second": tokens_seen / train_seconds if train_seconds else 0.0,
        "wall_seconds": wall_before + time.perf_counter() - t_start,
        "steps": step, "max_steps": config.max_iters, "stopped": stopped, "kind": config.kind,
        "out": str(out), "model_dir": str(out / "model"), "world_size": world, **setup.info,
    }
    checksum = replica_checksum(raw_model)
    if world > 1:
        gathered = [None] * world
        torch.distributed.all_gather_object(gathered, checksum)
        result["replica_checksums"] = gathered
    else:
        result["replica_checksums"] = [checksum]
    if accelerator.is_main_process:
        save_model(raw_model, setup.tokenizer, out / "model", config, result)
    accelerator.wait_for_everyone()
    for cb in callbacks:
        cb.on_train_end(result)
    return result


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _to(batch: Batch, device: torch.device) -> Batch:
    if device.type == "cpu":
        return batch
    return Batch(x=batch.x.to(device, non_blocking=True), y=batch.y.to(device, non_blocking=True),
                 mask=batch.mask.to(device, non_blocking=True) if batch.mask is not None else None)


def _load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor], trainable_only: bool) -> None:
    expected = unique_state(model, trainable_only)
    if set(expected) != set(weights):
        missing = sorted(set(expected) - set(weights))[:3]
        unexpected = sorted(set(weights) - set(expected))[:3]
        raise ckpt.CheckpointError(
            f"the checkpoint does not fit this model (missing {missing}, unexpected {unexpected}); "
            "resume with the same model settings or start a new --out")
    with torch.no_grad():
        for name, tensor in expected.items():
            if tensor.shape != weights[name].shape:
                raise ckpt.CheckpointError(f"checkpoint tensor {name} has shape {tuple(weights[name].shape)}, "
                                           f"the model expects {tuple(tensor.shape)}")
            tensor.copy_(weights[name])


def save_model(model: torch.nn.Module, tokenizer, directory: Path, config: TrainConfig, result: dict) -> Path:
    """The finished model as an HF directory (safetensors): a full model, or a LoRA adapter whose
    base is named in training.json. The tokenizer (with the base's chat template) goes alongside,
    so inference formats prompts exactly as training did."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(directory), safe_serialization=True)
    tokenizer.save_pretrained(str(directory))
    meta = {"config": config.to_dict(), "result": {k: v for k, v in result.items() if k != "replica_checksums"},
            "base": config.base, "task": config.task or "generation", "lora": bool(config.lora and config.base)}
    (directory / "training.json").write_text(json.dumps(meta, indent=2, default=str))
    return directory
