#!/usr/bin/env python
"""Generation speed: the demos' fast decoder vs plain fp32 `model.generate`, side by side.

    .venv/bin/python bench/generation.py [--model ID] [--new-tokens 64] [--repeats 3] [--threads N]
                                         [--quality-examples 30] [--json]

Same weights, same process, runs interleaved (plain, fast, plain, fast, ...) so that load from
other processes hits both alike. Reports median decode tokens/s and time to first token (a
~100-token prompt), their ratio, how many greedy tokens agree with fp32, and - because int8
weights may flip a near-tie - the task metric of the shipped QA and translation models with both
decoders on the first N held-out test examples (the goal: within 1 point).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from transformers.generation.streamers import BaseStreamer  # noqa: E402

PROMPTS = [
    "Write a short story about a robot who learns to paint. Describe the colours and the feelings of the robot "
    "in detail, and end with a surprise. Keep it under two hundred words please, and give it a title. The robot "
    "lives in a small flat above a bakery in an old harbour town, and paints only at night, by candle light.",
    "Explain to a new founder, step by step, how a language model is trained: data collection, tokenisation, "
    "pre-training on next-token prediction, instruction tuning and evaluation. Mention what each step costs, "
    "which part needs the most compute, and what a small team can do on a single rented GPU for a week.",
    "List five practical uses of sentiment analysis for a small online shop, with one sentence for each use, "
    "and say which data the shop would need to collect first and how it would measure success. The shop sells "
    "hand-made ceramics in English and Chinese and gets about two hundred reviews a month from its regular customers.",
]


class TimingStreamer(BaseStreamer):
    """Records when model.generate hands over the prompt and each new token."""

    def __init__(self):
        self.times: list[float] = []

    def put(self, value):
        self.times.append(time.perf_counter())

    def end(self):
        pass


def plain_generate(lm, prompt_ids: list[int], n: int) -> tuple[float, float, list[int]]:
    streamer = TimingStreamer()
    ids = torch.tensor([prompt_ids])
    with torch.inference_mode():
        t0 = time.perf_counter()
        out = lm.model.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=False, streamer=streamer,
                                pad_token_id=lm.tokenizer.pad_token_id)
    new = out[0, len(prompt_ids):].tolist()
    token_times = streamer.times[1:]  # the first put() is the prompt
    ttft = (token_times[0] - t0) * 1000
    tps = (len(token_times) - 1) / (token_times[-1] - token_times[0])
    return tps, ttft, new


def fast_generate(lm, prompt: str, n: int):
    from core.lm.generate import Generation, GenerationParams

    gen = Generation(lm, prompt, GenerationParams(max_new_tokens=n, greedy=True, repetition_penalty=1.0, ignore_eos=True))
    for _ in gen:
        pass
    r = gen.result
    return r.tokens_per_second, r.ttft_ms, r.token_ids


def quality(n_examples: int) -> dict:
    from core.lm.evaluate import evaluate
    from core.lm.loader import load_model
    from core.lm.tasks import load_task_examples

    out = {}
    for task, model_id, path, keys in (("qa", "qa-smollm2-lora", "data/tasks/qa/test.jsonl", ("exact_match", "f1")),
                                       ("translation", "translation-smollm2-lora", "data/tasks/translation/test.tsv", ("bleu", "chrf"))):
        lm = load_model(model_id)
        examples = load_task_examples(task, ROOT / path)[:n_examples]
        ref = evaluate(lm, task, examples, fast=False)
        fast = evaluate(lm, task, examples, fast=True)
        out[task] = {k: {"fp32": round(ref[k], 2), "fast": round(fast[k], 2), "delta": round(fast[k] - ref[k], 2)} for k in keys}
        out[task]["n"] = len(examples)
        del lm
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default OPPLAB_TORCH_THREADS)")
    p.add_argument("--quality-examples", type=int, default=30, help="0 skips the task-metric check")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    from core.lm.loader import load_model
    from core.lm.tasks import chat_prompt

    load_before = os.getloadavg()[0]
    t = time.perf_counter()
    lm = load_model(args.model)
    load_s = time.perf_counter() - t
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = {"plain": {"tps": [], "ttft": []}, "fast": {"tps": [], "ttft": []}}
    agree, total, identical = 0, 0, 0
    prompt_tokens = []
    for _ in range(args.repeats):
        for text in PROMPTS:
            prompt = chat_prompt([{"role": "user", "content": text}], lm.tokenizer)
            ids = lm.tokenizer(prompt, add_special_tokens=False)["input_ids"]
            prompt_tokens.append(len(ids))
            tps_p, ttft_p, new_p = plain_generate(lm, ids, args.new_tokens)
            tps_f, ttft_f, new_f = fast_generate(lm, prompt, args.new_tokens)
            rows["plain"]["tps"].append(tps_p)
            rows["plain"]["ttft"].append(ttft_p)
            rows["fast"]["tps"].append(tps_f)
            rows["fast"]["ttft"].append(ttft_f)
            prefix = next((i for i, (a, b) in enumerate(zip(new_p, new_f)) if a != b), min(len(new_p), len(new_f)))
            agree += prefix
            total += len(new_p)
            identical += int(new_p == new_f)
    med = {k: {m: statistics.median(v) for m, v in d.items()} for k, d in rows.items()}
    result = {
        "model": args.model, "threads": torch.get_num_threads(), "new_tokens": args.new_tokens,
        "fast_decoder": "native" if lm.fast.native else "torch-int8",
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "prompt_tokens": statistics.median(prompt_tokens), "runs_each": len(rows["plain"]["tps"]), "load_s": round(load_s, 2),
        "plain_fp32_generate": {"tokens_per_second": round(med["plain"]["tps"], 1), "ttft_ms": round(med["plain"]["ttft"], 0)},
        "fast_int8": {"tokens_per_second": round(med["fast"]["tps"], 1), "ttft_ms": round(med["fast"]["ttft"], 0)},
        "speedup": round(med["fast"]["tps"] / med["plain"]["tps"], 2),
        "greedy_identical_runs": f"{identical}/{len(rows['plain']['tps'])}",
        "greedy_tokens_before_first_difference": f"{agree}/{total}",
    }
    if args.quality_examples:
        result["task_metrics_fp32_vs_fast"] = quality(args.quality_examples)
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:40} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
