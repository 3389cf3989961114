"""The export formats, as one list of plain data (like core/nav.py): the page renders a download
button per entry, the CLI a flag per entry, and the tests check each one."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from core.pitch.types import Pitch


@dataclass(frozen=True)
class ExportFormat:
    key: str  # also the CLI flag: --pptx / --pdf
    extension: str
    mime: str
    label_key: str  # i18n key of the download button
    build: Callable[[Pitch], bytes]


def _deck(p: Pitch) -> bytes:
    from core.pitch.deck import build_deck

    return build_deck(p)


def _brief(p: Pitch) -> bytes:
    from core.pitch.brief import build_pdf

    return build_pdf(p)


EXPORTS: tuple[ExportFormat, ...] = (
    ExportFormat("pptx", "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                 "pitch.download.pptx", _deck),
    ExportFormat("pdf", "pdf", "application/pdf", "pitch.download.pdf", _brief),
)


def file_name(p: Pitch, fmt: ExportFormat) -> str:
    return f"pitch-{re.sub(r'[^a-z0-9-]+', '-', p.use_case_id.lower())}-{p.lang}.{fmt.extension}"


def prerender(p: Pitch) -> None:
    """Draw every export's charts now (they do not depend on the live demo), so that the exports
    built after the demo find them in core.pitch.render's cache. Safe to run in a thread while the
    demo model loads and runs: the charts are drawn by Kaleido's Chromium, not this process."""
    from core.pitch.brief import build_html
    from core.pitch.deck import build_deck

    build_deck(p)
    build_html(p)

