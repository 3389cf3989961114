"""python -m core estimate training|memory|inference|accelerators|validate [options] [--json]

The same numbers as the Training cost and Memory & inference pages. Counts accept 7e9, 7B, 1.4T.
Errors go to stderr with exit code 2.
"""
from __future__ import annotations

import argparse
import json
import math
import sys

from core.cli import CliParser
from core.estimate import catalogue, validation
from core.estimate.architecture import Architecture, shape_from_params
from core.estimate.inference import estimate_inference
from core.estimate.inputs import (ArchitectureInputs, InferenceInputs, InputError, MemoryInputs, TrainingInputs,
                                  parse)
from core.estimate.memory import training_memory
from core.estimate.training import estimate_training
from core.estimate.units import parse_count


def _count(text: str) -> float:
    try:
        return parse_count(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_architecture(p: argparse.ArgumentParser, required_params: bool = False) -> None:
    p.add_argument("--preset", help="model preset id (see data/model_presets.csv), e.g. llama2_7b")
    p.add_argument("--params", type=_count, required=required_params, help="parameters N, e.g. 7e9 or 7B")
    for name, text in (("layers", "transformer layers"), ("hidden", "hidden size"), ("heads", "attention heads"),
                       ("kv-heads", "key/value heads (GQA)"), ("ffn-hidden", "MLP hidden size"),
                       ("vocab", "vocabulary size")):
        p.add_argument(f"--{name}", type=int, help=f"{text} (overrides the preset)")


def _architecture(args) -> Architecture:
    """A preset, a custom shape (all of --layers/--hidden/--heads), or a shape estimated from --params."""
    base = catalogue.preset(args.preset) if args.preset else None
    custom = {k: getattr(args, k) for k in ("layers", "hidden", "heads", "kv_heads", "ffn_hidden", "vocab")}
    if base is None and not any(v is not None for v in custom.values()):
        if args.params is None:
            raise InputError({"--params": "give --preset, --params, or the architecture flags"})
        return shape_from_params(args.params)
    if base is None:
        if None in (custom["layers"], custom["hidden"], custom["heads"]):
            raise InputError({"--layers/--hidden/--heads": "a custom architecture needs all three"})
        base = Architecture(name="custom", layers=custom["layers"], hidden=custom["hidden"], heads=custom["heads"],
                            kv_heads=custom["kv_heads"] or custom["heads"], ffn_hidden=custom["ffn_hidden"] or 4 * custom["hidden"],
                            vocab=custom["vocab"] or 32000, context=4096, gated_mlp=False)
    merged = {k: (v if v is not None else getattr(base, k)) for k, v in custom.items()}
    arch_in = parse(ArchitectureInputs, merged | {"context": base.context, "gated_mlp": base.gated_mlp,
                                                   "tied_embeddings": base.tied_embeddings})
    return Architecture(name=base.name, params=args.params or base.params, **arch_in.model_dump())


def _build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="python -m core estimate", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True, parser_class=CliParser)

    t = sub.add_parser("training", help="training FLOPs, accelerator-hours, wall clock, cost, energy")
    t.add_argument("--params", type=_count, required=True, help="parameters N, e.g. 7e9 or 7B")
    t.add_argument("--tokens", type=_count, required=True, help="training tokens D, e.g. 2e12 or 2T")
    t.add_argument("--accelerator", required=True, help="accelerator id (see `estimate accelerators`)")
    t.add_argument("--count", type=int, required=True, help="number of accelerators")
    t.add_argument("--mfu", type=float, default=0.4, help="model FLOPs utilisation in (0, 1] (default 0.4)")
    t.add_argument("--tokens-per-second", type=float, help="measured tokens/s per accelerator (replaces --mfu)")
    t.add_argument("--price", type=float, help="USD per accelerator-hour (default: cheapest catalogue price)")
    t.add_argument("--pue", type=float, default=1.2, help="data-centre power usage effectiveness (default 1.2)")
    t.add_argument("--recompute", action="store_true", help="full activation recomputation (8·N·D)")

    m = sub.add_parser("memory", help="training memory per accelerator (full, LoRA, QLoRA; ZeRO; TP/PP)")
    _add_architecture(m)
    m.add_argument("--method", choices=["full", "lora", "qlora"], default="full", help="what is trained (default full)")
    m.add_argument("--seq-len", type=int, default=2048, help="sequence length (default 2048)")
    m.add_argument("--micro-batch", type=int, default=1, help="micro-batch per accelerator (default 1)")
    m.add_argument("--recompute", choices=["none", "selective", "full"], default="none", help="activation recomputation")
    m.add_argument("--zero", type=int, default=0, help="ZeRO stage 0-3 (default 0)")
    m.add_argument("--count", type=int, default=1, help="accelerators in total (default 1)")
    m.add_argument("--tp", type=int, default=1, help="tensor-parallel degree (default 1)")
    m.add_argument("--pp", type=int, default=1, help="pipeline-parallel degree (default 1)")
    m.add_argument("--lora-rank", type=int, default=16, help="LoRA rank (default 16)")
    m.add_argument("--accelerator", help="also say whether it fits this accelerator")

    i = sub.add_parser("inference", help="serving memory, tokens/s, latency, cost per 1M tokens")
    _add_architecture(i)
    i.add_argument("--accelerator", required=True, help="accelerator id")
    i.add_argument("--count", type=int, default=1, help="accelerators (tensor parallel, default 1)")
    i.add_argument("--dtype", default="bf16", help="weights: fp32, bf16, fp16, int8, int4 (default bf16)")
    i.add_argument("--kv-dtype", default="bf16", help="KV cache dtype (default bf16)")
    i.add_argument("--batch", type=int, default=1, help="concurrent sequences (default 1)")
    i.add_argument("--prompt-tokens", type=int, default=512, help="prompt length (default 512)")
    i.add_argument("--output-tokens", type=int, default=256, help="generated tokens (default 256)")
    i.add_argument("--efficiency", type=float, default=0.7, help="achieved / peak compute and bandwidth (default 0.7)")
    i.add_argument("--price", type=float, help="USD per accelerator-hour (default: catalogue price)")

    sub.add_parser("accelerators", help="list the accelerator catalogue (shipped and yours)")
    v = sub.add_parser("validate", help="our estimates vs published training runs, with %% error")
    v.add_argument("--default-mfu", type=float, default=validation.DEFAULT_MFU,
                   help="MFU for runs that report none (default 0.4)")
    for p in (t, m, i, sub.choices["accelerators"], v):
        p.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


