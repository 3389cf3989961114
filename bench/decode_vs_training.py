#!/usr/bin/env python
"""Does decoding keep priority over a running training job? Side by side, in one run.

    .venv/bin/python bench/decode_vs_training.py [--repeats 3] [--json bench/results/decode_vs_training.json]

Three conditions, each measured with the same `python -m core generate` command (SmolLM2, 64 new
tokens, the page's sampling, 3 seeds; median tok/s and time to first token):
1. nothing else running;
2. a training process started as the app starts it (`core.runs.train_argv`, the studio's default
   from-scratch GPT on the bundled corpus, all threads) at nice 0;
3. the same training at nice OPPLAB_TRAINING_NICE (default 10), as `core/runs/launcher.py` launches it.
For 2 and 3 the training's own throughput (its last tokens/s line) is reported too: what the
priority costs the trainer.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPT = "Give me three ideas for a healthcare startup."


def decode(repeats: int) -> dict:
    runs = []
    for seed in range(1, repeats + 1):
        out = subprocess.run([sys.executable, "-m", "core", "generate", "--chat", "--prompt", PROMPT, "--max-new-tokens", "64",
                              "--temperature", "0.7", "--top-k", "50", "--top-p", "0.95", "--repetition-penalty", "1.1",
                              "--seed", str(seed), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-500:])
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"tok_s": round(statistics.median(r["tokens_per_second"] for r in runs), 1),
            "ttft_ms": round(statistics.median(r["ttft_ms"] for r in runs)), "runs": len(runs)}


def with_training(nice: int, repeats: int) -> dict:
    from core.runs import train_argv
    from core.lm.train import TrainConfig

    out_dir = Path(tempfile.mkdtemp(prefix="opplab-bench-train-"))
    config = TrainConfig(corpus="shakespeare", out=str(out_dir), max_iters=100_000, eval_interval=100_000,
                         log_interval=10, sample_tokens=0, threads=os.cpu_count())
    argv = train_argv(config, python=sys.executable)
    if nice:
        argv = ["nice", "-n", str(nice)] + argv
    log = out_dir / "log.txt"
    with open(log, "w") as fh:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 180
        while "tok/s" not in log.read_text() and time.time() < deadline:  # training is under way
            time.sleep(1)
        time.sleep(5)
        before = len(log.read_text())
        result = decode(repeats)
        rates = [float(x.replace(",", "")) for x in re.findall(r"([\d,]+) tok/s", log.read_text()[before:])]
        result["training_tok_s"] = round(statistics.median(rates)) if rates else None
        return result
    finally:
        proc.kill()
        proc.wait()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    from core.config import get_settings

    nice = get_settings().training_nice or 10
    results = {"alone": decode(args.repeats)}
    print(json.dumps(results), flush=True)
    results["training_nice_0"] = with_training(0, args.repeats)
    print(json.dumps(results["training_nice_0"]), flush=True)
    results[f"training_nice_{nice}"] = with_training(nice, args.repeats)
    print(json.dumps(results[f"training_nice_{nice}"]), flush=True)
    results["cpus"], results["load_average_after"] = os.cpu_count(), os.getloadavg()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
