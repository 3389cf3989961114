"""The estimator pages in real Chromium against `streamlit run`."""
from __future__ import annotations

import pytest

from tests.conftest import streamlit_server, wait_for_app

pytestmark = pytest.mark.browser


def open_page(page, path: str) -> None:
    page.goto(f"{page.base_url}/{path}")
    wait_for_app(page)


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


def test_a_deep_link_as_a_fresh_servers_first_visit_opens_its_page_without_a_dialog(browser):
    """A fresh server is in Streamlit's pages-directory mode until app.py has run once; the first
    visitor's deep link must still open its page through app.py (sidebar, language) and never show
    "Page not found" (page files are named after their url_path, pages/_shared.py leaves the mode)."""
    with streamlit_server("server-fresh.log") as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        seen = []
        page.on("console", lambda msg: seen.append(msg.text))
        try:
            for path, metric in [("training-cost", "Training FLOPs"), ("memory-inference", "Max batch")]:
                page.goto(f"{url}/{path}?lang=en")
                wait_for_app(page)
                page.get_by_test_id("stMetric").filter(has_text=metric).first.wait_for(timeout=60_000)
                page.wait_for_timeout(1_000)  # the dialog would open right after the first render
                assert page.get_by_role("dialog").filter(has_text="Page not found").count() == 0, path
                assert page.get_by_test_id("stSidebar").get_by_text("Language / 语言").is_visible()
                nav = page.get_by_test_id("stSidebarNav").inner_text()
                assert "Training cost" in nav and "_shared" not in nav and "app" not in nav.split()
        finally:
            context.close()
