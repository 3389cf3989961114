"""Test set-up: every test session writes to its own temporary state (catalogue file, SQLite
store, runs, models), never to the developer's .state/. The bundled base model, converted once
by scripts/setup, is shared read-only."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_STATE = Path(os.environ.get("OPPLAB_TEST_STATE") or __import__("tempfile").mkdtemp(prefix="opplab-test-"))
os.environ.setdefault("OPPLAB_BASE_MODEL_DIR", str(ROOT / ".state" / "base" / "SmolLM2-135M-Instruct"))
os.environ["OPPLAB_STATE_DIR"] = str(_STATE)
os.environ.pop("OPPLAB_CATALOG_PATH", None)
os.environ.pop("OPPLAB_MODELS_DIR", None)
os.environ.pop("OPPLAB_RUNS_DIR", None)
os.environ["DATABASE_URL"] = f"sqlite:///{_STATE / 'opplab.db'}"
os.environ.setdefault("OPPLAB_TORCH_THREADS", "2")
# Prompt-side products in fp32 on every machine, so tests that compare with transformers' fp32
# forward are exact (core.lm.precision would pick bf16 on an AMX Xeon; that path has its own test).
os.environ.setdefault("OPPLAB_PREFILL_DTYPE", "fp32")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def state_dir() -> Path:
    return _STATE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen | None = None, log: Path | None = None, timeout_s: float = 120) -> None:
    """Wait until `url` answers; fail with the process's log if it dies or the time runs out."""
    deadline = time.time() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.time() > deadline or (proc is not None and proc.poll() is not None):
                tail = log.read_text()[-3000:] if log is not None and log.is_file() else ""
                raise RuntimeError(f"{url} did not come up: {tail}")
            time.sleep(0.2)


@contextlib.contextmanager
def streamlit_server(log_name: str = "server.log"):
    """`streamlit run app.py` on a free port, on this session's temporary state; yields its URL."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(_STATE / log_name, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
         "--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false",
         "--server.fileWatcherType=none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(),
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("streamlit did not become healthy: " + (_STATE / log_name).read_text())
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(autouse=True)
def _app_runs_through_navigation(monkeypatch):
    """AppTest resets Streamlit's pages-directory mode before every run; a real server leaves it
    after its first run (pages/_shared.py). Leave it on every run here too, so a page runs through
    app.py's st.navigation as it does in the browser, and a click is not lost to that first rerun."""
    from streamlit.runtime.pages_manager import PagesManager

    from pages._shared import leave_pages_directory_mode

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        leave_pages_directory_mode()
    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(scope="session")
def app_server():
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: run ./scripts/setup")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, app_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.base_url = app_server  # type: ignore[attr-defined]
    yield pg
    context.close()


def wait_for_app(page, timeout_ms: int = 120_000) -> None:
    """Wait until the Streamlit script has connected and finished its run."""
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(state="attached", timeout=60_000)
    page.wait_for_timeout(300)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached", timeout=timeout_ms)


# ---------------------------------------------------------------- both databases
# These modules run every test twice: on the session's SQLite store and on a PostgreSQL database of
# their own in a throwaway server (tests/postgres.py) that this session starts on first use and
# stops at its end. Other modules use SQLite only.
BOTH_DATABASES = {"test_explorer_scenarios", "test_engine_jobs", "test_explorer_pages", "test_studio_page",
                  "test_team_store", "test_team_ownership", "test_team_pages"}


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.rpartition(".")[2] in BOTH_DATABASES and "database" in metafunc.fixturenames:
        metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True, scope="module")


@pytest.fixture(scope="session")
def postgres_server():
    from tests.postgres import Server

    server = Server().start()
    try:
        yield server
    finally:
        from core import store

        for url in [u for u in store._engines if u.startswith("postgresql")]:
            store._engines.pop(url).dispose()  # close pooled connections before the server goes
        server.stop()


@pytest.fixture(scope="module", autouse=True)
def database(request):
    """The store URL this module's tests use: SQLite (default) or a fresh PostgreSQL database."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield os.environ["DATABASE_URL"]
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database("opplab_" + request.module.__name__.rpartition(".")[2])
    previous, os.environ["DATABASE_URL"] = os.environ["DATABASE_URL"], url
    try:
        yield url
    finally:
        os.environ["DATABASE_URL"] = previous
        from core import store

        engine = store._engines.pop(url, None)
        if engine is not None:
            engine.dispose()
