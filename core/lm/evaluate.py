"""Evaluate a model on a task file: the held-out metrics shown on every model card.

`evaluate(lm, task, examples)` -> {"task", "n", metric...}. sentiment: accuracy (%), also per
language; qa: exact match and F1 (%) (always one question at a time, through the demos' constrained path); translation: BLEU and chrF per direction and their mean;
generation: perplexity of the text. `fast=True` runs single examples through the CPU fast decoder
(what the demo pages use) instead of batched fp32 generation, to check it loses no quality.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import torch

from core.lm import inference, metrics, tasks


def check_examples(task: str, examples: Sequence[dict[str, Any]]) -> None:
    """Refuse examples that cannot be scored, before a model is loaded for them."""
    if task == "sentiment" and not any("label" in e for e in examples):
        raise tasks.TaskDataError("a sentiment evaluation file needs a `label` column")


def _sentiment(lm, examples, calibrate: bool | None) -> tuple[dict[str, Any], list[str]]:
    check_examples("sentiment", examples)
    examples = [e for e in examples if "label" in e]
    preds = inference.predict_sentiment(lm, [e["text"] for e in examples], calibrate=calibrate)
    labels = [e["label"] for e in examples]
    out: dict[str, Any] = {"accuracy": metrics.accuracy([p.label for p in preds], labels)}
    langs = sorted({e.get("lang", "") for e in examples} - {""})
    for lang in langs:
        idx = [i for i, e in enumerate(examples) if e.get("lang") == lang]
        out[f"accuracy_{lang}"] = metrics.accuracy([preds[i].label for i in idx], [labels[i] for i in idx])
    out["calibrated"] = inference.calibrated_by_default(lm) if calibrate is None else calibrate
    # one line per review: the label, P(positive) and the demo's "mixed" flag when the labels are close
    shown = [f"{p.label} p(positive)={p.positive:.2f}" + (" mixed" if p.mixed else "") for p in preds]
    return out, shown


def _qa(lm, examples, fast: bool) -> tuple[dict[str, Any], list[str]]:
    # one question at a time through the demos' own path (passage choice, span-constrained
    # decoding): fast=True with the int8 decoder the page uses, else with the fp32 forward
    preds = [inference.answer_question(lm, e["context"], e["question"], use_fast=fast).text for e in examples]
    return metrics.qa_scores(preds, [e["answers"] for e in examples]), preds


def _translation(lm, examples, fast: bool) -> tuple[dict[str, Any], list[str]]:
    if fast:
        hyps = [inference.translate(lm, e["source"], e["src_lang"], e["tgt_lang"]) for e in examples]
    else:
        prompts = [inference.translation_prompt(lm, e["source"], e["src_lang"], e["tgt_lang"]) for e in examples]
        budget = min(256, max(inference.translation_budget(lm, e["source"]) for e in examples))
        hyps = [inference.clean_translation(h) for h in inference.batch_generate(lm, prompts, budget)]
    scores = metrics.translation_scores(hyps, [e["target"] for e in examples],
                                        [e["tgt_lang"] for e in examples], [e["src_lang"] for e in examples])
    return scores, hyps


@torch.inference_mode()
def _generation(lm, examples) -> dict[str, Any]:
    device = next(lm.model.parameters()).device
    limit = min(1024, int(getattr(lm.model.config, "max_position_embeddings", None) or getattr(lm.model.config, "n_positions", 1024)))
    nll, n = 0.0, 0
    for e in examples:
        ids = lm.tokenizer(e["text"], add_special_tokens=False)["input_ids"][:limit]
        if len(ids) < 2:
            continue
        x = torch.tensor([ids], device=device)
        loss = lm.model(input_ids=x, labels=x).loss.float().item()
        nll += loss * (len(ids) - 1)
        n += len(ids) - 1
    if n == 0:
        raise tasks.TaskDataError("the text is too short to measure perplexity")
    return {"perplexity": metrics.perplexity(nll, n), "tokens": n}


INSTRUCTION_TOKENS = 120  # as the generation page's default length budget for a short answer


def _instructions(lm, examples) -> tuple[dict[str, Any], list[str]]:
    """Each instruction as the generation page sends it (one user turn, chat template), greedy, then
    the verifiable checks (core.lm.instruct_checks): score overall and per language."""
    from core.lm import instruct_checks
    from core.lm.generate import Generation, GenerationParams

    results, shown = [], []
    for e in examples:
        full = tasks.chat_prompt([{"role": "user", "content": str(e["instruction"])}], lm.tokenizer)
        gen = Generation(lm, full, GenerationParams(max_new_tokens=INSTRUCTION_TOKENS, greedy=True))
        for _ in gen:
            pass
        answer = gen.result.text.strip()
        r = instruct_checks.check(answer, e)
        results.append(r)
        failed = [k for k, ok in r.items() if not ok]
        shown.append(f"[{e.get('lang', 'en')}] {'ok' if not failed else 'failed ' + ','.join(failed)}: {answer}")
    out = {f"instructions_{k}": v for k, v in instruct_checks.score(results).items()}
    for lang in sorted({e.get("lang", "en") for e in examples}):
        mine = [r for r, e in zip(results, examples) if e.get("lang", "en") == lang]
        out[f"instructions_{lang}"] = instruct_checks.score(mine)["checks_passed"]
        out[f"instructions_all_passed_{lang}"] = instruct_checks.score(mine)["all_passed"]
    return out, shown


def evaluate(lm: Any, task: str, examples: Sequence[dict], fast: bool = False,
             calibrate: bool | None = None, limit: int | None = None, with_predictions: bool = False) -> dict[str, Any]:
    examples = list(examples)[:limit] if limit else list(examples)
    t0 = time.perf_counter()
    preds: list[str] | None = None
    if task == "sentiment":
        out, preds = _sentiment(lm, examples, calibrate)
    elif task == "qa":
        out, preds = _qa(lm, examples, fast)
    elif task == "translation":
        out, preds = _translation(lm, examples, fast)
    elif task == "generation" and examples and "instruction" in examples[0]:
        out, preds = _instructions(lm, examples)
    elif task == "generation":
        out = _generation(lm, examples)
    else:
        raise tasks.TaskDataError(f"unknown task {task!r}")
    decoder = ("fast-int8-native" if lm.fast.native else "fast-int8-torch") if fast and lm.fast is not None else "batched-fp32"
    if fast and task in ("qa", "translation") and inference.beams_for(lm) > 1:
        decoder += f", {inference.beams_for(lm)} beams"
    result = {"task": task, "model": lm.info.id, "n": len(examples), **out, "decoder": decoder,
              "seconds": round(time.perf_counter() - t0, 1)}
    if with_predictions and preds is not None:
        result["predictions"] = preds
    return result