def _records(df) -> list[dict]:
    return [_clean(r) for r in df.astype(object).where(df.notna(), None).to_dict("records")]


def _run(args) -> dict:
    if args.what == "training":
        inp = parse(TrainingInputs, {"params": args.params, "tokens": args.tokens, "accelerator_id": args.accelerator,
                                     "count": args.count, "mfu": args.mfu, "usd_per_accelerator_hour": args.price,
                                     "pue": args.pue, "recompute": args.recompute,
                                     "tokens_per_second_per_accelerator": args.tokens_per_second})
        acc = catalogue.accelerator(inp.accelerator_id)
        price = inp.usd_per_accelerator_hour if inp.usd_per_accelerator_hour is not None else acc.usd_per_accelerator_hour
        est = estimate_training(inp.params, inp.tokens, acc.bf16_tflops_dense, inp.count, inp.mfu, price,
                                acc.board_power_w, inp.pue, inp.recompute, inp.tokens_per_second_per_accelerator)
        return {"accelerator": acc.accelerator_id, "count": inp.count, "mfu": inp.mfu} | est.as_dict()
    if args.what == "memory":
        inp = parse(MemoryInputs, {"method": args.method, "seq_len": args.seq_len, "micro_batch": args.micro_batch,
                                   "recompute": args.recompute, "zero_stage": args.zero, "count": args.count,
                                   "tensor_parallel": args.tp, "pipeline_parallel": args.pp, "lora_rank": args.lora_rank})
        arch = _architecture(args)
        mem = training_memory(arch.params_count, arch=arch, **inp.model_dump())
        out = {"model": arch.name, "params": arch.params_count} | mem.as_dict()
        if args.accelerator:
            acc = catalogue.accelerator(args.accelerator)
            out |= {"accelerator": acc.accelerator_id, "capacity_gib": acc.memory_gib, "fits": mem.total_gib <= acc.memory_gib}
        return out
    if args.what == "inference":
        inp = parse(InferenceInputs, {"accelerator_id": args.accelerator, "count": args.count, "dtype": args.dtype,
                                      "kv_dtype": args.kv_dtype, "batch": args.batch, "prompt_tokens": args.prompt_tokens,
                                      "output_tokens": args.output_tokens, "efficiency": args.efficiency,
                                      "usd_per_accelerator_hour": args.price})
        arch = _architecture(args)
        acc = catalogue.accelerator(inp.accelerator_id)
        price = inp.usd_per_accelerator_hour if inp.usd_per_accelerator_hour is not None else acc.usd_per_accelerator_hour
        est = estimate_inference(arch, peak_tflops=acc.bf16_tflops_dense, bandwidth_tbs=acc.bandwidth_tbs,
                                 memory_gib=acc.memory_gib, count=inp.count, dtype=inp.dtype, kv_dtype=inp.kv_dtype,
                                 batch=inp.batch, prompt_tokens=inp.prompt_tokens, output_tokens=inp.output_tokens,
                                 efficiency=inp.efficiency, usd_per_accelerator_hour=price)
        return {"model": arch.name, "params": arch.params_count, "accelerator": acc.accelerator_id} | est.as_dict()
    if args.what == "accelerators":
        df = catalogue.accelerators()
        return {"accelerators": _records(df)}
    table = validation.validation_table(args.default_mfu)
    return {"default_mfu": args.default_mfu, "summary": validation.summary(table), "runs": _records(table)}


def _print_text(result: dict) -> None:
    for key, value in result.items():
        if isinstance(value, list):
            for row in value:
                print("  ".join(f"{k}={v}" for k, v in row.items() if v is not None))
        else:
            print(f"{key}: {value}")


def main(argv: list[str]) -> int:
    try:
        args = _build_parser().parse_args(argv)
    except SystemExit as exc:  # --help exits 0; errors carry a message
        if exc.code in (0, None):
            return 0
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        return 2
    try:
        result = _clean(_run(args))
    except InputError as exc:  # every bad field, on one line
        print("error: " + "; ".join(f"{field}: {message}" for field, message in exc.errors.items()), file=sys.stderr)
        return 2
    except (KeyError, ValueError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print_text(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
