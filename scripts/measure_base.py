#!/usr/bin/env python
"""Measure the bundled base on held-out text (perplexity) for its card on the generation page.

    python scripts/measure_base.py   # writes data/models/base_metrics.json

Same code as `python -m core eval --model smollm2-135m-instruct --task generation
--data data/tasks/generation/test.txt --json`. (The base's task metrics - sentiment, QA,
translation - are measured next to each fine-tuned model by scripts/train_task_models.py.)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = "data/tasks/generation/test.txt"


def main() -> int:
    from core.lm.cards import BASE_METRICS_FILE
    from core.lm.evaluate import evaluate
    from core.lm.loader import load_model
    from core.lm.registry import BASE_MODEL_ID
    from core.lm.tasks import load_task_examples

    lm = load_model(BASE_MODEL_ID, fast=False)
    examples = load_task_examples("generation", ROOT / DATA)
    result = evaluate(lm, "generation", examples)
    out = {"generation": {"perplexity": result["perplexity"], "tokens": result["tokens"], "n": result["n"],
                          "data": DATA + " (English side of the held-out translation test split)",
                          "command": f"python -m core eval --model {BASE_MODEL_ID} --task generation --data {DATA} --json"}}
    path = ROOT / "data" / "models" / BASE_METRICS_FILE
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
