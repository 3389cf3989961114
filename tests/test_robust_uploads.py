"""Hostile uploads: one check (core.uploads) before any parser, on every page that takes a file.
Empty, binary, 200 MB, UTF-16, Latin-1, zip/gzip bombs, too many lines, `../../x` names: refused
with a reason, and nothing is written."""
from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.lm import task_files
from core.config import get_settings
from core.lm import corpora, tasks
from core.uploads import CHUNK_BYTES, UploadError, read_upload
from tests.conftest import ROOT


class EndlessFile(io.RawIOBase):
    """A 200 MB upload that is never in memory: counts what the check actually reads."""

    def __init__(self, size: int):
        self.size, self.pos = size, 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n < 0 else min(n, self.size - self.pos)
        self.pos += n
        return b"review text, positive\n"[:1] * n


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("reviews.csv", b"0" * 50_000_000)  # 50 MB of zeros in ~50 kB
    return buf.getvalue()


HOSTILE = [
    ("empty.csv", b"", "empty"),
    ("binary.csv", bytes(range(256)) * 8, "NUL bytes"),
    ("utf16.csv", "text,label\ngreat,positive\n".encode("utf-16"), "UTF-16"),
    ("utf16-nobom.csv", "text,label\ngreat,positive\n".encode("utf-16-le"), "UTF-16"),
    ("latin1.csv", "text,label\ncafé crème,positive\n".encode("latin-1"), "line 2 has byte 0xe9"),
    ("bomb.csv", _zip_bomb(), "zip archive"),
    ("bomb.csv", gzip.compress(b"0" * 10_000_000), "gzip-compressed"),
    ("reviews.exe", b"text,label\nok,positive\n", "unsupported file type"),
]


def _files() -> set[Path]:
    root = get_settings().state_dir
    return {p for d in ("corpora", "task_uploads") for p in (root / d).rglob("*")}


@pytest.mark.parametrize("name, raw, reason", HOSTILE, ids=[f"{h[0]}-{h[2][:10]}" for h in HOSTILE])
def test_hostile_uploads_are_refused_with_a_reason_and_nothing_is_written(name, raw, reason):
    before = _files()
    with pytest.raises(UploadError, match=reason):
        read_upload(raw, name, (".csv",))
    with pytest.raises(tasks.TaskDataError, match=reason):
        task_files.save_task_upload("sentiment", name, raw)
    if name.endswith(".csv"):
        with pytest.raises(corpora.CorpusError, match=reason):
            corpora.save_upload(name.replace(".csv", ".txt"), raw)
    assert _files() == before


def test_a_200_mb_upload_is_refused_after_reading_only_the_limit():
    upload = EndlessFile(200 * 2**20)
    with pytest.raises(UploadError, match="limit is 20 MB"):
        read_upload(upload, "big.txt", (".txt",))
    assert upload.pos <= get_settings().max_upload_bytes + CHUNK_BYTES  # streamed: stopped at the limit


def test_the_row_cap_is_a_setting_and_is_checked_before_parsing(monkeypatch):
    monkeypatch.setenv("OPPLAB_MAX_UPLOAD_ROWS", "100")
    rows = b"text,label\n" + b"fine,positive\n" * 150
    with pytest.raises(UploadError, match="more than 100 lines.*OPPLAB_MAX_UPLOAD_ROWS"):
        read_upload(rows, "r.csv", (".csv",))
    assert read_upload(rows[:14 * 99 + 11], "r.csv", (".csv",)).n_rows == 100
    with pytest.raises(UploadError, match="more than 10 lines.*for this form"):
        read_upload(rows, "r.csv", (".csv",), max_rows=10)  # a form can only lower it
    assert get_settings().max_upload_rows == 100
    monkeypatch.delenv("OPPLAB_MAX_UPLOAD_ROWS")
    assert get_settings().max_upload_rows == 250_000 and get_settings().max_training_jobs == 1


def test_a_traversal_name_never_becomes_a_path():
    raw = ("text,label\n" + "a fine film,positive\n" * 5).encode()
    path, examples = task_files.save_task_upload("sentiment", "../../../../tmp/evil.csv", raw)
    assert len(examples) == 5
    assert path.parent == get_settings().state_dir / "task_uploads" / "sentiment" and "evil" not in path.name
    assert not Path("/tmp/evil.csv").exists()
    assert read_upload(raw, "..\\..\\x.csv", (".csv",)).text == raw.decode()
    # a UTF-8 BOM is fine; the text has none
    assert read_upload(b"\xef\xbb\xbf" + raw, "x.csv", (".csv",)).text == raw.decode()


def _page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(path).run()
    return at


@pytest.mark.parametrize("page, uploader, submit, name", [
    ("pages/sentiment.py", "se_upload", "se_batch_submit", "reviews.csv"),
    ("pages/translate.py", "tr_upload", "tr_batch_submit", "lines.txt"),
])
@pytest.mark.parametrize("raw, reason", [
    (_zip_bomb(), "zip archive"),
    ("hello\nworld\n".encode("utf-16"), "UTF-16"),
    (b"", "empty"),
    (b"text\n" + b"x\n" * 1000, "more than"),
])
def test_demo_batch_pages_refuse_hostile_files_next_to_the_widget(page, uploader, submit, name, raw, reason):
    at = _page(page)
    at.file_uploader(key=uploader).upload(name, raw).run()
    at.button(key=submit).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(reason in e.value for e in at.error), [e.value for e in at.error]


def test_studio_task_upload_refuses_a_bomb_and_stores_a_good_file_by_content():
    at = _page("pages/studio.py")
    at.radio(key="studio_mode").set_value("finetune").run()
    before = _files()
    at.file_uploader(key="studio_data_upload_sentiment").upload("../../x.csv", _zip_bomb()).run()
    assert not at.exception and any("zip archive" in e.value for e in at.error)
    assert _files() == before
    good = ("text,label\n" + "a fine film,positive\nawful,negative\n" * 10).encode()
    at.file_uploader(key="studio_data_upload_sentiment").upload("../../x.csv", good).run()
    assert not at.exception and at.success
    stored = _files() - before
    assert len(stored) == 1 and next(iter(stored)).name.startswith("upload-")
