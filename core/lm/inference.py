"""Task inference on a loaded model, shared by the demo pages, `python -m core eval` and tests.

- sentiment: label scoring, not free generation: the model reads the task prompt and we compare
  the probabilities of the label words as its answer. Only the last prompt position's logits are
  computed (`logits_to_keep=1`), multi-token labels continue from the prompt's KV cache, reviews
  longer than MAX_REVIEW_TOKENS keep their head and tail (with a note), and batches are sized by
  the memory budget OPPLAB_MAX_BATCH_MB, so a batch of long reviews cannot exhaust memory. When
  both labels are close (|p - 0.5| < MIXED_MARGIN) the prediction is flagged "mixed". For models
  whose card asks for it, scores are contextually calibrated (Zhao et al. 2021, "Calibrate
  before use"): divided by the label probabilities for an empty review. A card's `positive_bias`
  (a log-odds prior chosen on a development set) is added to the positive label's score.
- qa: generation constrained to the context (answers are extractive): only tokens that keep the
  answer a substring of the context are taken, so the model cannot invent. Version-2 models run a
  beam search over such spans (core.lm.beam) and answer with the likeliest span that does not
  merely repeat the question (`best_span`); version-1 models decode greedily. A context longer
  than MAX_CONTEXT_TOKENS is cut into passages and the one sharing most words with the question is
  used (with a note).
- translation: the task prompt (version 2 pins the target language in a system turn and shows two
  worked examples), a beam search for version-2 models with a bias that keeps the target script,
  greedy for version 1; long texts are translated in chunks of whole sentences.
Single requests use the fast CPU decoder; evaluation batches prompts through transformers.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from core.config import get_settings
from core.lm import tasks
from core.lm.beam import BeamGeneration
from core.lm.generate import Generation, GenerationParams, eos_ids
from core.lm.precision import prefill_autocast

MAX_REVIEW_TOKENS = 1024  # head 1/3 + tail 2/3 of a longer review (the verdict is usually at the end)
MAX_CONTEXT_TOKENS = 1536  # QA passages
MIXED_MARGIN = 0.10


@dataclass
class SentimentPrediction:
    label: str
    probability: float  # of `label`
    positive: float  # probability of positive
    truncated: bool = False  # the review was cut to MAX_REVIEW_TOKENS (head and tail kept)

    @property
    def mixed(self) -> bool:
        return abs(self.positive - 0.5) < MIXED_MARGIN


@dataclass
class Answer:
    text: str
    start: int | None = None  # character span in the context, when the answer is extractive
    end: int | None = None
    note: str = ""  # e.g. the context was cut to its most relevant passage


def _device(lm: Any) -> torch.device:
    return next(lm.model.parameters()).device


def prompt_version(lm: Any) -> int:
    card = getattr(lm.info, "card", {}) or {}
    version = card.get("prompt_version", 1)
    return version if version in tasks.PROMPT_VERSIONS else 1


def build_prompt(lm: Any, task: str, example: dict) -> str:
    return tasks.build_prompt(task, example, lm.tokenizer, prompt_version(lm))


def calibrated_by_default(lm: Any) -> bool:
    card = getattr(lm.info, "card", {}) or {}
    return bool(card.get("calibrate", lm.info.task != "sentiment"))


def positive_bias(lm: Any) -> float:
    """A log-odds shift toward "positive" from the model's card (`positive_bias`), chosen on a
    development set (data/tasks/sentiment/dev_zh_unseen.csv) by scripts/tune_decoding.py; 0 if none."""
    card = getattr(lm.info, "card", {}) or {}
    return float(card.get("positive_bias", 0.0) or 0.0)


# A mixed review's verdict usually follows its last contrast ("有点老旧，卫生间小。其它方面还行。早餐非常好"):
# for models whose card sets `contrast_weight` w, the clause after the last marker is scored too and
# the label scores are (1 - w) * whole review + w * that clause (w chosen on the development set).
_CONTRAST = re.compile(r"但是|但|不过|可是|可惜|然而|只是|还好|其它|其他|结果|实际")


def contrast_tail(text: str) -> str:
    """The text after its last contrast marker ("" when there is none or nothing follows it)."""
    marks = list(_CONTRAST.finditer(text))
    if not marks or marks[-1].start() == 0:
        return ""
    tail = text[marks[-1].start():].strip()
    return tail if len(tail) >= 4 else ""


def _label_token_ids(tokenizer: Any) -> list[list[int]]:
    return [tokenizer(label, add_special_tokens=False)["input_ids"] for label in tasks.SENTIMENT_LABELS]


def head_and_tail(ids: list[int], limit: int) -> tuple[list[int], bool]:
    """ids cut to `limit` tokens keeping the first third and the last two thirds; (ids, cut?)."""
    if len(ids) <= limit:
        return ids, False
    head = limit // 3
    return ids[:head] + ids[len(ids) - (limit - head):], True


def bytes_per_token(lm: Any) -> int:
    """Rough fp32 activation bytes a sequence needs per token in one forward: the widest layer
    activations (MLP, projections), its KV cache across layers and one row of attention scores."""
    cfg = lm.model.config
    d = int(getattr(cfg, "hidden_size", None) or getattr(cfg, "n_embd", 768))
    ffn = int(getattr(cfg, "intermediate_size", None) or getattr(cfg, "n_inner", None) or 4 * d)
    layers = int(getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layer", 12))
    heads = int(getattr(cfg, "num_attention_heads", None) or getattr(cfg, "n_head", 12))
    kv = int(getattr(cfg, "num_key_value_heads", None) or heads)
    hd = d // heads
    return 4 * (8 * d + 3 * ffn + 2 * layers * kv * hd + heads * MAX_REVIEW_TOKENS)


def rows_per_batch(lm: Any, tokens_per_row: int) -> int:
    """How many rows of `tokens_per_row` fit the memory budget OPPLAB_MAX_BATCH_MB (at least 1)."""
    budget = get_settings().max_batch_mb * 1024 * 1024
    return max(1, min(64, budget // max(1, bytes_per_token(lm) * tokens_per_row)))


@torch.inference_mode()
def _label_logprobs(lm: Any, prompt_ids: Sequence[list[int]], progress: Callable[[int], None] | None = None) -> torch.Tensor:
    """(N, n_labels) log-probabilities of each full label string after each tokenised prompt.

    Left-padded batches sized by the memory budget; logits only at the last position; a label of
    several tokens continues from the prompt's cache, which is cropped back after each label.
    progress(rows) is called after each batch with the number of rows it scored. The model's lock
    is held per batch, not for the whole call, so other sessions' decoding on the same weights
    (core.lm.scheduler) goes on between the batches of a long upload."""
    tok = lm.tokenizer
    labels = _label_token_ids(tok)
    device = _device(lm)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    order = sorted(range(len(prompt_ids)), key=lambda i: len(prompt_ids[i]))
    out = torch.zeros(len(prompt_ids), len(labels))
    start = 0
    while start < len(order):
        n = rows_per_batch(lm, len(prompt_ids[order[start]]))
        idx = order[start:start + n]
        width = len(prompt_ids[idx[-1]])
        while len(idx) > 1 and rows_per_batch(lm, width) < len(idx):  # the longest row sets the cost
            idx = idx[:-1]
            width = len(prompt_ids[idx[-1]])
        start += len(idx)
        input_ids = torch.full((len(idx), width), pad, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):  # left padding: every prompt ends at the last column
            ids = prompt_ids[i]
            input_ids[r, width - len(ids):] = torch.tensor(ids)
            mask[r, width - len(ids):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with lm.lock, prefill_autocast(device, tokens=int(mask.sum())):
            res = lm.model(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                           position_ids=positions.to(device), use_cache=True, logits_to_keep=1)
        first = res.logits[:, -1].float().log_softmax(-1).cpu()
        cache = res.past_key_values
        for j, lab in enumerate(labels):
            score = first[:, lab[0]].clone()
            if len(lab) > 1:  # continue from the prompt's cache, then crop it back for the next label
                cont = torch.tensor([lab[:-1]] * len(idx))
                m2 = torch.cat([mask, torch.ones_like(cont)], dim=1)
                pos2 = positions[:, -1:] + torch.arange(1, len(lab))[None]
                with lm.lock, prefill_autocast(device, tokens=cont.numel()):
                    logits = lm.model(input_ids=cont.to(device), attention_mask=m2.to(device), position_ids=pos2.to(device),
                                      past_key_values=cache, use_cache=True).logits.float().log_softmax(-1).cpu()
                score += logits.gather(2, torch.tensor([lab[1:]] * len(idx))[:, :, None]).sum((1, 2))
                cache.crop(-(len(lab) - 1))  # transformers 5: a negative count of tokens to drop
            out[torch.tensor(idx), j] = score
        del res, cache
        if progress is not None:
            progress(len(idx))
    return out


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def text_language(text: str) -> str:
    """"zh" when at least a fifth of the letters are Chinese characters, else "en" (routing only)."""
    letters = [ch for ch in text if ch.isalpha()]
    han = sum(1 for ch in letters if _CJK.match(ch))
    return "zh" if letters and han / len(letters) >= 0.2 else "en"


def predict_sentiment(lm: Any, texts: Sequence[str], calibrate: bool | None = None,
                      progress: Callable[[int, int], None] | None = None) -> list[SentimentPrediction]:
    """One prediction per text. progress(done, total), when given, is called once before scoring
    and after each scored batch (a page's progress bar over a long CSV)."""
    if not texts:
        return []
    if hasattr(lm, "routes"):  # a routed model: each text to the model measured best for its language
        out: list[SentimentPrediction | None] = [None] * len(texts)
        groups: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            groups.setdefault(text_language(text), []).append(i)
        offset = 0
        for lang, idx in groups.items():
            part = None if progress is None else (lambda done, _n, o=offset: progress(o + done, len(texts)))
            for i, pred in zip(idx, predict_sentiment(lm.for_lang(lang), [texts[i] for i in idx], calibrate, part)):
                out[i] = pred
            offset += len(idx)
        return out  # type: ignore[return-value]
    calibrate = calibrated_by_default(lm) if calibrate is None else calibrate
    tok = lm.tokenizer
    done = 0

    def scored(rows: int) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(done, len(texts))

    scored(0)
    prompt_ids, cut = [], []
    reviews = []
    for text in texts:
        body, was_cut = head_and_tail(tok(text, add_special_tokens=False)["input_ids"], MAX_REVIEW_TOKENS)
        cut.append(was_cut)
        review = tok.decode(body) if was_cut else text
        reviews.append(review)  # the contrast clause below is taken from this bounded text
        prompt_ids.append(tok(build_prompt(lm, "sentiment", {"text": review}), add_special_tokens=False)["input_ids"])
    scores = _label_logprobs(lm, prompt_ids, scored).clone()  # a normal tensor: edited in place below
    weight = float((getattr(lm.info, "card", {}) or {}).get("contrast_weight", 0.0) or 0.0)
    tails = [(i, contrast_tail(t)) for i, t in enumerate(reviews)] if weight else []
    tails = [(i, t) for i, t in tails if t]
    if tails:
        tail_ids = [tok(build_prompt(lm, "sentiment", {"text": t}), add_special_tokens=False)["input_ids"] for _, t in tails]
        idx = torch.tensor([i for i, _ in tails])
        scores[idx] = (1 - weight) * scores[idx] + weight * _label_logprobs(lm, tail_ids)
    if calibrate:
        empty = tok(build_prompt(lm, "sentiment", {"text": ""}), add_special_tokens=False)["input_ids"]
        scores = scores - _label_logprobs(lm, [empty])[0]
    pos = tasks.SENTIMENT_LABELS.index("positive")
    bias = positive_bias(lm)
    if bias:
        scores[:, pos] += bias
    probs = scores.softmax(-1)
    out = []
    for row, was_cut in zip(probs, cut):
        k = int(row.argmax())
        out.append(SentimentPrediction(label=tasks.SENTIMENT_LABELS[k], probability=float(row[k]),
                                       positive=float(row[pos]), truncated=was_cut))
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


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).casefold()


