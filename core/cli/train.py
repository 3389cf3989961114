"""python -m core train: train a GPT from scratch on a corpus, or fine-tune a base model on task
data (full or LoRA). Prints a progress line per log step and per eval; with --json, a final JSON
object (train_loss, val_loss, tokens_per_second, wall_seconds, steps, ...). The same command runs
under `torchrun --nproc_per_node N -m core train ...` for DDP.

  python -m core train --corpus shakespeare --tokenizer char --n-layer 4 --n-head 4 --n-embd 128 \\
      --block-size 64 --batch-size 12 --max-iters 2000 --lr 1e-3 --out runs/shakespeare --json
  python -m core train --base smollm2-135m-instruct --task sentiment \\
      --data data/tasks/sentiment/train.csv --lora --max-iters 200 --lr 2e-4 --out runs/sent --json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields

from core.cli import CliParser
from core.lm.train import BaseCallback, EvalInfo, StepInfo, TrainConfig


def build_parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = CliParser(prog="python -m core train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("from scratch")
    g.add_argument("--corpus", help="bundled corpus name (see data/corpora/) or a text file")
    g.add_argument("--tokenizer", choices=["char", "bpe"], default=d.tokenizer)
    g.add_argument("--vocab-size", type=int, default=d.vocab_size, help="BPE vocabulary size")
    g.add_argument("--n-layer", type=int, default=d.n_layer)
    g.add_argument("--n-head", type=int, default=d.n_head)
    g.add_argument("--n-embd", type=int, default=d.n_embd)
    g.add_argument("--block-size", type=int, default=None, help="context length (default 64); max sequence length when fine-tuning (default 256)")
    g.add_argument("--dropout", type=float, default=d.dropout)
    g.add_argument("--bias", action=argparse.BooleanOptionalAction, default=d.bias,
                   help="trainable biases in Linear and LayerNorm like GPT-2 (--bias) or none like nanoGPT "
                        "(--no-bias, the default: biases frozen at zero)")
    g.add_argument("--activation", choices=["gelu", "gelu_new"], default=d.activation,
                   help="MLP activation: exact GELU (nanoGPT, default) or GPT-2's tanh approximation")
    g = p.add_argument_group("fine-tuning")
    g.add_argument("--base", help="registry id (e.g. smollm2-135m-instruct) or a local HF directory")
    g.add_argument("--task", choices=["generation", "qa", "translation", "sentiment"])
    g.add_argument("--data", help="task data file (sentiment CSV, QA JSONL, translation TSV, text)")
    g.add_argument("--val-data", help="held-out task file (default: 10%% of --data)")
    g.add_argument("--lora", action="store_true", help="train LoRA adapters instead of all weights")
    g.add_argument("--lora-r", type=int, default=d.lora_r)
    g.add_argument("--lora-alpha", type=int, default=d.lora_alpha)
    g.add_argument("--prompt-version", type=int, choices=[1, 2], default=d.prompt_version,
                   help="task prompt format: 1 (instruction) or 2 (system turn and worked examples, the Qwen task models')")
    g = p.add_argument_group("optimisation")
    g.add_argument("--batch-size", type=int, default=None, help="default 12 from scratch, 8 fine-tuning")
    g.add_argument("--grad-accum", type=int, default=d.grad_accum, help="micro-batches per optimizer step")
    g.add_argument("--max-iters", type=int, default=d.max_iters, help="optimizer steps")
    g.add_argument("--lr", type=float, default=None, help="peak learning rate (default 1e-3 from scratch, 2e-4 LoRA, 5e-5 full)")
    g.add_argument("--min-lr", type=float, default=None, help="final learning rate (default lr/10)")
    g.add_argument("--warmup-iters", type=int, default=None, help="default min(100, max-iters/10)")
    g.add_argument("--weight-decay", type=float, default=d.weight_decay)
    g.add_argument("--beta2", type=float, default=d.beta2)
    g.add_argument("--grad-clip", type=float, default=d.grad_clip, help="0 disables clipping")
    g = p.add_argument_group("evaluation and checkpoints")
    g.add_argument("--eval-interval", type=int, default=d.eval_interval)
    g.add_argument("--eval-iters", type=int, default=d.eval_iters, help="batches per evaluation")
    g.add_argument("--log-interval", type=int, default=d.log_interval)
    g.add_argument("--checkpoint-interval", type=int, default=None, help="default: eval interval")
    g.add_argument("--sample-tokens", type=int, default=d.sample_tokens)
    g = p.add_argument_group("runtime")
    g.add_argument("--out", required=True, help="run folder: checkpoint/, model/, metrics.jsonl")
    g.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--device", choices=["auto", "cpu", "cuda"], default=d.device)
    g.add_argument("--compile", action="store_true", help="torch.compile the model (slow start, faster steps)")
    g.add_argument("--threads", type=int, default=None, help="torch threads per process")
    g.add_argument("--run-id", help="report progress to this studio run in the store")
    g.add_argument("--json", action="store_true", help="print a final JSON object")
    g.add_argument("--quiet", action="store_true", help="no progress lines")
    return p


class PrintCallback(BaseCallback):
    def __init__(self, stream=sys.stderr):
        self.stream = stream

    def on_train_begin(self, info: dict) -> None:
        keys = ("parameters", "trainable_parameters", "vocab_size", "train_tokens", "train_examples", "start_step", "world_size", "device")
        print("start " + " ".join(f"{k}={info[k]}" for k in keys if k in info), file=self.stream, flush=True)

    def on_step(self, info: StepInfo) -> None:
        print(f"step {info.step}/{info.max_steps} loss {info.train_loss:.4f} lr {info.learning_rate:.2e} "
              f"{info.tokens_per_second:,.0f} tok/s eta {info.eta_seconds:.0f}s", file=self.stream, flush=True)

    def on_eval(self, info: EvalInfo) -> None:
        print(f"eval step {info.step}: train {info.train_loss:.4f} val {info.val_loss:.4f}", file=self.stream, flush=True)
        if info.sample:
            print("sample: " + info.sample[:160].replace("\n", " / "), file=self.stream, flush=True)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in names})


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    callbacks: list = [] if args.quiet else [PrintCallback(sys.stderr if args.json else sys.stdout)]
    if args.run_id:
        from core.jobs import StoreCallback

        callbacks.append(StoreCallback(args.run_id))
    from core.lm.checkpoint import CheckpointError
    from core.lm.corpora import CorpusError
    from core.lm.train import train

    errors: tuple[type[BaseException], ...] = (ValueError, CheckpointError, CorpusError, FileNotFoundError)
    try:
        result = train(config, callbacks)
    except errors as exc:
        for cb in callbacks:
            if hasattr(cb, "on_error"):
                cb.on_error(str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BaseException as exc:  # an unexpected crash still marks the studio run as failed
        for cb in callbacks:
            if hasattr(cb, "on_error"):
                cb.on_error(f"{type(exc).__name__}: {exc}")
        raise
    if args.json and os.environ.get("RANK", "0") == "0":  # one result under torchrun
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
