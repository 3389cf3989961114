"""What the pitch can show live: the use case's task -> the best registered model and its card, a
default prompt, and one run of it captured as a transcript (prompt, answer, model, tok/s).

Runs go through the demos' own public functions (core.lm.generate.Generation with the task prompts
of core.lm.tasks / core.lm.inference), so the pitch shows what the demo pages show. Tasks without a
demo model (vision, speech, tabular, ...) get "no demo for this task yet" and the studio command
that would fine-tune a text model on the user's data.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from core.i18n import t
from core.lm import cards
from core.lm.registry import BASE_MODEL_ID, ModelInfo, models_for_task
from core.lm.tasks import TASKS
from core.pitch.types import DemoSection, DemoTranscript

MAX_PROMPT_CHARS = 2000
GENERATION_TOKENS = 96
QA_TOKENS = 48


class DemoError(ValueError):
    """A prompt the demo cannot run; `code` names the message (pitch.err.<code>)."""

    def __init__(self, code: str, **params: object):
        super().__init__(code)
        self.code, self.params = code, params


def studio_command(task: str, use_case_id: str) -> str:
    demo_task = task if task in TASKS else "generation"
    data = {"generation": "your_corpus.txt", "qa": "your_qa.jsonl", "translation": "your_pairs.tsv",
            "sentiment": "your_labels.csv"}[demo_task]
    return (f"python -m core train --base {BASE_MODEL_ID} --task {demo_task} --data {data} --lora "
            f"--max-iters 500 --out .state/runs/pitch-{use_case_id} --json")


def default_prompt(task: str, name: str, lang: str) -> str:
    return t(f"pitch.demo.prompt.{task}", lang, name=name) if task in TASKS else ""


def demo_input(use_case_id: str, lang: str) -> tuple[str, str]:
    """The demo's (prompt, context) for a use case in the deck's language: its own line in the
    catalogue table `pitch_demos` (data/pitch_demos.csv: a question its description answers, a
    sentence about it to translate, a review of it) or the task's generic prompt; the context is
    the use case's description in that language (QA answers are spans of it)."""
    from core import catalog
    from core.explore import data as explorer_data

    df = explorer_data.catalogue()
    row = df[df["use_case_id"] == use_case_id]
    if row.empty:
        return "", ""
    row = row.iloc[0]
    zh = lang == "zh" and str(row.get("description_zh") or "").strip()
    context = str(row["description_zh"] if zh else row["description"])
    mine = catalog.query("SELECT prompt FROM pitch_demos WHERE use_case_id = ? AND lang = ?",
                         [use_case_id, "zh" if lang == "zh" else "en"])
    if not mine.empty:
        return str(mine.iloc[0]["prompt"]), context
    return default_prompt(str(row["task"]), str(row["name_zh"] if zh else row["name"]), lang), context


def translation_target(lang: str) -> str:
    return "zh" if lang == "zh" else "fr"


def demo_section(task: str, use_case_id: str, lang: str, model_id: str | None = None) -> DemoSection:
    """The demo part of the pitch without a run: model, card, command (a transcript is added later)."""
    models: list[ModelInfo] = models_for_task(task, lang=lang) if task in TASKS else []
    info = next((m for m in models if m.id == model_id), models[0] if models else None)
    if info is None:
        return DemoSection(task=task, available=False, model_id=None, model_name="", card_metrics={}, card_data="",
                           card_licence="", card_test="", studio_command=studio_command(task, use_case_id))
    card = cards.describe(info, task)
    return DemoSection(task=task, available=True, model_id=info.id, model_name=card.name, card_metrics=card.metrics,
                       card_data=card.data, card_licence=card.licence,
                       card_test=f"{card.test_data} (n={card.n_test})" if card.test_data else "",
                       studio_command=studio_command(task, use_case_id))


def transcript_summary(section: DemoSection, lang: str) -> str:
    """One line under a demo run, the same on the page, the slide and the brief: the model, its
    speed in this run and its card's held-out metrics ("qa-qwen2.5-0.5b · 27.4 tokens/s · held-out
    exact_match 67.5, f1 77.8")."""
    tr_ = section.transcript
    parts = [tr_.model_id if tr_ else (section.model_id or "")]
    if tr_ is not None:
        parts.append(t("pitch.demo.speed", lang, tps=f"{tr_.tokens_per_second:.1f}") if tr_.tokens_per_second
                     else t("pitch.demo.latency", lang, ms=f"{tr_.latency_ms:.0f}"))
    if section.card_metrics:
        metrics = ", ".join(f"{k} {v:.1f}" for k, v in section.card_metrics.items())
        parts.append(t("pitch.demo.held_out", lang, metrics=metrics))
    return " · ".join(p for p in parts if p)


def run_demo(lm: Any, task: str, prompt: str, context: str = "", lang: str = "en",
             on_text: Callable[[str], None] | None = None) -> DemoTranscript:
    """Run the task's demo once on a loaded model; on_text(text so far) is called as text streams in."""
    from core.lm.generate import Generation, GenerationParams
    from core.lm.inference import (locate, predict_sentiment, qa_generation, select_passage,
                                   translation_generation)
    from core.lm.tasks import chat_prompt

    prompt = (prompt or "").strip()
    if not prompt:
        raise DemoError("demo_empty")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise DemoError("demo_too_long", n=MAX_PROMPT_CHARS)
    if task not in TASKS:
        raise DemoError("demo_none", task=task)
    model_id = lm.info.id
    t0 = time.perf_counter()
    if task == "sentiment":
        pred = predict_sentiment(lm, [prompt])[0]
        answer = f"{pred.label} ({pred.probability:.0%})"
        if on_text:
            on_text(answer)
        return DemoTranscript(model_id, prompt, answer, None, (time.perf_counter() - t0) * 1000, "label scoring")
    if task == "qa":  # the QA page's own path: the model's prompt, answers confined to the context
        gen = qa_generation(lm, select_passage(lm, context, prompt)[0], prompt, max_new_tokens=QA_TOKENS)
    elif task == "translation":  # the translation page's own path for one chunk
        gen = translation_generation(lm, prompt, "en", translation_target(lang))
    else:
        full = chat_prompt([{"role": "user", "content": prompt}], lm.tokenizer)
        gen = Generation(lm, full, GenerationParams(max_new_tokens=GENERATION_TOKENS, temperature=0.7, seed=0))
    for _ in gen:
        if on_text:
            on_text(gen.result.text)
    res = gen.result
    answer = res.text.strip()
    if task == "qa":
        answer = locate(answer.split("\n")[0], context).text
    # a short answer (1-2 tokens, common for extractive QA) has no decode rate after its first
    # token: report tokens over the whole answer time instead
    tps = res.tokens_per_second or (res.n_new_tokens / res.total_s if res.n_new_tokens and res.total_s > 0 else None)
    return DemoTranscript(model_id, prompt, answer, tps, res.total_s * 1000, res.decoder,
                          context=context if task == "qa" else "")
