"""python -m core eval: measure a model on a task file (held-out split) and print its metrics.

  python -m core eval --model smollm2-135m-instruct --task sentiment --data data/tasks/sentiment/test.csv --json
  python -m core eval --model data/models/qa-smollm2-lora --task qa --data data/tasks/qa/test.jsonl --fast

Options: --model ID|DIR, --task generation|qa|translation|sentiment, --data PATH, --limit N (first N
examples), --fast (the demos' int8 CPU decoder, one example at a time), --calibrate/--no-calibrate
(sentiment label scoring against an empty review; default: on for models not trained for
sentiment), --device auto|cpu|cuda, --predictions (include outputs), --save (record it in the
store's Evaluation table), --json (one JSON object).
"""
from __future__ import annotations

import argparse
import json
import sys

from core.cli import CliParser


def main(argv: list[str]) -> int:
    p = CliParser(prog="python -m core eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="registry id or local HF directory")
    p.add_argument("--task", required=True, choices=["generation", "qa", "translation", "sentiment"])
    p.add_argument("--data", required=True, help="task file: sentiment CSV, QA JSONL, translation TSV, text")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N examples")
    p.add_argument("--fast", action="store_true", help="use the int8 CPU decoder of the demos")
    p.add_argument("--calibrate", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    p.add_argument("--predictions", action="store_true", help="include the model outputs")
    p.add_argument("--save", action="store_true", help="record the result in the store")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be positive", file=sys.stderr)
        return 2

    from transformers.utils import logging as hf_logging

    from core.lm.evaluate import check_examples, evaluate
    from core.lm.loader import ModelLoadError, load_model
    from core.lm.tasks import TaskDataError, load_task_examples

    hf_logging.disable_progress_bar()  # stderr carries progress lines and one error line, not bars
    try:
        examples = load_task_examples(args.task, args.data)
        check_examples(args.task, examples)
        lm = load_model(args.model, fast=args.fast, device="cpu" if args.fast else args.device)
        result = evaluate(lm, args.task, examples, fast=args.fast, calibrate=args.calibrate,
                          limit=args.limit, with_predictions=args.predictions)
    except (TaskDataError, ModelLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result["data"] = args.data
    if args.save:
        from core import store

        with store.session() as s:
            from core.owner import local_actor

            s.add(store.Evaluation(model_id=lm.info.id, owner=local_actor().user, task=args.task, data_path=args.data,
                                   metrics=store.dumps(result), command="python -m core eval " + " ".join(argv)))
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for k, v in result.items():
            if k != "predictions":
                print(f"{k}: {v:.2f}" if isinstance(v, float) else f"{k}: {v}")
        if "predictions" in result:  # one line per example, numbered as in the data file
            print("predictions:")
            for i, pred in enumerate(result["predictions"], 1):
                print(f"{i}\t" + " ".join(str(pred).split()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
