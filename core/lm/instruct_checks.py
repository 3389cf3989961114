"""Verifiable checks of an answer to a pitch-style instruction (IFEval-style: each check is a rule
that code can decide, no judge model). A record of data/tasks/generation/instructions_*.jsonl
holds the instruction and what to check: `lang` (en | zh), `topic` (any of these words or
stems must appear), `sentences` (exactly this many), `plain` (no markdown).

| check | passes when |
|---|---|
| language | zh: at least 60 % of the letters are Chinese characters; en: no CJK or kana, ≥ 90 % Latin letters |
| on_topic | one of the topic words appears (case-insensitive) |
| sentences | the answer has exactly the asked number of sentences (., !, ?, 。, ！, ？) |
| no_loop | no word 4-gram (en) or character 6-gram (zh) occurs three times or more |
| plain | no markdown: no line starting with #, -, *, a numbered item, and no ** or __ |
| complete | the answer is not empty and ends with sentence-final punctuation (not cut off) |
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

CHECKS = ("language", "on_topic", "sentences", "no_loop", "plain", "complete")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_LATIN = re.compile(r"[A-Za-z]")
_END = ".!?。！？"
_MARKDOWN = re.compile(r"(^\s*(#{1,6}\s|[-*•]\s|\d+[.)、]\s?))|\*\*|__", re.M)


def language_ok(text: str, lang: str) -> bool:
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    if lang == "zh":
        return cjk > 0 and cjk / max(1, cjk + latin) >= 0.6
    return not _KANA.search(text) and cjk == 0 and latin > 0


def sentence_count(text: str) -> int:
    # a full stop inside a number or an abbreviation like "e.g." does not end a sentence
    parts = re.split(r"(?<=[。！？!?])|(?<=\.)(?=\s|$)", text.strip())
    return sum(1 for p in parts if re.search(r"\w", p))


def has_loop(text: str, lang: str) -> bool:
    if lang == "zh":
        chars = [c for c in text if not c.isspace()]
        grams = ["".join(chars[i:i + 6]) for i in range(len(chars) - 5)]
    else:
        words = re.findall(r"\w+", text.lower())
        grams = [" ".join(words[i:i + 4]) for i in range(len(words) - 3)]
    return any(n >= 3 for n in Counter(grams).values())


def check(answer: str, record: dict[str, Any]) -> dict[str, bool]:
    """Each check of CHECKS that applies to this record -> passed?"""
    text = (answer or "").strip()
    lang = record.get("lang", "en")
    out = {"language": language_ok(text, lang),
           "on_topic": any(w.lower() in text.lower() for w in record.get("topic", [])) if record.get("topic") else True,
           "no_loop": not has_loop(text, lang),
           "complete": bool(text) and text[-1] in _END + "”\"'）)"}
    if record.get("sentences"):
        out["sentences"] = sentence_count(text) == int(record["sentences"])
    if record.get("plain"):
        out["plain"] = not _MARKDOWN.search(text)
    return out


def score(results: list[dict[str, bool]]) -> dict[str, float]:
    """Share of checks passed and share of answers passing all of theirs, in percent."""
    checks = [v for r in results for v in r.values()]
    return {"checks_passed": round(100.0 * sum(checks) / max(1, len(checks)), 1),
            "all_passed": round(100.0 * sum(all(r.values()) for r in results) / max(1, len(results)), 1)}
