"""The one check every uploaded file passes before anything parses it or writes it.

`read_upload` reads the file in chunks (a Streamlit UploadedFile, any binary stream, or bytes) and
stops at the first chunk that breaks a limit, so a 200 MB file is refused after reading
OPPLAB_MAX_UPLOAD_MB + one chunk, and a file with too many lines after reading those lines:

- type: the client's file name only gives the suffix, which must be one the caller accepts; the
  name itself is never used for a path (stored uploads are named after their content's SHA-256);
- size: at most OPPLAB_MAX_UPLOAD_MB bytes, and not empty;
- rows: at most OPPLAB_MAX_UPLOAD_ROWS lines (or the caller's smaller cap);
- compressed: zip/gzip/bzip2/xz/zstd/7z/rar magic bytes are refused, never unpacked (no zip bombs);
- encoding: UTF-8 (a UTF-8 BOM is dropped); UTF-16 and other encodings are refused with the line
  of the first bad byte; NUL bytes mean binary, refused.

Raises UploadError, a ValueError whose message is meant for the user.
"""
from __future__ import annotations

import codecs
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.config import get_settings

CHUNK_BYTES = 1 << 20
# A demo batch caps its rows; its file may hold blank lines or multi-line CSV cells, so the line cap
# checked before parsing is this many lines per allowed row.
BATCH_LINES_PER_ROW = 4
# Magic bytes of compressed or archive formats: refused, never unpacked.
_COMPRESSED = {
    b"PK\x03\x04": "a zip archive", b"PK\x05\x06": "a zip archive", b"PK\x07\x08": "a zip archive",
    b"\x1f\x8b": "gzip-compressed", b"BZh": "bzip2-compressed", b"\xfd7zXZ\x00": "xz-compressed",
    b"(\xb5/\xfd": "zstd-compressed", b"7z\xbc\xaf\x27\x1c": "a 7-zip archive", b"Rar!\x1a\x07": "a RAR archive",
}
_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


class UploadError(ValueError):
    """An upload refused before parsing; the message is meant for the user."""


@dataclass(frozen=True)
class Upload:
    text: str
    suffix: str  # lower-case, with the dot
    n_bytes: int
    n_rows: int  # lines, counting a last line without a newline
    sha256: str

    def stored_name(self, prefix: str = "upload") -> str:
        """A file name derived from the content only (never from the client's file name)."""
        return f"{prefix}-{self.sha256[:12]}"


def _chunks(source: bytes | bytearray | memoryview | BinaryIO):
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    elif hasattr(source, "seek"):
        try:
            source.seek(0)
        except (OSError, ValueError):
            pass
    while True:
        block = source.read(CHUNK_BYTES)
        if not block:
            return
        yield bytes(block)


def check_suffix(filename: str | None, allowed: tuple[str, ...]) -> str:
    suffix = Path(str(filename or "")).suffix.lower()
    if suffix not in allowed:
        raise UploadError(f"unsupported file type {suffix or '(none)'}: use {', '.join(allowed)}")
    return suffix


def read_upload(source: bytes | BinaryIO, filename: str | None = None, allowed: tuple[str, ...] | None = None,
                max_rows: int | None = None, max_bytes: int | None = None) -> Upload:
    """Checked UTF-8 text of an uploaded file; raises UploadError with the reason when refused.
    `allowed` suffixes (e.g. (".csv",)) are checked against the client's file name when given;
    `max_rows` can only lower OPPLAB_MAX_UPLOAD_ROWS."""
    settings = get_settings()
    suffix = check_suffix(filename, allowed) if allowed is not None else Path(str(filename or "")).suffix.lower()
    max_bytes = settings.max_upload_bytes if max_bytes is None else max_bytes
    max_rows = settings.max_upload_rows if max_rows is None else min(max_rows, settings.max_upload_rows)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    digest = hashlib.sha256()
    parts: list[str] = []
    n_bytes = newlines = 0
    last = b""
    for block in _chunks(source):
        if n_bytes == 0:
            _check_head(block)
            if block.startswith(codecs.BOM_UTF8):
                block = block[len(codecs.BOM_UTF8):]
                n_bytes += len(codecs.BOM_UTF8)
        n_bytes += len(block)
        if n_bytes > max_bytes:
            raise UploadError(f"the file is too large: the limit is {max_bytes / 2**20:g} MB "
                              "(OPPLAB_MAX_UPLOAD_MB); split it")
        if b"\x00" in block:
            raise UploadError(_nul_message(block))
        newlines += block.count(b"\n")
        if newlines > max_rows:
            raise UploadError(_rows_message(max_rows, settings.max_upload_rows))
        try:
            parts.append(decoder.decode(block))
        except UnicodeDecodeError as exc:
            raise UploadError(_encoding_message(parts, exc)) from None
        digest.update(block)
        last = block
    try:
        parts.append(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        raise UploadError("the file is not UTF-8 text (its last bytes are not a whole character, e.g. Latin-1); "
                          "save it as UTF-8") from None
    if n_bytes == 0:
        raise UploadError("the file is empty")
    rows = newlines + (0 if last.endswith(b"\n") else 1)
    if rows > max_rows:
        raise UploadError(_rows_message(max_rows, settings.max_upload_rows))
    return Upload(text="".join(parts), suffix=suffix, n_bytes=n_bytes, n_rows=rows, sha256=digest.hexdigest())


def _check_head(block: bytes) -> None:
    for magic, what in _COMPRESSED.items():
        if block.startswith(magic):
            raise UploadError(f"the file is {what}; compressed files are not accepted: upload the plain text")
    if block.startswith(_UTF16):
        raise UploadError("the file is UTF-16/UTF-32 text, not UTF-8; save it as UTF-8")


def _rows_message(max_rows: int, setting: int) -> str:
    return (f"the file has more than {max_rows:,} lines: the limit is {max_rows:,}"
            + (" (OPPLAB_MAX_UPLOAD_ROWS)" if max_rows == setting else " for this form") + "; split it")


def _nul_message(block: bytes) -> str:
    # UTF-16 without a BOM: ASCII text with a NUL byte in every other position.
    even, odd = block[0::2].count(0), block[1::2].count(0)
    half = max(1, len(block) // 2)
    if max(even, odd) > 0.4 * half and min(even, odd) < 0.1 * half:
        return "the file looks like UTF-16 text, not UTF-8; save it as UTF-8"
    return "the file contains NUL bytes: it looks binary, not text"


def _encoding_message(parts: list[str], exc: UnicodeDecodeError) -> str:
    data = bytes(exc.object)  # the decoder's pending bytes + this chunk
    line = sum(p.count("\n") for p in parts) + data[:exc.start].count(b"\n") + 1
    return (f"the file is not UTF-8 text (line {line} has byte 0x{data[exc.start]:02x}, e.g. Latin-1 or "
            "Windows-1252); save it as UTF-8")
