"""Task data formats and prompt templates, shared by training and inference so they never drift.

File formats (UTF-8):
- sentiment:   CSV with a header and columns `text,label` (label `positive`/`negative`, also
               `pos`/`neg`/`1`/`0`); an optional `lang` column.
- qa:          JSONL, one object per line: {"context": str, "question": str, "answers": [str, ...]}
- translation: TSV `source<TAB>target[<TAB>src_lang<TAB>tgt_lang]`, optional header line
               `source	target	src_lang	tgt_lang`; languages are codes from LANGUAGES.
- generation:  plain text; blank-line separated paragraphs become examples {"text": ...}.

`build_prompt` renders the instruction through the tokenizer's chat template when it has one
(the instruct base and its fine-tunes), or a plain "Instruction/Answer" layout otherwise (small
from-scratch models). `build_training_pair` returns (prompt, target): the loss is on target only.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

TASKS = ("generation", "qa", "translation", "sentiment")
SENTIMENT_LABELS = ("negative", "positive")
LANGUAGES = {"en": "English", "zh": "Chinese", "fr": "French", "de": "German", "es": "Spanish"}
_LABEL_ALIASES = {
    "positive": "positive", "pos": "positive", "1": "positive", "fresh": "positive",
    "negative": "negative", "neg": "negative", "0": "negative", "rotten": "negative",
}
MAX_EXAMPLES = 200_000


class TaskDataError(ValueError):
    """A task file or example that cannot be used; the message is shown to the user as is."""


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise TaskDataError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")


def _read_text(source: str | Path | bytes) -> str:
    """Bytes are an upload: checked by core.uploads (size, lines, compression, encoding) before
    parsing. A path is a local file named on the command line or bundled."""
    from core.uploads import UploadError, read_upload

    if isinstance(source, bytes):
        try:
            return read_upload(source).text
        except UploadError as exc:
            raise TaskDataError(str(exc)) from None
    path = Path(source)
    try:
        found = path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte
        found = False
    if not found:
        raise TaskDataError(f"no such file: {str(path)[:120]!r}")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TaskDataError(f"the file is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise TaskDataError(f"cannot read {path}: {exc.strerror}") from None


def normalise_label(value: str) -> str:
    label = _LABEL_ALIASES.get(str(value).strip().lower())
    if label is None:
        raise TaskDataError(f"unknown sentiment label {value!r}; use positive or negative")
    return label


def parse_sentiment(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "text" not in reader.fieldnames:
        raise TaskDataError("a sentiment CSV needs a header with a `text` column (and `label` for evaluation)")
    out = []
    for i, row in enumerate(reader, start=2):
        body = (row.get("text") or "").strip()
        if not body:
            continue
        example: dict[str, Any] = {"text": body}
        if row.get("label") not in (None, ""):
            try:
                example["label"] = normalise_label(row["label"])
            except TaskDataError as exc:
                raise TaskDataError(f"line {i}: {exc}") from None
        if row.get("lang"):
            example["lang"] = row["lang"].strip()
        out.append(example)
    return out


def parse_qa(text: str) -> list[dict[str, Any]]:
    out = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TaskDataError(f"line {i} is not valid JSON: {exc.msg}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("context"), str) or not isinstance(obj.get("question"), str):
            raise TaskDataError(f"line {i}: each line needs string fields `context` and `question`")
        answers = obj.get("answers", [])
        if isinstance(answers, str):
            answers = [answers]
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            raise TaskDataError(f"line {i}: `answers` must be a list of strings")
        out.append({"context": obj["context"], "question": obj["question"], "answers": answers})
    return out


def parse_translation(text: str, src_lang: str = "en", tgt_lang: str = "fr") -> list[dict[str, Any]]:
    out = []
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["source", "target"]:
        rows = rows[1:]
    for i, row in enumerate(rows, start=1):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) not in (2, 4):
            raise TaskDataError(f"line {i}: expected source<TAB>target[<TAB>src_lang<TAB>tgt_lang], got {len(row)} columns")
        s, t = row[0].strip(), row[1].strip()
        sl, tl = (row[2].strip(), row[3].strip()) if len(row) == 4 else (src_lang, tgt_lang)
        for code in (sl, tl):
            if code not in LANGUAGES:
                raise TaskDataError(f"line {i}: unknown language {code!r}; use one of {', '.join(LANGUAGES)}")
        out.append({"source": s, "target": t, "src_lang": sl, "tgt_lang": tl})
    return out


def parse_generation(text: str) -> list[dict[str, Any]]:
    """Plain text (blank-line separated paragraphs, for perplexity) or, when the first line is a
    JSON object with an "instruction", instruction records (core.lm.instruct_checks)."""
    first = text.lstrip().split("\n", 1)[0].strip()
    if first.startswith("{"):
        try:
            head = json.loads(first)
        except ValueError:
            head = None
        if isinstance(head, dict) and "instruction" in head:
            out = []
            for n, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError as exc:
                    raise TaskDataError(f"line {n}: not valid JSON ({exc.msg})") from None
                if not isinstance(rec, dict) or not str(rec.get("instruction") or "").strip():
                    raise TaskDataError(f"line {n}: an instruction record needs an \"instruction\"")
                out.append(rec)
            return out
    return [{"text": p.strip()} for p in text.split("\n\n") if p.strip()]


_PARSERS = {"sentiment": parse_sentiment, "qa": parse_qa, "translation": parse_translation, "generation": parse_generation}


def load_task_examples(task: str, path: str | Path | bytes) -> list[dict[str, Any]]:
    """Read a task file (a path, or the bytes of an upload) into example dicts."""
    _check_task(task)
    return parse_task_text(task, _read_text(path))


def parse_task_text(task: str, text: str) -> list[dict[str, Any]]:
    """Example dicts from the text of a task file (already checked, e.g. by core.uploads)."""
    _check_task(task)
    examples = _PARSERS[task](text)
    if not examples:
        raise TaskDataError("the file holds no examples")
    if len(examples) > MAX_EXAMPLES:
        raise TaskDataError(f"the file holds {len(examples)} examples; the limit is {MAX_EXAMPLES}")
    return examples


# ------------------------------------------------------------------ prompts
def instruction(task: str, example: dict[str, Any]) -> str:
    """The task instruction in words (the user turn of a chat)."""
    _check_task(task)
    if task == "sentiment":
        return ("Is the sentiment of this review positive or negative? Answer with one word.\n\n"
                f"Review: {example['text']}")
    if task == "qa":
        return ("Answer the question with a short phrase copied from the context.\n\n"
                f"Context: {example['context']}\n\nQuestion: {example['question']}")
    if task == "translation":
        src = LANGUAGES.get(example.get("src_lang", "en"), example.get("src_lang", "en"))
        tgt = LANGUAGES.get(example.get("tgt_lang", "fr"), example.get("tgt_lang", "fr"))
        return f"Translate this {src} text into {tgt}.\n\n{example['source']}"
    return str(example.get("prompt", ""))


def target(task: str, example: dict[str, Any]) -> str:
    _check_task(task)
    if task == "sentiment":
        return normalise_label(example["label"])
    if task == "qa":
        if not example.get("answers"):
            raise TaskDataError("a QA training example needs at least one answer")
        return example["answers"][0]
    if task == "translation":
        return example["target"]
    return example["text"]


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


# Prompt versions. 1: the instruction as the only (user) turn, as the SmolLM2 LoRAs were trained.
# 2: a system turn that pins the task and, for translation, the target language and script, then
# the input as the user turn (the Qwen task models; their cards say "prompt_version": 2).
PROMPT_VERSIONS = (1, 2)
_TARGET_NAMES = {"zh": "Simplified Chinese (简体中文)"}


def system_prompt(task: str, example: dict[str, Any]) -> str:
    _check_task(task)
    if task == "qa":
        return ("You extract answers from a text. Answer with the exact words of the text, as few as possible "
                "(usually 1 to 5 words): a name, number, date, place or short phrase. Never a full sentence.")
    if task == "translation":
        src = LANGUAGES.get(example.get("src_lang", "en"), example.get("src_lang", "en"))
        tgt_code = example.get("tgt_lang", "fr")
        tgt = _TARGET_NAMES.get(tgt_code, LANGUAGES.get(tgt_code, tgt_code))
        return (f"You are a professional translator. Translate the user's {src} text into {tgt}. Reply with "
                f"the {tgt} translation only: no explanations, no notes, no quotation marks.")
    if task == "sentiment":
        return "You classify the overall sentiment of customer and critic reviews, in any language."
    return "You are a helpful assistant."


def user_turn(task: str, example: dict[str, Any]) -> str:
    if task == "qa":
        return f"Text: {example['context']}\n\nQuestion: {example['question']}\n\nShort answer copied from the text:"
    if task == "translation":
        return str(example["source"])
    if task == "sentiment":
        return (f"Review: {example['text']}\n\nIs this review positive or negative overall? "
                "Answer with one word: positive or negative.")
    return instruction(task, example)


# Version 2 shows the model two short worked translations into the target language before the
# user's text (written for this project; not from any test set): a 0.5B chat model then answers
# with a translation instead of commentary or a refusal, in the right language and register.
TRANSLATION_SHOTS = {
    "en": [("会议改到了周四上午十点。", "zh", "The meeting has been moved to Thursday at 10 a.m."),
           ("Nous avons doublé notre chiffre d'affaires cette année.", "fr", "We doubled our revenue this year.")],
    "zh": [("The meeting has been moved to Thursday at 10 a.m.", "en", "会议改到了周四上午十点。"),
           ("Please send me the invoice by Friday.", "en", "请在周五之前把发票发给我。")],
    "fr": [("The meeting has been moved to Thursday at 10 a.m.", "en", "La réunion a été déplacée à jeudi 10 h."),
           ("Please send me the invoice by Friday.", "en", "Merci de m'envoyer la facture d'ici vendredi.")],
    "de": [("The meeting has been moved to Thursday at 10 a.m.", "en", "Das Meeting wurde auf Donnerstag, 10 Uhr, verschoben."),
           ("Please send me the invoice by Friday.", "en", "Bitte schicken Sie mir die Rechnung bis Freitag.")],
}


# Version 2 QA shows two worked questions on a short text written for this project (not from any
# test set): a short span for a "how many" and for a "why" question. Measured on 60 realistic
# questions (30 SQuAD, 30 company), F1 72.7 -> 76.1: the model stops copying whole sentences.
QA_SHOT_TEXT = ("The Lumen 3 desk lamp was released in March 2022 by Brightway, a lighting start-up in Lyon. It sold "
                "40,000 units in its first month, helped by a price of 59 euros. Brightway delayed the launch by six "
                "weeks because a supplier could not deliver the LED panels on time.")
QA_SHOTS = [("How many units did the Lumen 3 sell in its first month?", "40,000 units"),
            ("Why was the launch delayed?", "a supplier could not deliver the LED panels on time")]


def build_prompt(task: str, example: dict[str, Any], tokenizer: Any, version: int = 1) -> str:
    """The text a model continues to answer `example` (`version`: see PROMPT_VERSIONS)."""
    if version not in PROMPT_VERSIONS:
        raise TaskDataError(f"unknown prompt version {version!r}")
    if task == "generation" and not example.get("chat"):
        return instruction(task, example)
    if version == 2 and task != "generation":
        messages = [{"role": "system", "content": system_prompt(task, example)}]
        if task == "qa":
            for question, answer in QA_SHOTS:
                messages += [{"role": "user", "content": user_turn(task, {"context": QA_SHOT_TEXT, "question": question})},
                             {"role": "assistant", "content": answer}]
        if task == "translation":
            tgt = example.get("tgt_lang", "fr")
            for source, src_lang, target_text in TRANSLATION_SHOTS.get(tgt, []):
                if src_lang == example.get("src_lang", "en") or tgt == "en":
                    messages += [{"role": "user", "content": source}, {"role": "assistant", "content": target_text}]
        messages.append({"role": "user", "content": user_turn(task, example)})
        return chat_prompt(messages, tokenizer)
    text = instruction(task, example)
    if has_chat_template(tokenizer):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
    return f"{text}\nAnswer: "


def build_training_pair(task: str, example: dict[str, Any], tokenizer: Any, version: int = 1) -> tuple[str, str]:
    """(prompt, target) for supervised fine-tuning; the target ends with the end-of-turn token."""
    prompt = build_prompt(task, example, tokenizer, version)
    answer = target(task, example)
    eos = getattr(tokenizer, "eos_token", None) or ""
    if task == "generation" and not example.get("chat"):
        return prompt, answer + eos
    return prompt, answer + eos


def chat_prompt(messages: list[dict[str, str]], tokenizer: Any) -> str:
    """A multi-turn chat rendered with the model's own template (plain text when it has none)."""
    if has_chat_template(tokenizer):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nassistant: "
