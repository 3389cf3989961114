"""The explorer in real Chromium against `streamlit run`: deep links, filters and views in the URL,
and a scenario that survives a restart of the app."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT, wait_for_app

pytestmark = pytest.mark.browser


def metric(page, label: str) -> str:
    """The text of the st.metric whose label starts with `label` (value and delta)."""
    box = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return box.inner_text()


def test_a_deep_link_opens_the_filtered_explorer_and_the_url_follows_the_user(page):
    page.goto(page.base_url + "/explorer?ex_q=fraud&lang=en")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Which AI application is worth building?")).to_be_visible(timeout=30_000)
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Top opportunity")).to_contain_text(
        "Payment fraud detection", timeout=30_000)
    assert "1 / " in metric(page, "Use cases shown")

    search = page.get_by_role("textbox", name="Search")
    search.fill("translation")
    search.press("Enter")
    page.wait_for_url("**ex_q=translation**", timeout=30_000)
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Top opportunity")).to_contain_text(
        "Document machine translation", timeout=30_000)

    page.get_by_text("Market treemap", exact=True).click()
    page.wait_for_url("**ex_view=treemap**", timeout=30_000)
    wait_for_app(page)
    page.locator(".js-plotly-plot .treemap").first.wait_for(timeout=30_000)

    page.reload()  # the URL alone reproduces the view
    wait_for_app(page)
    expect(page.get_by_role("textbox", name="Search")).to_have_value("translation", timeout=30_000)
    page.locator(".js-plotly-plot .treemap").first.wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0

    page.get_by_text("Details and sources of a use case").click()  # built on demand
    cost = page.get_by_role("link", name="Estimate its training cost")
    expect(cost).to_be_visible(timeout=30_000)
    cost.click()
    page.wait_for_url("**/training-cost?**use_case=document-translation**", timeout=30_000)
    wait_for_app(page)
    assert page.locator("[data-testid='stException']").count() == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(state: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "OPPLAB_STATE_DIR": str(state), "DATABASE_URL": f"sqlite:///{state / 'opplab.db'}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", "--server.address=127.0.0.1",
         f"--server.port={port}", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
        cwd=ROOT, env=env, stdout=open(state / f"server-{port}.log", "w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError((state / f"server-{port}.log").read_text())
            time.sleep(0.5)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_scenario_saved_in_one_session_is_listed_after_the_app_restarts(browser, tmp_path):
    name = "Restart-proof plan"
    port = _free_port()
    proc = _serve(tmp_path, port)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/explorer?lang=en&ex_q=speech")
        wait_for_app(page)
        page.get_by_role("textbox", name="Scenario name").fill(name)
        page.get_by_role("textbox", name="Notes").fill("saved before a restart")
        page.get_by_role("button", name="Save scenario").click()
        page.get_by_text(f"Saved scenario “{name}”").wait_for(timeout=30_000)
        context.close()
    finally:
        _stop(proc)

    proc = _serve(tmp_path, port)  # a new process on the same store
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/scenarios?lang=en")
        wait_for_app(page)
        expect(page.get_by_role("textbox", name="Name")).to_have_value(name, timeout=30_000)
        expect(page.get_by_role("textbox", name="Notes")).to_have_value("saved before a restart")
        page.get_by_role("button", name="Open in Explorer").click()
        page.wait_for_url("**/explorer**", timeout=30_000)
        wait_for_app(page)
        expect(page.get_by_role("textbox", name="Search")).to_have_value("speech", timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        context.close()
    finally:
        _stop(proc)
