"""What the studio shows about a run before and while it trains: its size, memory and time
estimate (core.estimate's formulas over this machine's measured FLOP/s), the live summary of its
metrics and the time left."""
from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from typing import Any

from core.lm.train import TrainConfig

# Effective training FLOP/s (6·N·D counting) on this 2-core CPU when no run of ours has been
# measured yet: bench/train_nanogpt.py (4L/128d: ~19k tok/s x 6 x 0.81M params ~ 9e10) and the
# LoRA fine-tune of SmolLM2-135M (~140 tok/s x 6 x 135M ~ 1.1e11), rounded down.
DEFAULT_FLOPS_PER_SECOND = 8e10


@dataclass(frozen=True)
class RunEstimate:
    parameters: int
    trainable_parameters: int
    tokens: int
    memory_gib: float
    flops: float
    seconds: float
    flops_per_second: float
    rate_basis: str  # "measured" (from this machine's past runs) or "default"


def architecture_for(config: TrainConfig, vocab_size: int, actor=None):
    """The estimator's Architecture for a run (from scratch: the GPT the form describes; fine-tune:
    the base's config.json, among the models `actor` may see)."""
    from core.estimate import Architecture

    if config.kind == "scratch":
        return Architecture(name="studio GPT", layers=config.n_layer, hidden=config.n_embd, heads=config.n_head,
                            kv_heads=config.n_head, ffn_hidden=4 * config.n_embd, vocab=vocab_size,
                            context=config.block_size, gated_mlp=False, tied_embeddings=True)
    from core.lm.loader import resolve

    info = resolve(config.base, actor=actor)
    if not (info.path / "config.json").is_file() and info.base:  # a LoRA adapter: its base's shape
        info = resolve(info.base, actor=actor)
    cfg = json.loads((info.path / "config.json").read_text())
    heads = int(cfg.get("num_attention_heads") or cfg.get("n_head"))
    hidden = int(cfg.get("hidden_size") or cfg.get("n_embd"))
    return Architecture(name=str(config.base), layers=int(cfg.get("num_hidden_layers") or cfg.get("n_layer")),
                        hidden=hidden, heads=heads, kv_heads=int(cfg.get("num_key_value_heads") or heads),
                        ffn_hidden=int(cfg.get("intermediate_size") or 4 * hidden),
                        vocab=int(cfg["vocab_size"]), context=config.block_size,
                        gated_mlp="intermediate_size" in cfg, tied_embeddings=bool(cfg.get("tie_word_embeddings", True)))


def vocab_estimate(config: TrainConfig) -> int:
    if config.tokenizer == "bpe":
        return config.vocab_size
    from core.lm import corpora

    try:
        path = corpora.resolve(config.corpus or "")
    except corpora.CorpusError:
        return 256
    with open(path, encoding="utf-8") as f:
        return len(set(f.read(2_000_000))) + 2


def measured_flops_per_second(limit: int = 5) -> float | None:
    """Median effective FLOP/s (6·N·tokens/s) of the last finished runs recorded in the store."""
    from core.runs.service import list_runs

    rates = []
    for run in list_runs(limit=20):
        if run.status != "finished":
            continue
        params = (run.out_dir / "model" / "training.json")
        if not params.is_file():
            continue
        result = json.loads(params.read_text()).get("result", {})
        n, tps = result.get("parameters"), result.get("tokens_per_second")
        if n and tps:
            rates.append(6 * n * tps / max(1, result.get("world_size", 1)))
        if len(rates) >= limit:
            break
    return statistics.median(rates) if rates else None


def estimate_run(config: TrainConfig, nproc: int = 1, actor=None) -> RunEstimate:
    """Memory (core.estimate: ZeRO/Korthikanti accounting at fp32, as this engine trains) and time
    (6·N·D over this machine's measured FLOP/s) before a run starts."""
    from core.estimate import params_from_architecture, training_flops
    from core.estimate.memory import training_memory

    arch = architecture_for(config, vocab_estimate(config), actor)
    params = int(params_from_architecture(arch))
    method = "lora" if (config.kind == "finetune" and config.lora) else "full"
    mem = training_memory(float(params), method, arch=arch, seq_len=config.block_size, micro_batch=config.batch_size,
                          lora_rank=config.lora_r, precision="fp32")  # this engine trains in fp32
    memory_gib = mem.total_gib
    tokens = config.max_iters * config.batch_size * config.block_size * config.grad_accum * nproc
    flops = training_flops(float(params), float(tokens))
    measured = measured_flops_per_second()
    rate = measured or DEFAULT_FLOPS_PER_SECOND
    # Processes on one CPU share its cores: more processes do not make the machine faster.
    return RunEstimate(parameters=params, trainable_parameters=int(mem.trainable_params), tokens=tokens,
                       memory_gib=memory_gib, flops=flops, seconds=flops / rate, flops_per_second=rate,
                       rate_basis="measured" if measured else "default")


def live_summary(points: list[dict]) -> dict[str, Any]:
    """Latest train loss, validation loss, tokens/s and the samples by eval step."""
    train = [p for p in points if p["train_loss"] is not None]
    evals = [p for p in points if p["val_loss"] is not None]
    return {
        "train_loss": train[-1]["train_loss"] if train else None,
        "val_loss": evals[-1]["val_loss"] if evals else None,
        "perplexity": math.exp(min(evals[-1]["val_loss"], 50)) if evals else None,
        "tokens_per_second": train[-1]["tokens_per_second"] if train else None,
        "samples": [(p["step"], p["sample"]) for p in reversed(evals) if p["sample"]],
    }


def eta_seconds(run, points: list[dict]) -> float | None:
    """Remaining steps at the recent step rate (from the train points' wall clock)."""
    train = [p for p in points if p["train_loss"] is not None and p["wall_seconds"] is not None]
    if len(train) < 2 or not run.active:
        return None
    a, b = train[max(0, len(train) - 10)], train[-1]
    if b["step"] <= a["step"]:
        return None
    per_step = (b["wall_seconds"] - a["wall_seconds"]) / (b["step"] - a["step"])
    return max(0.0, (run.max_steps - run.step) * per_step)


def format_seconds(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
