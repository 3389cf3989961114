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

Speed on a small CPU model comes from the engine, not the model: the fused AdamW kernel, optional
torch.compile, a batch sampler that is one tensor gather, no KV cache built during training, and
torch threads chosen by measurement (core.lm.threads). bench/train_nanogpt.py measures it against
nanoGPT's plain loop. Why a hand-written loop (on accelerate for devices/DDP and peft for LoRA)
and not transformers.Trainer: not speed (bench/trainer_overhead.py found no clear per-step
difference on the nanoGPT model: HF/engine 1.04x at 2 threads, 0.89x at 1 thread, both on a loaded
machine), but control of the step: checkpoints
entirely in safetensors + JSON with hashes (the Trainer writes optimizer/scheduler/RNG/args as
torch.save pickles), an exactly resumable random-window sampler, thread choice by measurement, and
running to a given step so a benchmark can interleave. `Trainer` below is this module's
own small class (set up, run until a step, finish), not transformers'.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F

from core.lm import checkpoint as ckpt
from core.lm.callbacks import BaseCallback, Callback, EvalInfo, JsonlCallback, StepInfo  # noqa: F401 (re-exported)
from core.lm.data import IGNORE, Batch
from core.lm.threads import ThreadTuner
from core.lm.train_config import ARCH_KEYS, LEGACY_ARCH, TrainConfig
from core.lm.train_setup import RunData, sample_text, setup_finetune, setup_scratch


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
    # use_cache=False: training never reads the KV cache, so do not build one.
    logits = model(input_ids=batch.x, attention_mask=batch.mask, use_cache=False).logits  # (B, T, V)
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


def _merge_resumed_config(config: TrainConfig, saved: dict) -> TrainConfig:
    """On resume the model is what the checkpoint says; schedule and limits may change."""
    raw = config.to_dict()
    for key in ARCH_KEYS:
        if key in saved:
            raw[key] = saved[key]
        elif key in LEGACY_ARCH:  # a checkpoint from before the option: it trained GPT-2's architecture
            raw[key] = LEGACY_ARCH[key]
    return TrainConfig.from_dict(raw)



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



