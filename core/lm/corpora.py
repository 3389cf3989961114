"""Text corpora for training from scratch: the bundled ones (fetched from registry packages by
scripts/fetch_corpora.py into data/corpora/, each with a card in data/cards/) and user uploads
(.txt/.md/.csv/.jsonl), checked for size, encoding and content before anything is written."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.config import get_settings
from core.uploads import Upload, UploadError, read_upload

UPLOAD_SUFFIXES = (".txt", ".md", ".csv", ".jsonl")
MIN_CHARS = 1000


class CorpusError(ValueError):
    """A corpus that cannot be used; the message is meant for the user."""


@dataclass(frozen=True)
class Corpus:
    name: str
    path: Path
    chars: int
    bundled: bool
    card: Path | None

    def preview(self, n: int = 600) -> str:
        with open(self.path, encoding="utf-8") as f:
            return f.read(n)


def corpora_dir() -> Path:
    return get_settings().data_dir / "corpora"


def uploads_dir() -> Path:
    return get_settings().state_dir / "corpora"


def _corpus(path: Path, bundled: bool) -> Corpus:
    card = get_settings().data_dir / "cards" / f"corpus_{path.stem}.md"
    return Corpus(name=path.stem, path=path, chars=_char_count(path), bundled=bundled,
                  card=card if card.is_file() else None)


def _char_count(path: Path) -> int:
    # Sizes on disk are bytes; a UTF-8 corpus (Chinese poetry) has fewer characters than bytes.
    with open(path, encoding="utf-8") as f:
        return sum(len(block) for block in iter(lambda: f.read(1 << 20), ""))


def list_corpora() -> list[Corpus]:
    """Bundled corpora first, then the user's accepted uploads."""
    found = []
    for root, bundled in ((corpora_dir(), True), (uploads_dir(), False)):
        if root.is_dir():
            found += [_corpus(p, bundled) for p in sorted(root.glob("*.txt"))]
    return found


def resolve(name_or_path: str) -> Path:
    """A bundled/uploaded corpus name, or a path to a text file."""
    for corpus in list_corpora():
        if corpus.name == name_or_path:
            return corpus.path
    try:
        path = Path(name_or_path).expanduser()
        if path.is_file():
            return path
    except (OSError, RuntimeError, ValueError):  # a name too long, ~unknown-user, a NUL byte
        pass
    names = ", ".join(c.name for c in list_corpora()) or "none installed"
    raise CorpusError(f"no corpus {name_or_path[:80]!r}: give a text file or one of: {names}")


def read_corpus(name_or_path: str) -> str:
    path = resolve(name_or_path)
    return extract_text(path.name, path.read_bytes())


def extract_text(filename: str, raw: bytes | BinaryIO) -> str:
    """Text of an upload (checked first by core.uploads) by its type: .txt/.md as is, .csv all text cells, .jsonl every string
    value ("text" when present). Raises CorpusError with the reason when it is not usable."""
    return _extract(_checked(filename, raw))


def _checked(filename: str, raw: bytes | BinaryIO) -> Upload:
    try:
        return read_upload(raw, filename, UPLOAD_SUFFIXES)
    except UploadError as exc:
        raise CorpusError(str(exc)) from None


def _extract(upload: Upload) -> str:
    text, suffix = upload.text, upload.suffix
    if suffix == ".csv":
        try:
            rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as exc:
            raise CorpusError(f"the CSV cannot be parsed: {exc}") from exc
        text = "\n".join(" ".join(c for c in row if c.strip() and not _is_number(c)) for row in rows[1:] if row)
    elif suffix == ".jsonl":
        parts = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise CorpusError(f"line {n} is not valid JSON: {exc}") from exc
            parts.append(obj.get("text") if isinstance(obj, dict) and isinstance(obj.get("text"), str)
                         else " ".join(v for v in (obj.values() if isinstance(obj, dict) else [obj]) if isinstance(v, str)))
        text = "\n".join(p for p in parts if p)
    text = text.replace("\r\n", "\n")
    if len(text.strip()) < MIN_CHARS:
        raise CorpusError(f"the text has {len(text.strip())} characters; at least {MIN_CHARS} are needed to train")
    return text


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def save_upload(filename: str, raw: bytes | BinaryIO) -> Corpus:
    """Check an upload and, only if it passes, store its text as a corpus named after its content
    (`upload-<sha256 prefix>`: the client's file name never becomes a path; the same file uploaded
    twice is one corpus)."""
    upload = _checked(filename, raw)
    text = _extract(upload)
    target = uploads_dir() / f"{upload.stored_name()}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)  # a reader never sees half a corpus
    return _corpus(target, bundled=False)


def card_summary(name_or_path: str | None) -> dict[str, str]:
    """Source and licence lines of a bundled corpus's card (empty for a user's file)."""
    if not name_or_path:
        return {}
    card = get_settings().data_dir / "cards" / f"corpus_{Path(str(name_or_path)).stem}.md"
    if not card.is_file():
        return {"licence": "user upload (licence as provided by the user)"}
    out = {}
    for line in card.read_text(encoding="utf-8").splitlines():
        for key in ("Source", "Licence"):
            if line.startswith(key + ":"):
                out[key.lower()] = line.split(":", 1)[1].strip()
    return out
