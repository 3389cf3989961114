"""Benchmark: the engine against a minimal plain-PyTorch loop on nanoGPT's CPU recipe.

Recipe (nanoGPT, config/train_shakespeare_char.py with its CPU overrides): character-level
tinyshakespeare, 4 layers, 4 heads, 128 dims, block 64, batch 12, lr 1e-3 with 100 warmup steps and
cosine decay to 1e-4 over 2000 iterations, AdamW (beta2 0.99, weight decay 0.1), gradient clipping
1.0, dropout 0, evaluation every 250 iterations on 20 batches.

Both sides train the same model (core.lm.gpt: transformers GPT2LMHeadModel, same config, same token
ids), with nanoGPT's architecture: no biases (frozen at zero, excluded from the optimizer) and exact
GELU; `--bias --activation gelu_new` trains GPT-2's architecture instead. Weight decay on 2-D
weights only, as nanoGPT. Validation: the last 10% of the corpus, as nanoGPT's prepare.py. The baseline is nanoGPT's own loop written out in plain PyTorch: Python-list `get_batch` with
torch.stack, torch.optim.AdamW with its CPU default (the for-loop implementation), eager model. The
engine is core.lm.train.Trainer exactly as `python -m core train --compile` runs it (fused AdamW,
torch.compile, a one-gather batch sampler, no KV cache during training, its thread setting).

They run side by side in one process, alternating chunks of --chunk iterations, so both see the
same machine load. Throughput counts training steps only (evaluation excluded on both sides; the
engine's one-off compile time is reported separately). Goal: engine val loss <= 1.89 at 2000
iterations and engine tokens/s >= 1.2x the baseline's. Validation loss is reported three ways: the
engine's own 20-batch estimate (nanoGPT's CPU `--eval_iters=20`), 200 fixed random batches, and the
whole validation split in consecutive windows (deterministic: a 20-batch estimate alone varies by
about 0.015 with the windows drawn, a 200-batch one by about 0.005).

  .venv/bin/python bench/train_nanogpt.py [--iters 2000] [--chunk 100] [--no-compile] [--json PATH]
      [--bias] [--activation gelu|gelu_new]
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.lm.gpt import GPTConfig, build_gpt  # noqa: E402
from core.lm.train import Trainer, TrainConfig, lr_lambda  # noqa: E402

DATA = Path("/work/shared/data/tinyshakespeare.txt")


class PlainLoop:
    """nanoGPT's training loop, minimal and eager, on the same GPT2LMHeadModel."""

    def __init__(self, config: TrainConfig, train_ids: torch.Tensor, val_ids: torch.Tensor, vocab: int, seed: int):
        torch.manual_seed(seed)
        self.config = config
        self.train_ids, self.val_ids = train_ids, val_ids
        self.model = build_gpt(GPTConfig(n_layer=config.n_layer, n_head=config.n_head, n_embd=config.n_embd,
                                         block_size=config.block_size, vocab_size=vocab, dropout=0.0,
                                         bias=config.bias, activation=config.activation))
        params = [p for p in self.model.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        self.optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                            {"params": no_decay, "weight_decay": 0.0}],
                                           lr=config.lr, betas=(config.beta1, config.beta2))
        self.lr_factor = lr_lambda(config)
        self.step = 0
        self.train_seconds = 0.0

    def get_batch(self, split: str):
        data = self.train_ids if split == "train" else self.val_ids
        ix = torch.randint(len(data) - self.config.block_size, (self.config.batch_size,))
        x = torch.stack([data[i:i + self.config.block_size] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + self.config.block_size] for i in ix])
        return x, y

    def loss(self, x, y):
        logits = self.model(input_ids=x).logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))

    def run(self, until: int) -> None:
        self.model.train()
        t0 = time.perf_counter()
        while self.step < until:
            for group in self.optimizer.param_groups:
                group["lr"] = self.config.lr * self.lr_factor(self.step)
            x, y = self.get_batch("train")
            loss = self.loss(x, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.step += 1
        self.train_seconds += time.perf_counter() - t0

    @torch.no_grad()
    def evaluate(self, batches: int) -> float:
        self.model.eval()
        gen_state = torch.get_rng_state()
        torch.manual_seed(4242)
        value = statistics.fmean(self.loss(*self.get_batch("val")).item() for _ in range(batches))
        torch.set_rng_state(gen_state)
        self.model.train()
        return value


@torch.no_grad()
def val_loss(model, ids: torch.Tensor, block: int, batch: int, batches: int) -> float:
    """Mean validation loss over fixed random windows (the same windows for both sides)."""
    gen = torch.Generator().manual_seed(7)
    model.eval()
    losses = []
    for _ in range(batches):
        ix = torch.randint(len(ids) - block - 1, (batch,), generator=gen)
        chunk = ids[ix[:, None] + torch.arange(block + 1)]
        logits = model(input_ids=chunk[:, :-1]).logits
        losses.append(F.cross_entropy(logits.reshape(-1, logits.size(-1)), chunk[:, 1:].reshape(-1)).item())
    return statistics.fmean(losses)


@torch.no_grad()
def full_split_loss(model, ids: torch.Tensor, block: int) -> float:
    """Mean loss over the whole validation split, cut into consecutive non-overlapping windows of
    `block` tokens (every in-window position 0..block-1 equally often, as random windows give):
    deterministic, so it carries none of the window-sampling noise of a 20- or 200-batch estimate."""
    model.eval()
    n = (len(ids) - 1) // block
    x, y = ids[: n * block].view(n, block), ids[1: n * block + 1].view(n, block)
    total = 0.0
    for i in range(0, n, 256):
        logits = model(input_ids=x[i:i + 256]).logits
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y[i:i + 256].reshape(-1), reduction="sum").item()
    return total / y.numel()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=100, help="iterations per side before switching")
    parser.add_argument("--no-compile", action="store_true", help="run the engine eager")
    parser.add_argument("--engine-threads", type=int, default=None,
                        help="pin the engine's torch threads (default: measured by its ThreadTuner)")
    parser.add_argument("--bias", action="store_true", help="GPT-2's trainable biases (default: none, as nanoGPT)")
    parser.add_argument("--activation", choices=["gelu", "gelu_new"], default="gelu",
                        help="exact GELU (nanoGPT, default) or GPT-2's tanh approximation")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()

    out = Path(tempfile.mkdtemp(prefix="bench-nanogpt-"))
    config = TrainConfig(corpus=str(args.data), tokenizer="char", n_layer=4, n_head=4, n_embd=128, block_size=64,
                         bias=args.bias, activation=args.activation,
                         batch_size=12, max_iters=args.iters, lr=1e-3, min_lr=1e-4, warmup_iters=100,
                         weight_decay=0.1, beta2=0.99, grad_clip=1.0, dropout=0.0, eval_interval=250,
                         eval_iters=20, log_interval=10 ** 9, sample_tokens=50, compile=not args.no_compile,
                         out=str(out / "engine"), seed=1337, threads=args.engine_threads)
    default_threads = torch.get_num_threads()
    engine = Trainer(config)
    from core.lm.tokenizer import encode_corpus

    ids = torch.tensor(encode_corpus(engine.data.tokenizer, args.data.read_text(encoding="utf-8")))
    n_val = int(len(ids) * 0.1)
    train_ids, val_ids = ids[: len(ids) - n_val], ids[len(ids) - n_val:]
    plain = PlainLoop(config, train_ids, val_ids, vocab=len(engine.data.tokenizer), seed=1337)
    tokens_per_iter = config.batch_size * config.block_size

    pairs = []
    step = 0
    print(f"machine: {default_threads} torch threads by default, torch {torch.__version__}; engine "
          f"compile={config.compile}, threads={'measured' if engine.tuner else engine.threads}, chunk={args.chunk}",
          flush=True)
    while step < args.iters:
        step = min(step + args.chunk, args.iters)
        e0 = engine.train_seconds
        steps_before = engine.step
        engine.run(until=step)
        if engine.threads:
            torch.set_num_threads(default_threads)
        p0 = plain.train_seconds
        plain.run(until=step)
        if engine.threads:
            torch.set_num_threads(engine.threads)
        e_steps = step - steps_before - (1 if (config.compile and steps_before == 0) else 0)
        e_tps = e_steps * tokens_per_iter / (engine.train_seconds - e0)
        p_tps = args.chunk * tokens_per_iter / (plain.train_seconds - p0) if plain.train_seconds > p0 else float("nan")
        pairs.append((e_tps, p_tps))
        line = f"iter {step:5d}: engine {e_tps:8,.0f} tok/s  plain {p_tps:8,.0f} tok/s  ratio {e_tps / p_tps:4.2f}"
        if step % config.eval_interval == 0 or step == args.iters:
            line += f"  | val (20 batches) engine {engine.last_eval.val_loss:.4f} plain {plain.evaluate(20):.4f}"
        print(line, flush=True)
    result_engine = engine.finish()

    precise_engine = val_loss(engine.raw_model, val_ids, config.block_size, config.batch_size, 200)
    precise_plain = val_loss(plain.model, val_ids, config.block_size, config.batch_size, 200)
    full_engine = full_split_loss(engine.raw_model, val_ids, config.block_size)
    full_plain = full_split_loss(plain.model, val_ids, config.block_size)
    ratios = [e / p for e, p in pairs]
    engine_tps = result_engine["tokens_per_second"]
    plain_tps = plain.step * tokens_per_iter / plain.train_seconds
    summary = {
        "iters": args.iters, "parameters": result_engine["parameters"],
        "trainable_parameters": result_engine["trainable_parameters"], "vocab": result_engine["vocab_size"],
        "bias": config.bias, "activation": config.activation,
        "engine_val_loss_20_batches": round(result_engine["val_loss"], 4),
        "engine_val_loss_200_batches": round(precise_engine, 4),
        "plain_val_loss_200_batches": round(precise_plain, 4),
        "engine_val_loss_full_split": round(full_engine, 4), "plain_val_loss_full_split": round(full_plain, 4),
        "engine_tokens_per_second": round(engine_tps), "plain_tokens_per_second": round(plain_tps),
        "engine_ms_per_iter": round(1000 * tokens_per_iter / engine_tps, 1),
        "plain_ms_per_iter": round(1000 * tokens_per_iter / plain_tps, 1),
        "speedup_total": round(engine_tps / plain_tps, 3),
        "speedup_median_chunk": round(statistics.median(ratios), 3),
        "engine_compile_seconds": round(result_engine["compile_seconds"], 1),
        "engine_wall_seconds_incl_eval_and_compile": round(result_engine["wall_seconds"], 1),
        "engine_threads": "measured, last choice %s" % engine.threads if engine.tuner else engine.threads,
        "plain_threads": default_threads,
        "goal_val_loss_le_1.89": precise_engine <= 1.89 and result_engine["val_loss"] <= 1.89,
        "goal_speedup_ge_1.2": engine_tps / plain_tps >= 1.2,
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
