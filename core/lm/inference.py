"""Task inference on a loaded model, shared by the demo pages, `python -m core eval` and tests.

- sentiment: label scoring, not free generation: the model reads the task prompt and we compare
  the probabilities of the label words as its answer. For the instruct base the scores are
  contextually calibrated (Zhao et al. 2021, "Calibrate before use"): divided by the label
  probabilities for an empty review, which removes the prompt's bias towards one label.
- qa, translation: greedy generation with the task prompt; a QA answer is located in the
  context (case-insensitive) so the page can highlight the supporting span.
Single requests use the fast CPU decoder; evaluation batches prompts through transformers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from core.lm import tasks
from core.lm.generate import Generation, GenerationParams, eos_ids


@dataclass
class SentimentPrediction:
    label: str
    probability: float  # of `label`
    positive: float  # probability of positive


@dataclass
class Answer:
    text: str
    start: int | None = None  # character span in the context, when the answer is extractive
    end: int | None = None


def _device(lm: Any) -> torch.device:
    return next(lm.model.parameters()).device


def calibrated_by_default(lm: Any) -> bool:
    card = getattr(lm.info, "card", {}) or {}
    return bool(card.get("calibrate", lm.info.task != "sentiment"))


def _label_token_ids(tokenizer: Any) -> list[list[int]]:
    return [tokenizer(label, add_special_tokens=False)["input_ids"] for label in tasks.SENTIMENT_LABELS]


@torch.inference_mode()
def _label_logprobs(lm: Any, prompts: Sequence[str], batch_size: int = 16) -> torch.Tensor:
    if _device(lm).type == "cuda":
        batch_size = max(batch_size, 64)
    """(N, n_labels) log-probabilities of each full label string after each prompt."""
    tok = lm.tokenizer
    labels = _label_token_ids(tok)
    device = _device(lm)
    rows = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        seqs, spans = [], []
        for p in chunk:
            ids = tok(p, add_special_tokens=False)["input_ids"]
            for lab in labels:
                seqs.append(ids + lab)
                spans.append((len(ids), len(lab)))
        width = max(len(s) for s in seqs)
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        input_ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):  # right padding: positions stay 0..len-1
            input_ids[i, :len(s)] = torch.tensor(s)
            mask[i, :len(s)] = 1
        logp = lm.model(input_ids=input_ids.to(device), attention_mask=mask.to(device)).logits.float().log_softmax(-1).cpu()
        scores = []
        for i, (p_len, l_len) in enumerate(spans):
            target = input_ids[i, p_len:p_len + l_len]
            scores.append(logp[i, p_len - 1:p_len - 1 + l_len].gather(1, target[:, None]).sum())
        rows.append(torch.stack(scores).view(len(chunk), len(labels)))
    return torch.cat(rows)


def predict_sentiment(lm: Any, texts: Sequence[str], calibrate: bool | None = None,
                      batch_size: int = 16) -> list[SentimentPrediction]:
    if not texts:
        return []
    calibrate = calibrated_by_default(lm) if calibrate is None else calibrate
    prompts = [tasks.build_prompt("sentiment", {"text": t}, lm.tokenizer) for t in texts]
    with lm.lock:
        scores = _label_logprobs(lm, prompts, batch_size)
        if calibrate:
            empty = tasks.build_prompt("sentiment", {"text": ""}, lm.tokenizer)
            scores = scores - _label_logprobs(lm, [empty])[0]
    probs = scores.softmax(-1)
    out = []
    pos = tasks.SENTIMENT_LABELS.index("positive")
    for row in probs:
        k = int(row.argmax())
        out.append(SentimentPrediction(label=tasks.SENTIMENT_LABELS[k], probability=float(row[k]), positive=float(row[pos])))
    return out


def locate(answer: str, context: str) -> Answer:
    """The answer with its character span in the context, when it occurs there."""
    text = answer.strip()
    if text:
        m = re.search(re.escape(text), context, flags=re.IGNORECASE)
        if m:
            return Answer(text=context[m.start():m.end()], start=m.start(), end=m.end())
    return Answer(text=text)


def _clean_answer(text: str) -> str:
    return text.strip().split("\n")[0].strip()


def answer_question(lm: Any, context: str, question: str, max_new_tokens: int = 48) -> Answer:
    prompt = tasks.build_prompt("qa", {"context": context, "question": question}, lm.tokenizer)
    gen = Generation(lm, prompt, GenerationParams(max_new_tokens=max_new_tokens, greedy=True, repetition_penalty=1.0))
    for _ in gen:
        pass
    return locate(_clean_answer(gen.result.text), context)


def translation_budget(lm: Any, source: str) -> int:
    n = len(lm.tokenizer(source, add_special_tokens=False)["input_ids"])
    return int(min(512, 2 * n + 24))


def translation_prompt(lm: Any, source: str, src_lang: str, tgt_lang: str) -> str:
    return tasks.build_prompt("translation", {"source": source, "src_lang": src_lang, "tgt_lang": tgt_lang}, lm.tokenizer)


def translate(lm: Any, source: str, src_lang: str, tgt_lang: str) -> str:
    gen = Generation(lm, translation_prompt(lm, source, src_lang, tgt_lang),
                     GenerationParams(max_new_tokens=translation_budget(lm, source), greedy=True, repetition_penalty=1.0))
    for _ in gen:
        pass
    return gen.result.text.strip()


@torch.inference_mode()
def batch_generate(lm: Any, prompts: Sequence[str], max_new_tokens: int, batch_size: int | None = None) -> list[str]:
    """Greedy continuations of many prompts at once (left padding), on the model's device."""
    tok = lm.tokenizer
    batch_size = batch_size or (64 if _device(lm).type == "cuda" else 8)
    side = tok.padding_side
    tok.padding_side = "left"
    device = _device(lm)
    out: list[str] = []
    try:
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # similar lengths per batch
        results: dict[int, str] = {}
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            enc = tok([prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            gen = lm.model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                    pad_token_id=tok.pad_token_id, repetition_penalty=1.0,
                                    eos_token_id=sorted(eos_ids(lm)))
            for i, row in zip(idx, gen[:, enc["input_ids"].shape[1]:]):
                results[i] = tok.decode(row, skip_special_tokens=True)
        out = [results[i] for i in range(len(prompts))]
    finally:
        tok.padding_side = side
    return out


def use_case_contexts(lang: str = "en") -> dict[str, tuple[str, str]]:
    """use_case_id -> (name, description) from the catalogue, as QA contexts (Chinese when asked)."""
    from core import catalog

    try:
        df = catalog.table("use_cases")
    except KeyError:
        return {}
    name_col = "name_zh" if lang == "zh" and "name_zh" in df else "name"
    desc_col = "description_zh" if lang == "zh" and "description_zh" in df else "description"
    return {str(r["use_case_id"]): (str(r[name_col]), str(r[desc_col])) for _, r in df.iterrows()
            if isinstance(r.get(desc_col), str) and r[desc_col].strip()}


def highlight_parts(context: str, answer: Answer) -> tuple[str, str, str]:
    """(before, span, after) of the context around the answer span ('' span when not extractive)."""
    if answer.start is None or answer.end is None:
        return context, "", ""
    return context[:answer.start], context[answer.start:answer.end], context[answer.end:]


MAX_BATCH_LINES = 50


def batch_lines(raw: bytes, max_bytes: int, max_lines: int = MAX_BATCH_LINES) -> list[str]:
    """Non-empty lines of an uploaded UTF-8 text file (a TSV keeps its first column), checked."""
    if len(raw) > max_bytes:
        raise tasks.TaskDataError(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise tasks.TaskDataError("the file is not UTF-8 text") from None
    lines = [line.split("\t")[0].strip() for line in text.splitlines()]
    lines = [line for line in lines if line and line.lower() != "source"]
    if not lines:
        raise tasks.TaskDataError("the file holds no text lines")
    if len(lines) > max_lines:
        raise tasks.TaskDataError(f"the file has {len(lines)} lines; the batch limit is {max_lines}")
    return lines
