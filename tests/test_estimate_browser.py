"""The estimator pages in real Chromium against `streamlit run`."""
from __future__ import annotations

import pytest

from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser


def open_page(page, path: str) -> None:
    """Open a page; dismiss the "Page not found" dialog Streamlit 1.67 shows on a deep link's first load."""
    page.goto(f"{page.base_url}/{path}")
    wait_for_app(page)
    dialog = page.get_by_role("dialog").filter(has_text="Page not found")
    if dialog.count():
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached", timeout=10_000)


def test_training_cost_page_recomputes_when_the_model_size_changes(page):
    open_page(page, "training-cost")
    flops = page.get_by_test_id("stMetric").filter(has_text="Training FLOPs")
    flops.wait_for(timeout=60_000)
    before = flops.get_by_test_id("stMetricValue").inner_text()
    box = page.get_by_role("spinbutton", name="Parameters (billions)").first
    box.fill("175")
    box.press("Enter")
    wait_for_app(page)
    page.wait_for_function("b => !document.body.innerText.includes(b)", arg=before, timeout=60_000)
    after = flops.get_by_test_id("stMetricValue").inner_text()
    assert before != after
    tokens = float(page.get_by_role("spinbutton", name="Training tokens (billions)").first.input_value())
    assert float(after) == pytest.approx(6 * 175e9 * tokens * 1e9, rel=0.01)
    assert page.get_by_text("Validation against published training runs").is_visible()
    assert page.locator("[data-testid='stPlotlyChart']").count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0


def test_use_case_link_from_the_explorer_prefills_the_estimate(page):
    from core.estimate import catalogue

    cases = catalogue.use_cases()
    if cases.empty:
        pytest.skip("the explorer's use_cases table is not in this tree")
    case = cases.iloc[0]
    open_page(page, f"training-cost?use_case={case['use_case_id']}")
    box = page.get_by_role("spinbutton", name="Parameters (billions)").first
    box.wait_for(timeout=60_000)
    assert float(box.input_value()) == pytest.approx(case["model_params_b"])


def test_memory_page_shows_fit_and_the_capacity_chart(page):
    open_page(page, "memory-inference")
    page.get_by_test_id("stMetric").filter(has_text="Fits?").wait_for(timeout=60_000)
    assert page.get_by_test_id("stMetric").filter(has_text="Cost per 1M tokens").count() == 1
    page.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=60_000)
    page.get_by_role("tab", name="Training memory").click()
    page.get_by_test_id("stMetric").filter(has_text="Memory per accelerator").first.wait_for(timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
