"""Real Chromium against `streamlit run`: every page opens without an exception, and the language
switch changes the labels and is kept in the URL."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.i18n import t
from core.nav import PAGES
from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser


def test_every_page_opens_in_chromium_without_exception(page):
    for spec in PAGES:
        page.goto(f"{page.base_url}/{spec.url_path}")
        wait_for_app(page)
        assert page.locator("[data-testid='stException']").count() == 0, spec.path
        assert page.locator("h1").first.inner_text().strip(), spec.path


def test_language_switch_relabels_the_app_and_persists_in_the_url(page):
    page.goto(f"{page.base_url}/explorer")
    wait_for_app(page)
    nav = page.locator("[data-testid='stSidebarNav']")
    assert t("nav.scenarios", "en") in nav.inner_text()
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Language").click()
    page.get_by_role("option", name="简体中文").click()
    wait_for_app(page)
    expect(nav).to_contain_text(t("nav.scenarios", "zh"), timeout=30_000)  # the nav re-renders after the switch
    assert re.search(r"[?&]lang=zh", page.url)
    # A shared link opens in the same language.
    page.goto(f"{page.base_url}/scenarios?lang=zh")
    wait_for_app(page)
    assert t("nav.explorer", "zh") in page.locator("[data-testid='stSidebarNav']").inner_text()
