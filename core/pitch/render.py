"""Rendering through the system Chromium (Debian /usr/bin/chromium), offline:

- png(fig): a Plotly figure as PNG bytes with Kaleido 1.x, whose browser is kept open for the process
  (the first image ~1.5 s, later ones ~0.1 s). plotly.js comes from the installed plotly package and
  MathJax is off, so nothing is fetched from a CDN.
- pdf(html): an HTML document printed to PDF by Chromium through Playwright (A4, backgrounds on), in
  one browser kept open by a worker thread (first PDF ~2-3 s, later ones well under a second).
  Images are inlined as data: URIs, so the page needs no network and no files.
- warm_up(): starts both browsers in the background (the Pitch page calls it when it opens).
"""
from __future__ import annotations

import atexit
import base64
import hashlib
import queue
import threading
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path

CHROMIUM: str | None = None  # None: core.config's OPPLAB_CHROMIUM (tests may point it elsewhere)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
_lock = threading.Lock()
_started = False


class RenderError(RuntimeError):
    """Chromium is missing or failed; the message says what to install."""


def _chromium() -> str:
    from core.config import get_settings

    path = CHROMIUM or get_settings().chromium
    if not Path(path).exists():
        raise RenderError(f"Chromium not found at {path}: run ./scripts/setup (installs Debian's chromium)")
    return path


def _ensure_kaleido() -> None:
    global _started
    if _started:
        return
    import kaleido

    kaleido.start_sync_server(path=_chromium(), mathjax=False, silence_warnings=True)
    atexit.register(kaleido.stop_sync_server, silence_warnings=True)
    _started = True


_PNG_CACHE: "OrderedDict[str, bytes]" = OrderedDict()
_PNG_CACHE_SIZE = 32  # charts of a few pitches; each PNG is ~50-150 kB


def png(fig, width: int = 1000, height: int | None = None, scale: float = 2.0) -> bytes:
    """The figure as PNG bytes (height: the figure's own layout height unless given). The same
    figure at the same size is rendered once per process (kept in a small LRU), so a chart drawn
    ahead while the live demo runs (core.pitch.exports.prerender) is free at export time."""
    import kaleido

    height = height or int(fig.layout.height or 450)
    key = hashlib.sha256(f"{width}x{height}@{scale}:{fig.to_json()}".encode()).hexdigest()
    with _lock:
        if key in _PNG_CACHE:
            _PNG_CACHE.move_to_end(key)
            return _PNG_CACHE[key]
        _ensure_kaleido()
        try:
            out = kaleido.calc_fig_sync(fig, opts=dict(format="png", width=width, height=height, scale=scale))
        except Exception as exc:  # noqa: BLE001 - any browser failure becomes one clear message
            raise RenderError(f"could not render a chart with Chromium: {exc}") from exc
        _PNG_CACHE[key] = out
        while len(_PNG_CACHE) > _PNG_CACHE_SIZE:
            _PNG_CACHE.popitem(last=False)
        return out


def data_uri(png_bytes: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


class _Printer:
    """One Chromium (Playwright) kept open in its own thread, printing the jobs put on its queue.

    Playwright's sync API belongs to the thread that started it, while Streamlit runs every rerun
    in a new thread: so one worker thread owns the browser and the callers wait for their result.
    A dead browser is relaunched on the next job; a failure is raised in the caller."""

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def _serve(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - Playwright could not start: fail what waits
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    return
                if job is not None:
                    job[1].set_exception(exc)

    def _loop(self) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = None
            while (job := self._jobs.get()) is not None:
                html, result = job
                try:
                    if browser is None or not browser.is_connected():
                        browser = p.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
                    page = browser.new_page()
                    try:
                        page.set_content(html, wait_until="load")
                        result.set_result(page.pdf(format="A4", print_background=True,
                                                   margin=dict(top="12mm", bottom="12mm", left="12mm", right="12mm")))
                    finally:
                        page.close()
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    result.set_exception(exc)
            if browser is not None:
                browser.close()

    def print(self, html: str, timeout_s: float = 120.0) -> bytes:
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="pitch-pdf-printer", daemon=True)
                self._thread.start()
                atexit.register(self.close)
        result: Future = Future()
        self._jobs.put((html, result))
        return result.result(timeout_s)

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join(10)


_printer = _Printer()


def pdf(html: str) -> bytes:
    """Print an HTML document to PDF with Chromium (A4, 12 mm margins, CSS backgrounds kept)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        return _printer.print(html)
    except (PlaywrightError, TimeoutError) as exc:
        raise RenderError(f"could not print the PDF with Chromium: {exc}") from exc


def warm_up() -> None:
    """Start Kaleido's browser and the PDF printer's in the background, so the first export is warm."""
    def work() -> None:
        try:
            with _lock:
                _ensure_kaleido()
            _printer.print("<!doctype html><title>warm-up</title>")
        except Exception:  # noqa: BLE001 - the export itself reports what is wrong
            pass

    threading.Thread(target=work, name="pitch-warm-up", daemon=True).start()