class Trainer:
    """One run: set up in the constructor (resuming from the checkpoint when asked), then `run()`
    steps (all of them, or until a step, so a benchmark can interleave), then `finish()`."""

    def __init__(self, config: TrainConfig, callbacks: list | None = None):
        config.validate()
        from accelerate import Accelerator

        self.accelerator = acc = Accelerator(
            cpu=config.device == "cpu" or (config.device == "auto" and not torch.cuda.is_available()))
        self.rank, self.world = acc.process_index, acc.num_processes
        self.threads, self.tuner = None, None
        if acc.device.type == "cpu":
            local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
            self.threads = config.threads or max(1, (os.cpu_count() or 1) // local_world)
            torch.set_num_threads(self.threads)
            if config.threads is None and self.world == 1 and self.threads > 1:
                self.tuner = ThreadTuner(self.threads)  # --threads not given: measure
        self.out = Path(config.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.ckpt_dir = self.out / "checkpoint"
        found = ckpt.find_checkpoint(self.ckpt_dir)
        if found is not None and not config.resume:
            raise ValueError(f"{self.out} already holds a checkpoint: pass --resume to continue it, or choose a new --out")
        state = ckpt.load_checkpoint(found, self.rank) if (config.resume and found is not None) else None
        if state is not None:
            config = _merge_resumed_config(config, state.config)
        self.config = config

        torch.manual_seed(config.seed + self.rank)
        self.data: RunData = (setup_finetune(config) if config.kind == "finetune"
                              else setup_scratch(config, self.out, state is not None))
        self.raw_model = self.data.model.to(acc.device)
        self.trainable_only = config.kind == "finetune" and config.lora
        if state is not None:
            _load_weights(self.raw_model, state.weights, self.trainable_only)
        self.optimizer = make_optimizer(self.raw_model, config, acc.device)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(config))
        self.data_gen = torch.Generator().manual_seed(config.seed * 1000 + self.rank)
        self.start_step = self.step = 0
        if state is not None:
            self.optimizer.load_state_dict(state.optimizer)
            self.scheduler.load_state_dict(state.scheduler)
            ckpt.restore_rng(state.rng["tensors"], state.rng["meta"], self.data_gen)
            self.start_step = self.step = state.step
        # torch.compile fuses the many small element-wise kernels of a small model (bench/). On CPU
        # its C++ wrapper calls the kernels without a Python frame per kernel: on the nanoGPT
        # recipe 31.7-32.2 ms/iter against 34.1-37.1 with the Python wrapper (2 threads, quiet;
        # max_autotune's GEMM templates and eager attention were no faster).
        options = {"cpp_wrapper": True} if acc.device.type == "cpu" else None
        self.compiled = torch.compile(self.raw_model, options=options) if config.compile else self.raw_model
        self.model = acc.prepare_model(self.compiled) if self.world > 1 else self.compiled
        self.callbacks = list(callbacks or []) if acc.is_main_process else []
        if acc.is_main_process:
            self.callbacks.append(JsonlCallback(self.out / "metrics.jsonl", self.start_step if state else None))
        prior = state.extra if state is not None else {}
        self.wall_before = float(prior.get("wall_seconds", 0.0))
        self.train_seconds = float(prior.get("train_seconds", 0.0))
        self.tokens_seen = int(prior.get("tokens_seen", 0))
        self.last_eval = EvalInfo(**prior["last_eval"]) if prior.get("last_eval") else None
        self.compile_seconds = 0.0
        self.loss_value = float("nan")
        self.stopped = False
        self._session_seconds = 0.0
        self._window = [0, 0.0]  # tokens, seconds since the last log line
        self.t_start = time.perf_counter()
        for cb in self.callbacks:
            cb.on_train_begin({**self.data.info, "config": config.to_dict(), "start_step": self.start_step,
                               "world_size": self.world, "device": str(acc.device), "threads": self.threads})

    # -------------------------------------------------------------- pieces of a step
    def _wall(self) -> float:
        return self.wall_before + time.perf_counter() - self.t_start

    def _barrier(self) -> None:
        self.accelerator.wait_for_everyone()

    def save_checkpoint(self) -> None:
        extra = {"wall_seconds": self._wall(), "train_seconds": self.train_seconds, "tokens_seen": self.tokens_seen,
                 "last_eval": asdict(self.last_eval) if self.last_eval else None}
        ckpt.save_checkpoint(self.ckpt_dir, step=self.step, config=self.config.to_dict(),
                             weights=unique_state(self.raw_model, self.trainable_only), optimizer=self.optimizer,
                             scheduler=self.scheduler, data_generator=self.data_gen, rank=self.rank,
                             world_size=self.world, extra=extra, barrier=self._barrier if self.world > 1 else None)
        for cb in self.callbacks:
            cb.on_checkpoint(self.step)

    @torch.no_grad()
    def evaluate(self) -> EvalInfo:
        """Mean loss over eval_iters batches of each split (the same batches every time)."""
        acc = self.accelerator
        self.raw_model.eval()
        losses = {}
        for split in ("train", "val"):
            gen = torch.Generator().manual_seed(4242 + self.rank)
            values = [lm_loss(self.compiled, _to(b, acc.device)).item() for b in self.data.eval_batches(split, gen)]
            mean = torch.tensor(sum(values) / max(1, len(values)), device=acc.device)
            losses[split] = float(acc.reduce(mean, reduction="mean")) if self.world > 1 else float(mean)
        self.raw_model.train()
        sample = (sample_text(self.raw_model, self.data.tokenizer, self.config, self.data.sample_prompt)
                  if acc.is_main_process else "")
        return EvalInfo(step=self.step, train_loss=losses["train"], val_loss=losses["val"], sample=sample,
                        wall_seconds=self._wall())

    def train_step(self) -> None:
        config, acc = self.config, self.accelerator
        threads = self.tuner.apply() if self.tuner else None
        t0 = time.perf_counter()
        lr = self.scheduler.get_last_lr()[0]
        tokens = 0
        for micro in range(config.grad_accum):
            batch = _to(self.data.train_batch(config.batch_size, self.data_gen), acc.device)
            last = micro == config.grad_accum - 1
            # Under DDP, gradients are all-reduced only on the last micro-batch.
            with acc.no_sync(self.model) if (self.world > 1 and not last) else contextlib.nullcontext():
                loss = lm_loss(self.model, batch) / config.grad_accum
                loss.backward()
            tokens += batch.tokens
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.raw_model.parameters(), config.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.loss_value = loss.item() * config.grad_accum
        self.step += 1
        dt = time.perf_counter() - t0
        if self.tuner and not (config.compile and self.step == self.start_step + 1):
            self.tuner.record(threads, dt)
            self.threads = self.tuner.best
        if config.compile and self.step == self.start_step + 1:
            self.compile_seconds = dt  # the first step compiles; it is reported, not averaged in
            return self._log(lr, tokens, 0.0)
        self.train_seconds += dt
        self._session_seconds += dt
        self.tokens_seen += tokens * self.world
        self._log(lr, tokens * self.world, dt)

    def _log(self, lr: float, tokens: int, dt: float) -> None:
        self._window[0] += tokens if dt else 0
        self._window[1] += dt
        config = self.config
        if self.callbacks and (self.step % config.log_interval == 0 or self.step == config.max_iters):
            done = max(1, self.step - self.start_step - (1 if config.compile else 0))
            info = StepInfo(step=self.step, max_steps=config.max_iters, train_loss=self.loss_value, learning_rate=lr,
                            tokens_per_second=self._window[0] / self._window[1] if self._window[1] else 0.0,
                            wall_seconds=self._wall(),
                            eta_seconds=(config.max_iters - self.step) * self._session_seconds / done)
            for cb in self.callbacks:
                cb.on_step(info)
            self._window = [0, 0.0]

    def _should_stop(self) -> bool:
        flag = torch.tensor(float(any(cb.should_stop() for cb in self.callbacks)))
        if self.world > 1:
            flag = self.accelerator.reduce(flag.to(self.accelerator.device), reduction="sum").cpu()
        return bool(flag.item() > 0)

    # -------------------------------------------------------------- the loop
    def run(self, until: int | None = None) -> bool:
        """Train until step `until` (default: max_iters) or a stop request; True when the run is over."""
        config = self.config
        target = min(until or config.max_iters, config.max_iters)
        every = config.checkpoint_interval or config.eval_interval
        self.model.train()
        while self.step < target and not self.stopped:
            self.train_step()
            final = self.step == config.max_iters
            if self.step % config.eval_interval == 0 or final:
                self.last_eval = self.evaluate()
                for cb in self.callbacks:
                    cb.on_eval(self.last_eval)
            self.stopped = self._should_stop() and not final
            if self.step % every == 0 or final or self.stopped:
                self.save_checkpoint()
        return self.stopped or self.step >= config.max_iters

    def finish(self) -> dict:
        """Save the model (rank 0) and return the run's result."""
        config, last = self.config, self.last_eval
        result = {
            "train_loss": last.train_loss if last else self.loss_value,
            "val_loss": last.val_loss if last else None,
            "last_batch_loss": self.loss_value,
            "tokens_per_second": self.tokens_seen / self.train_seconds if self.train_seconds else 0.0,
            "wall_seconds": self._wall(), "compile_seconds": self.compile_seconds,
            "steps": self.step, "max_steps": config.max_iters, "stopped": self.stopped, "kind": config.kind,
            "out": str(self.out), "model_dir": str(self.out / "model"), "world_size": self.world,
            "threads": self.threads, **self.data.info,
        }
        checksum = replica_checksum(self.raw_model)
        if self.world > 1:
            gathered = [None] * self.world
            torch.distributed.all_gather_object(gathered, checksum)
            result["replica_checksums"] = gathered
        else:
            result["replica_checksums"] = [checksum]
        if self.accelerator.is_main_process:
            save_model(self.raw_model, self.data.tokenizer, self.out / "model", config, result)
        self.accelerator.wait_for_everyone()
        for cb in self.callbacks:
            cb.on_train_end(result)
        return result


def train(config: TrainConfig, callbacks: list | None = None) -> dict:
    """Run (or resume) training to the end or a stop; returns the result. ValueError on bad input."""
    trainer = Trainer(config, callbacks)
    trainer.run()
    return trainer.finish()
