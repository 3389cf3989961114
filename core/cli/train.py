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


def _help(f) -> str:
    text = f.metadata["help"].replace("%", "%%")
    by_kind = f.metadata.get("by_kind")
    if by_kind:
        text += " (default " + ", ".join(f"{by_kind[k]:g} {k}" if isinstance(by_kind[k], float) else f"{by_kind[k]} {k}"
                                         for k in by_kind) + ")"
    elif f.default is not None and not isinstance(f.default, bool):
        text += f" (default {f.default})"
    return text


def build_parser() -> argparse.ArgumentParser:
    """One flag per TrainConfig field, from its metadata (the way HfArgumentParser reads a
    dataclass): type from the annotation, choices, help, group; kind-dependent defaults stay None
    here and are filled by TrainConfig itself, so the CLI, the studio and to_argv() agree."""
    p = CliParser(prog="python -m core train", description=__doc__,
                  formatter_class=argparse.RawDescriptionHelpFormatter)
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in fields(TrainConfig):
        g = groups.get(f.metadata["group"]) or groups.setdefault(f.metadata["group"],
                                                                  p.add_argument_group(f.metadata["group"]))
        flag = "--" + f.name.replace("_", "-")
        kind = str(f.type).replace(" ", "")
        if kind == "bool":
            g.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default, help=_help(f))
            continue
        conv = int if kind.startswith("int") else float if kind.startswith("float") else str
        default = None if f.metadata.get("by_kind") else f.default
        g.add_argument(flag, type=conv, default=default, choices=f.metadata.get("choices"),
                       required=f.metadata.get("required", False), help=_help(f))
    g = groups["runtime"]
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
        from core.runs import StoreCallback

        callbacks.append(StoreCallback(args.run_id))
    from core.lm.checkpoint import CheckpointError
    from core.lm.corpora import CorpusError
    from core.lm.train import train

    errors: tuple[type[BaseException], ...] = (ValueError, CheckpointError, CorpusError, FileNotFoundError)
    try:
        result = train(config, callbacks)
    except errors as exc:
        for cb in callbacks:
            cb.on_error(str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BaseException as exc:  # an unexpected crash still marks the studio run as failed
        for cb in callbacks:
            cb.on_error(f"{type(exc).__name__}: {exc}")
        raise
    if args.json and os.environ.get("RANK", "0") == "0":  # one result under torchrun
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
