"""The pitch pack in real Chromium against `streamlit run`: from the explorer to a use case's Pitch
page, a live demo (a tiny random model registered for this test), then both downloads, which must
be a valid deck and a valid one-page PDF."""
from __future__ import annotations

import subprocess

import pytest
from playwright.sync_api import expect
from pptx import Presentation

from core.lm.registry import register_model, unregister_model
from tests.conftest import wait_for_app
from tests.demos_tiny import make_tiny_llama

pytestmark = pytest.mark.browser
TINY_ID = "tiny-pitch-browser"


@pytest.fixture()
def tiny_model(tmp_path):
    register_model(TINY_ID, "generation", "", make_tiny_llama(tmp_path / "tiny"), card={"name": "tiny (tests)", "data": "random weights (tests)"})
    yield TINY_ID
    unregister_model(TINY_ID)  # other browser tests expect the shipped default models


def test_explorer_to_pitch_to_live_demo_to_both_downloads(page, tiny_model, tmp_path, state_dir):
    page.goto(page.base_url + "/explorer?ex_q=writing%20assistant&lang=en")
    wait_for_app(page)
    page.get_by_text("Details and sources of a use case").click()
    link = page.get_by_role("link", name="Pitch this use case")
    expect(link).to_be_visible(timeout=30_000)
    link.click()
    page.wait_for_url("**/pitch?**use_case=ai-writing-assistant**", timeout=30_000)
    wait_for_app(page)
    expect(page.get_by_role("heading", name="AI writing assistant")).to_be_visible(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.locator(".js-plotly-plot").nth(2).wait_for(timeout=30_000)  # sensitivity, market and cost charts

    picker = page.get_by_test_id("stSelectbox").filter(has_text="Demo model")
    if picker.locator("input").input_value() != tiny_model:  # the measured default model comes first
        picker.click()  # opens the list
        page.keyboard.type(tiny_model)  # filters it; a typed text alone chooses nothing
        page.get_by_role("option", name=tiny_model).click()
        wait_for_app(page)
    # the card under the picker is the chosen model's (typed text in the input is not a choice)
    expect(page.get_by_text("Training data: random weights (tests)")).to_be_visible(timeout=30_000)
    expect(picker.locator("input")).to_have_value(tiny_model)
    prompt = page.get_by_role("textbox", name="Prompt (edit it)")
    prompt.fill("Say hello to the investors.")
    page.get_by_role("button", name="Run the demo").click()
    page.get_by_text(f"Captured into the exports: {tiny_model}").wait_for(timeout=120_000)
    assert "Say hello to the investors." in page.locator("[data-testid='stMarkdown']").filter(has_text="Prompt:").inner_text()

    page.get_by_role("button", name="Build the deck and the brief").click()
    deck_button = page.get_by_role("button", name="Download the deck (PowerPoint)")
    deck_button.wait_for(timeout=120_000)
    with page.expect_download() as dl:
        deck_button.click()
    deck = tmp_path / dl.value.suggested_filename
    dl.value.save_as(deck)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download the brief (PDF)").click()
    brief = tmp_path / dl.value.suggested_filename
    dl.value.save_as(brief)
    page.screenshot(path=str(state_dir / "pitch-page.png"), full_page=True)

    assert deck.name == "pitch-ai-writing-assistant-en.pptx" and brief.name == "pitch-ai-writing-assistant-en.pdf"
    slides = list(Presentation(str(deck)).slides)
    assert len(slides) == 8
    demo_text = " ".join(s.text_frame.text for s in slides[5].shapes if s.has_text_frame)
    assert "Say hello to the investors." in demo_text and tiny_model in demo_text
    text = subprocess.run(["pdftotext", str(brief), "-"], capture_output=True, text=True, check=True).stdout
    assert "AI writing assistant" in text and "Sources" in text
    info = subprocess.run(["pdfinfo", str(brief)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info
