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


def build_prompt(task: str, example: dict[str, Any], tokenizer: Any) -> str:
    """The text a model continues to answer `example`."""
    text = instruction(task, example)
    if task == "generation" and not example.get("chat"):
        return text
    if has_chat_template(tokenizer):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
    return f"{text}\nAnswer: "


def build_training_pair(task: str, example: dict[str, Any], tokenizer: Any) -> tuple[str, str]:
    """(prompt, target) for supervised fine-tuning; the target ends with the end-of-turn token."""
    prompt = build_prompt(task, example, tokenizer)
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