class SpanChooser:
    """Greedy choice restricted to answers that are substrings of the context: of the `k` most
    likely next tokens, the first that keeps the decoded answer inside the context (case and runs
    of spaces ignored); an end-of-answer token once the answer is not empty; else stop."""

    def __init__(self, tokenizer: Any, context: str, stop_ids: set[int], k: int = 40):
        self.tok, self.context, self.k = tokenizer, _norm(context), k
        self.stop_ids = stop_ids
        self.stop = min(stop_ids) if stop_ids else None

    def fits(self, ids: list[int]) -> bool:
        """Whether the decoded ids are a (non-empty) span of the context."""
        text = _norm(self.tok.decode(ids, skip_special_tokens=True)).lstrip()
        text = text.rstrip("\ufffd")  # half of a multi-byte character: judge the complete part
        return bool(text) and text in self.context

    def __call__(self, logits: torch.Tensor, new: list[int]) -> int:
        x = logits.detach().float().numpy()  # NumPy: one thread (see generate.pick_next)
        k = min(self.k, x.size)
        top = np.argpartition(-x, k - 1)[:k]
        for t in top[np.argsort(-x[top], kind="stable")].tolist():
            if t in self.stop_ids:
                if new:
                    return t
                continue
            if self.fits(new + [t]):
                return t
        return self.stop if self.stop is not None else int(np.argmax(x))


