"""The studio in real Chromium: start a tiny run from the form, watch it finish live, reload and
find it again by the run id in the URL."""
from __future__ import annotations

import re

import pytest

from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_for_app(page)


def test_start_a_run_watch_it_finish_and_reattach_after_reload(page):
    page.goto(f"{page.base_url}/studio")
    wait_for_app(page)
    settings = [("Layers", 1), ("Embedding width", 32), ("Context (tokens)", 32), ("Steps", 60),
                ("Evaluate every", 20), ("Eval batches", 2)]
    wanted = ("--n-layer 1", "--n-embd 32", "--block-size 32", "--max-iters 60", "--eval-interval 20", "--eval-iters 2")
    for _ in range(3):  # on a loaded machine a value typed while the page reruns can be dropped: type it again
        for label, value in settings:
            set_number(page, label, value)
        command = page.get_by_test_id("stCode").inner_text()
        if all(flag in command for flag in wanted):
            break
        page.wait_for_timeout(2000)
    command = page.get_by_test_id("stCode").inner_text()
    assert all(flag in command for flag in wanted), command
    page.get_by_role("button", name="Start training").click()
    page.wait_for_url(re.compile(r"[?&]run=run-"), timeout=60_000)
    run_id = re.search(r"run=(run-[\w-]+)", page.url).group(1)
    page.get_by_text(re.compile(r"Finished · step 60 of 60")).wait_for(timeout=180_000)
    wait_for_app(page)
    page.get_by_text(re.compile(r"Samples at each evaluation \(3\)")).wait_for(timeout=30_000)
    assert page.get_by_test_id("stPlotlyChart").first.is_visible()

    page.reload()
    wait_for_app(page)
    assert page.get_by_role("heading", name=f"Run {run_id}").is_visible()
    assert page.locator("[data-testid='stException']").count() == 0
