"""Task metrics: accuracy (sentiment), SQuAD exact match / F1 (QA), BLEU and chrF via sacrebleu
(translation), perplexity (generation). Scores are percentages (0-100) except perplexity."""
from __future__ import annotations

import math
import re
import string
from collections import Counter
from typing import Iterable, Sequence

import sacrebleu


def accuracy(predictions: Sequence[str], labels: Sequence[str]) -> float:
    if not labels:
        return 0.0
    return 100.0 * sum(p == g for p, g in zip(predictions, labels)) / len(labels)


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalisation: lower case, drop punctuation, articles and extra spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, answers: Iterable[str]) -> float:
    return float(any(normalize_answer(prediction) == normalize_answer(a) for a in answers))


def f1(prediction: str, answers: Iterable[str]) -> float:
    best = 0.0
    pred = normalize_answer(prediction).split()
    for answer in answers:
        gold = normalize_answer(answer).split()
        common = Counter(pred) & Counter(gold)
        same = sum(common.values())
        if not pred or not gold:
            score = float(pred == gold)
        elif same == 0:
            score = 0.0
        else:
            precision, recall = same / len(pred), same / len(gold)
            score = 2 * precision * recall / (precision + recall)
        best = max(best, score)
    return best


def qa_scores(predictions: Sequence[str], answers: Sequence[Sequence[str]]) -> dict[str, float]:
    n = max(1, len(answers))
    return {"exact_match": 100.0 * sum(exact_match(p, a) for p, a in zip(predictions, answers)) / n,
            "f1": 100.0 * sum(f1(p, a) for p, a in zip(predictions, answers)) / n}


def _tokenize_for(lang: str) -> str:
    return "zh" if lang == "zh" else "13a"


FOUR_DIRECTIONS = ("en-zh", "zh-en", "en-fr", "en-de")


def translation_scores(hypotheses: Sequence[str], references: Sequence[str],
                       tgt_langs: Sequence[str] | None = None,
                       src_langs: Sequence[str] | None = None) -> dict[str, object]:
    """Corpus BLEU and chrF per direction, and their mean over directions (sacrebleu; Chinese
    targets use its `zh` tokenizer)."""
    tgt_langs = list(tgt_langs or ["en"] * len(references))
    src_langs = list(src_langs or ["?"] * len(references))
    groups: dict[str, list[int]] = {}
    for i, (s, t) in enumerate(zip(src_langs, tgt_langs)):
        groups.setdefault(f"{s}-{t}", []).append(i)
    by_direction = {}
    for direction, idx in sorted(groups.items()):
        hyps = [hypotheses[i] for i in idx]
        refs = [[references[i] for i in idx]]
        tgt = tgt_langs[idx[0]]
        by_direction[direction] = {
            "bleu": sacrebleu.corpus_bleu(hyps, refs, tokenize=_tokenize_for(tgt)).score,
            "chrf": sacrebleu.corpus_chrf(hyps, refs).score,
            "n": len(idx),
        }
    mean = lambda key: sum(d[key] for d in by_direction.values()) / max(1, len(by_direction))  # noqa: E731
    out: dict[str, object] = {"bleu": mean("bleu"), "chrf": mean("chrf"), "by_direction": by_direction}
    if all(d in by_direction for d in FOUR_DIRECTIONS):  # the demos' headline: out of and into English
        out["chrf_4dir"] = sum(by_direction[d]["chrf"] for d in FOUR_DIRECTIONS) / len(FOUR_DIRECTIONS)
    out.update({f"chrf_{d}": v["chrf"] for d, v in by_direction.items()})
    return out


def perplexity(total_nll: float, n_tokens: int) -> float:
    return math.exp(total_nll / max(1, n_tokens))