_WORD = re.compile(r"\w+", re.UNICODE)


def _words(text: str) -> list[str]:
    """Words for passage retrieval: Latin words, and single CJK characters (Chinese has no spaces)."""
    out = []
    for w in _WORD.findall(text.casefold()):
        out.extend(list(w) if re.search(r"[\u4e00-\u9fff]", w) else [w])
    return out


def select_passage(lm: Any, context: str, question: str, max_tokens: int = MAX_CONTEXT_TOKENS) -> tuple[str, str]:
    """(passage, note): the context itself when it fits, else the window of whole sentences of at
    most max_tokens that shares the most (rarity-weighted) words with the question."""
    tok = lm.tokenizer
    n_tokens = len(tok(context, add_special_tokens=False)["input_ids"])
    if n_tokens <= max_tokens:
        return context, ""
    sentences = [s for s in re.split(r"(?<=[.!?。！？\n])\s*", context) if s.strip()]
    lengths = [len(tok(s, add_special_tokens=False)["input_ids"]) for s in sentences]
    df = Counter(w for s in sentences for w in set(_words(s)))
    q = set(_words(question))
    weight = {w: math.log(1 + len(sentences) / df[w]) for w in q if w in df}
    best, best_score, lo, used = (0, 0), -1.0, 0, 0
    for hi in range(len(sentences)):
        used += lengths[hi]
        while used > max_tokens and lo < hi:
            used -= lengths[lo]
            lo += 1
        window = set(w for s in sentences[lo:hi + 1] for w in _words(s))
        score = sum(v for w, v in weight.items() if w in window)
        if score > best_score:
            best, best_score = (lo, hi), score
    passage = " ".join(sentences[best[0]:best[1] + 1])
    if len(tok(passage, add_special_tokens=False)["input_ids"]) > max_tokens:  # one giant "sentence"
        passage = tok.decode(tok(passage, add_special_tokens=False)["input_ids"][:max_tokens])
    note = (f"The context has {n_tokens:,} tokens, more than the {max_tokens:,} the model reads at once; "
            "the answer comes from the passage that shares most words with the question.")
    return passage, note


