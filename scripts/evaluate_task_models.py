#!/usr/bin/env python
"""Measure the shipped task models on the realistic held-out sets and write their cards.

    python scripts/evaluate_task_models.py [--tasks qa translation sentiment] [--models ID ...]
                                           [--secondary-limit 100] [--no-write]

For each task, every candidate (the prompted Qwen2.5 model and the SmolLM2 LoRA) is evaluated on
the task's realistic test set (what a founder types; see data/cards/task_*.md) through the demos'
own path (`python -m core eval --fast`: int8 decoder, constrained QA, label scoring), and on the
old in-domain test split as a secondary line (its first --secondary-limit examples). The best by
the headline metric becomes the page default (card "default": true). Cards get the metrics, the
test file, the exact eval command and the old numbers as "secondary"; all numbers also go to
bench/results/task_models.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REALISTIC = {"qa": "data/tasks/qa/test_realistic.jsonl", "translation": "data/tasks/translation/test_everyday.tsv",
             "sentiment": "data/tasks/sentiment/test_reviews.csv"}
OLD = {"qa": "data/tasks/qa/test.jsonl", "translation": "data/tasks/translation/test.tsv",
       "sentiment": "data/tasks/sentiment/test.csv"}
CANDIDATES = {task: [f"{task}-qwen2.5-0.5b", f"{task}-smollm2-lora"] for task in REALISTIC}
CANDIDATES["sentiment"].append("sentiment-routed-en-zh")  # each review to the model best for its language
HEADLINE = {"qa": "f1", "translation": "chrf_4dir", "sentiment": "accuracy"}
DROP = ("model", "task", "decoder", "seconds", "predictions", "by_direction")


def _clean(metrics: dict) -> dict:
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in metrics.items() if k not in DROP}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="+", default=list(REALISTIC), choices=list(REALISTIC))
    p.add_argument("--models", nargs="*", help="only these model ids")
    p.add_argument("--secondary-limit", type=int, default=100)
    p.add_argument("--no-write", action="store_true", help="print only; leave the cards alone")
    p.add_argument("--results", default=str(ROOT / "bench" / "results" / "task_models.json"),
                   help="the JSON file of all measurements (read, updated, written back)")
    p.add_argument("--cards-only", action="store_true",
                   help="no evaluation: write the cards from bench/results/task_models.json")
    args = p.parse_args(argv)

    from core.lm.evaluate import evaluate
    from core.lm.loader import load_model
    from core.lm.tasks import load_task_examples

    results_path = Path(args.results)
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    for task in args.tasks:
        if not args.cards_only:
            examples = load_task_examples(task, ROOT / REALISTIC[task])
            old = load_task_examples(task, ROOT / OLD[task])
        for model_id in CANDIDATES[task]:
            if args.cards_only or args.models and model_id not in args.models:
                continue
            card_path = ROOT / "data" / "models" / model_id / "model_card.json"
            if not card_path.is_file():
                continue
            lm = load_model(model_id)
            t0 = time.time()
            main_metrics = evaluate(lm, task, examples, fast=True)
            secondary = evaluate(lm, task, old, fast=True, limit=args.secondary_limit)
            entry = {"metrics": _clean(main_metrics), "test_data": REALISTIC[task], "n": len(examples),
                     "secondary": {"data": OLD[task], **_clean(secondary)},
                     "decoder": main_metrics["decoder"], "seconds": round(time.time() - t0, 1)}
            if task == "translation":
                entry["by_direction"] = main_metrics["by_direction"]
            results.setdefault(task, {})[model_id] = entry
            print(f"{task} {model_id}: {json.dumps(entry['metrics'])} | secondary {json.dumps(entry['secondary'])}", flush=True)
            del lm
        results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        if args.no_write:
            continue
        scored = {m: r["metrics"].get(HEADLINE[task], -1) for m, r in results.get(task, {}).items()}
        best = max(scored, key=scored.get) if scored else None
        for model_id, entry in results.get(task, {}).items():
            card_path = ROOT / "data" / "models" / model_id / "model_card.json"
            card = json.loads(card_path.read_text())
            secondary = entry["secondary"]
            old_full = card.get("metrics") or {}
            kept = card.get("secondary") or {}
            if kept.get("data") == OLD[task] and kept.get("n", 0) > secondary.get("n", 0):
                secondary = kept  # a whole-split measurement written by an earlier run
            elif card.get("test_data") == OLD[task] and old_full.get("n", 0) > secondary.get("n", 0):
                # the whole old split, measured when the model was trained: the better secondary line
                secondary = {"data": OLD[task], **_clean(old_full),
                             **{f"chrf_{d}": round(v["chrf"], 2) for d, v in old_full.get("by_direction", {}).items()}}
            if "base_metrics" in card and card.get("test_data") != entry["test_data"]:
                card.pop("base_metrics")  # measured on the old split: no longer this card's test set
            card.update({
                "metrics": entry["metrics"], "test_data": entry["test_data"], "secondary": secondary,
                "default": model_id == best,
                "eval_command": f"python -m core eval --model {model_id} --task {task} --data {entry['test_data']} --fast --json",
                "metric_note": (f"held-out realistic test set ({entry['test_data']}), measured one example at a "
                                f"time through the demos' own path ({entry['decoder']}) by scripts/evaluate_task_models.py"),
            })
            card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, ensure_ascii=False)[:4000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
