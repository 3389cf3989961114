"""Rendering through the system Chromium (Debian /usr/bin/chromium), offline:

- png(fig): a Plotly figure as PNG bytes with Kaleido 1.x, whose browser is kept open for the process
  (the first image ~1.5 s, later ones ~0.1 s). plotly.js comes from the installed plotly package and
  MathJax is off, so nothing is fetched from a CDN.
- pdf(html): an HTML document printed to PDF by Chromium through Playwright (A4, backgrounds on).
  Images are inlined as data: URIs, so the page needs no network and no files.
"""
from __future__ import annotations

import atexit
import base64
import os
import threading
from pathlib import Path

CHROMIUM = os.environ.get("OPPLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
_lock = threading.Lock()
_started = False


class RenderError(RuntimeError):
    """Chromium is missing or failed; the message says what to install."""


def _chromium() -> str:
    if not Path(CHROMIUM).exists():
        raise RenderError(f"Chromium not found at {CHROMIUM}: run ./scripts/setup (installs Debian's chromium)")
    return CHROMIUM


def _ensure_kaleido() -> None:
    global _started
    if _started:
        return
    import kaleido

    kaleido.start_sync_server(path=_chromium(), mathjax=False, silence_warnings=True)
    atexit.register(kaleido.stop_sync_server, silence_warnings=True)
    _started = True


def png(fig, width: int = 1000, height: int | None = None, scale: float = 2.0) -> bytes:
    """The figure as PNG bytes (height: the figure's own layout height unless given)."""
    import kaleido

    height = height or int(fig.layout.height or 450)
    with _lock:
        _ensure_kaleido()
        try:
            return kaleido.calc_fig_sync(fig, opts=dict(format="png", width=width, height=height, scale=scale))
        except Exception as exc:  # noqa: BLE001 - any browser failure becomes one clear message
            raise RenderError(f"could not render a chart with Chromium: {exc}") from exc


def data_uri(png_bytes: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def pdf(html: str) -> bytes:
    """Print an HTML document to PDF with Chromium (A4, 12 mm margins, CSS backgrounds kept)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_content(html, wait_until="load")
                return page.pdf(format="A4", print_background=True,
                                margin=dict(top="12mm", bottom="12mm", left="12mm", right="12mm"))
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise RenderError(f"could not print the PDF with Chromium: {exc}") from exc