def answer_question(lm: Any, context: str, question: str, max_new_tokens: int = 32, constrained: bool = True,
                    use_fast: bool = True) -> Answer:
    passage, note = select_passage(lm, context, question)
    gen = qa_generation(lm, passage, question, max_new_tokens, constrained, use_fast)
    for _ in gen:
        pass
    answer = locate(_clean_answer(gen.result.text), context)
    answer.note = note
    return answer


MAX_TRANSLATION_CHARS = 5_000  # about a page; longer texts are cut here, with a note (2-3 minutes of decoding on 2 cores)
CHUNK_TOKENS = 160  # a long text is translated in chunks of whole sentences up to this many tokens


# Beam hypotheses are ranked by log-probability / length**alpha. Chosen on a development set of 60
# everyday sentence pairs written for this project (data/tasks/translation/dev_everyday.tsv, not
# the test file) by `python scripts/tune_decoding.py --task translation`: greedy chrF 47.5; 4 beams
# with alpha 0 / 0.5 / 1.0 / 1.5: 51.8 / 51.7 / 52.0 / 52.1 (a first run: 51.8 / 52.7 / 52.6 / 51.3).
TRANSLATION_ALPHA = 1.0


def translation_budget(lm: Any, source: str) -> int:
    n = len(lm.tokenizer(source, add_special_tokens=False)["input_ids"])
    return int(min(512, 2 * n + 24))


def translation_prompt(lm: Any, source: str, src_lang: str, tgt_lang: str) -> str:
    return build_prompt(lm, "translation", {"source": source, "src_lang": src_lang, "tgt_lang": tgt_lang})


def clean_translation(text: str) -> str:
    return text.strip()


def translation_is_cut(text: str) -> bool:
    """Whether a text is longer than what is translated (MAX_TRANSLATION_CHARS): its rest is dropped."""
    return len(text.strip()) > MAX_TRANSLATION_CHARS


def translation_chunks(lm: Any, text: str) -> tuple[list[tuple[str, str]], bool]:
    """([(chunk, separator before it)], cut): paragraphs kept apart, sentences grouped up to
    CHUNK_TOKENS tokens; cut is True when the text was cut at MAX_TRANSLATION_CHARS."""
    cut = translation_is_cut(text)
    text = text.strip()
    text = text[:MAX_TRANSLATION_CHARS]
    count = lambda t: len(lm.tokenizer(t, add_special_tokens=False)["input_ids"])  # noqa: E731
    chunks: list[tuple[str, str]] = []
    for p_i, para in enumerate(p for p in re.split(r"\n\s*\n|\n", text) if p.strip()):
        sep = "\n" if p_i else ""
        current: list[str] = []
        for sentence in (x for x in re.split(r"(?<=[.!?。！？;；])\s+|(?<=[。！？；])", para.strip()) if x.strip()):
            if current and count(" ".join(current + [sentence])) > CHUNK_TOKENS:
                chunks.append((" ".join(current), sep))
                current, sep = [], " "
            current.append(sentence)
        if current:
            chunks.append((" ".join(current), sep))
    return chunks, cut


LATIN_IN_CHINESE_PENALTY = 2.0  # logit penalty on tokens with Latin words when translating into Chinese
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def script_bias(lm: Any, tgt_lang: str) -> torch.Tensor | None:
    """A logit bias that keeps a translation in its target script, computed once per model and
    language: into Chinese, tokens holding a Latin word are penalised (softly: brand and person
    names may stay in Latin letters, but "paperwork" should not); into a Latin-script language,
    tokens with Chinese characters are ruled out. None for a model without a fast decoder."""
    cache = lm.__dict__.setdefault("_script_bias", {})
    if tgt_lang in cache:
        return cache[tgt_lang]
    tok = lm.tokenizer
    vocab = int(lm.model.config.vocab_size)
    bias = torch.zeros(vocab)
    special = set(getattr(tok, "all_special_ids", []))
    pieces = tok.convert_ids_to_tokens(list(range(min(vocab, len(tok)))))
    for i, piece in enumerate(pieces):
        if i in special or piece is None:
            continue
        text = tok.convert_tokens_to_string([piece])
        if tgt_lang == "zh" and _LATIN_WORD.search(text):
            bias[i] = -LATIN_IN_CHINESE_PENALTY
        elif tgt_lang != "zh" and _HAN.search(text):
            bias[i] = float("-inf")
    cache[tgt_lang] = bias
    return bias


def beams_for(lm: Any) -> int:
    """Beams for a whole-answer task (translation, QA): OPPLAB_BEAMS for version-2 task models on
    the fast decoder, 1 (greedy) otherwise; version-1 models keep the greedy path their cards
    were measured with."""
    if getattr(lm, "fast", None) is None or prompt_version(lm) < 2:
        return 1
    return get_settings().beams


COPY_NGRAM = 4  # a translation may not copy this many consecutive words of its source


class SourceCopyGuard:
    """`allow(ids)` for a beam search: False when the decoded translation ends with COPY_NGRAM
    consecutive words of the source (case ignored). A small model asked to translate between two
    Latin-script languages sometimes just repeats its input ("Nos produits cut the time doctors
    spend on paperwork by half."); names and numbers, a word or two, are still copied freely."""

    def __init__(self, tokenizer: Any, source: str, n: int = COPY_NGRAM):
        self.tok, self.n = tokenizer, n
        words = _LATIN_WORDS.findall(source.casefold())
        self.grams = {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}

    def __call__(self, ids: list[int]) -> bool:
        if not self.grams:
            return True
        words = _LATIN_WORDS.findall(self.tok.decode(ids[-4 * self.n:], skip_special_tokens=True).casefold())
        return len(words) < self.n or tuple(words[-self.n:]) not in self.grams


_LATIN_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)


def translation_generation(lm: Any, source: str, src_lang: str, tgt_lang: str, should_stop=None) -> Generation | BeamGeneration:
    """The generation of one chunk's translation (prompt of the model's version): for version-2
    models a beam search (`beams_for`) with the target-script bias and, between Latin-script
    languages, the source-copy guard; else greedy."""
    bias = script_bias(lm, tgt_lang) if prompt_version(lm) >= 2 else None
    beams = beams_for(lm)
    if beams > 1:
        guard = SourceCopyGuard(lm.tokenizer, source) if "zh" not in (src_lang, tgt_lang) else None
        return BeamGeneration(lm, translation_prompt(lm, source, src_lang, tgt_lang), translation_budget(lm, source),
                              beams=beams, bias=bias.numpy() if bias is not None else None, alpha=TRANSLATION_ALPHA,
                              allow=guard, should_stop=should_stop)
    return Generation(lm, translation_prompt(lm, source, src_lang, tgt_lang),
                      GenerationParams(max_new_tokens=translation_budget(lm, source), greedy=True, repetition_penalty=1.0),
                      should_stop=should_stop,
                      chooser=(lambda logits, new, b=bias.numpy(): int(np.argmax(logits.numpy() + b[:logits.numel()])))
                      if bias is not None else None)


def qa_generation(lm: Any, passage: str, question: str, max_new_tokens: int = 32, constrained: bool = True,
                  use_fast: bool = True) -> Generation | BeamGeneration:
    """The span-constrained generation of an answer from `passage` (already short enough): for
    version-2 models a beam search over spans of the passage (`beams_for`), the spans then ranked
    by `best_span`; else greedy."""
    prompt = build_prompt(lm, "qa", {"context": passage, "question": question})
    beams = beams_for(lm) if use_fast else 1
    if constrained and beams > 1:
        spans = SpanChooser(lm.tokenizer, passage, set())
        return BeamGeneration(lm, prompt, max_new_tokens, beams=beams, allow=spans.fits, alpha=QA_ALPHA,
                              choose=lambda hyps: best_span(hyps, question, lm.tokenizer))
    chooser = SpanChooser(lm.tokenizer, passage, eos_ids(lm)) if constrained else None
    return Generation(lm, prompt, GenerationParams(max_new_tokens=max_new_tokens, greedy=True, repetition_penalty=1.0),
                      chooser=chooser, use_fast=use_fast)


# QA beams: spans ranked by total log-probability (alpha 0: a short span is not favoured for being
# short), minus QA_ECHO_PENALTY times the share of the span's content words that the question
# already contains (an answer tells what the question does not: "the largest oncological
# institutions in Europe" is no answer to "What is one of the largest oncological institutions in
# Europe?"). Chosen on a development sample of 200 questions from squad_train.jsonl (never from a
# test file): greedy F1 62.4; 4 beams 63.6; with the echo penalty 2 / 4 / 8: 65.1 / 66.0 / 66.2.
QA_ALPHA = 0.0
QA_ECHO_PENALTY = 4.0
_FUNCTION_WORDS = frozenset("the a an of in on at to for and or by with from is was are were be as its it that this".split())


def question_echo(answer: str, question: str) -> float:
    """The share (0-1) of the answer's content words (Latin-script words; Chinese, which shares
    single characters freely, is left out) that occur in the question."""
    words = [w for w in _words(answer) if w not in _FUNCTION_WORDS and not _HAN.search(w)]
    if not words:
        return 0.0
    asked = set(_words(question))
    return sum(w in asked for w in words) / len(words)


def best_span(hypotheses: list, question: str, tokenizer: Any):
    """The beam hypothesis to answer with: finished spans first (an unfinished one ran out of
    tokens), by log-probability / length**QA_ALPHA minus the question-echo penalty."""
    pool = [h for h in hypotheses if h.finished] or list(hypotheses)
    return max(pool, key=lambda h: h.score(QA_ALPHA)
               - QA_ECHO_PENALTY * question_echo(tokenizer.decode(h.ids, skip_special_tokens=True), question))


def translation_stream(lm: Any, source: str, src_lang: str, tgt_lang: str, should_stop=None):
    """Text pieces of the translation of `source`, chunk after chunk (for st.write_stream)."""
    chunks, _ = translation_chunks(lm, source)
    for chunk, sep in chunks:
        if sep and tgt_lang != "zh" or sep == "\n":
            yield sep
        yield from translation_generation(lm, chunk, src_lang, tgt_lang, should_stop)
        if should_stop is not None and should_stop():
            return


def translate(lm: Any, source: str, src_lang: str, tgt_lang: str) -> str:
    return clean_translation("".join(translation_stream(lm, source, src_lang, tgt_lang)))


@torch.inference_mode()
def batch_generate(lm: Any, prompts: Sequence[str], max_new_tokens: int, batch_size: int | None = None) -> list[str]:
    """Greedy continuations of many prompts at once (left padding), on the model's device."""
    tok = lm.tokenizer
    longest = max((len(lm.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts), default=1)
    batch_size = batch_size or (64 if _device(lm).type == "cuda" else rows_per_batch(lm, longest + max_new_tokens))
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
            with prefill_autocast(device):
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
