"""The Pitch page in AppTest: deep links, bad parameters, settings that drive the numbers, a saved
scenario's edits, the live demo on a tiny random model (registered for this module only) and the
exports built from the page."""
from __future__ import annotations

import io

import pytest
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from core.estimate.units import parse_count
from core.explore import data as explorer_data
from core.explore import market, scenarios
from core.explore.scenarios import ScenarioState
from core.lm.registry import register_model, unregister_model
from tests.conftest import ROOT
from tests.demos_tiny import make_tiny_llama

TINY_ID = "tiny-pitch-page"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = make_tiny_llama(tmp_path_factory.mktemp("tiny-pitch-page") / "tiny")
    register_model(TINY_ID, "generation", "", path, card={"name": "tiny random Llama (tests)"})
    yield TINY_ID
    unregister_model(TINY_ID)


def open_pitch(lang: str = "en", **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["lang"] = lang
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/pitch.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> str:
    """The elements' text with Markdown escapes removed (user and catalogue text is escaped)."""
    return "\n".join(str(e.value) for e in elements).replace("\\", "")


def dollars(text: str) -> float:
    return parse_count(text.lstrip("$").replace(",", ""))


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_a_deep_link_opens_that_use_case_with_its_sources():
    at = open_pitch(use_case="review-sentiment-monitoring")
    assert at.selectbox(key="pitch_uc").value == "review-sentiment-monitoring"
    assert texts(at.header) == "Review and social sentiment monitoring"
    m = metrics(at)
    assert m["Rank"].startswith("#") and m["Opportunity score"].endswith("/ 100")
    assert m["Market size"].startswith("USD ")
    assert {"Why this", "What it costs", "What we can show", "Next steps", "Export"} <= {s.value for s in at.subheader}
    assert at.query_params["use_case"] == "review-sentiment-monitoring"
    assert not at.error and not at.warning


def test_an_unknown_use_case_in_the_link_says_so_next_to_the_picker():
    at = open_pitch(use_case="<b>nope</b>")
    raw = at.error[0].value
    assert "No use case with id" in raw and "\\<b\\>nope\\</b\\>" in raw  # Markdown-escaped: shown as text
    assert at.selectbox(key="pitch_uc").value == market.score(explorer_data.catalogue(), market.DEFAULT_WEIGHTS)[
        "use_case_id"].iloc[0]  # the top pick is pitched meanwhile
    assert at.header


def test_an_unknown_scenario_in_the_link_gives_a_message_and_the_default_weights():
    at = open_pitch(use_case="robotaxi", scenario="never saved")
    assert "No saved scenario named “never saved”" in texts(at.warning)
    default = open_pitch(use_case="robotaxi")
    assert metrics(at)["Rank"] == metrics(default)["Rank"]


def test_the_traffic_setting_drives_the_serving_bill():
    at = open_pitch(use_case="customer-service-chatbot")
    before = metrics(at)["Serving cost per month"]
    at.number_input(key="pitch_users").set_value(5_000_000).run()
    after = metrics(at)["Serving cost per month"]
    assert before != after
    assert dollars(after) > 10 * dollars(before)


def test_a_bad_setting_is_reported_and_nothing_is_computed():
    at = open_pitch(use_case="customer-service-chatbot")
    at.number_input(key="pitch_users").set_value(0).run()
    assert not at.exception
    assert "Users per day" in texts(at.error)
    assert not at.header  # the pitch is not built from a bad value


def test_a_saved_scenarios_edits_show_as_your_assumptions():
    state = ScenarioState(weights=dict(market.DEFAULT_WEIGHTS), overrides={"robotaxi": {"market_usd_b": 12.5}})
    rec = scenarios.create("Page pitch scenario", state)
    try:
        at = open_pitch(use_case="robotaxi", scenario="page pitch scenario")
        assert at.selectbox(key="pitch_scenario").value == "Page pitch scenario"
        assert metrics(at)["Market size"] == "USD 12.50B"
        assert "1 in the catalogue → 12.5 (your assumption)" in texts(at.markdown)
        assert at.query_params["scenario"] == "Page pitch scenario"
    finally:
        scenarios.delete(rec.id)


def test_a_task_without_a_demo_shows_the_studio_command():
    at = open_pitch(use_case="visual-product-search")
    assert "No demo for this task yet" in texts(at.info)
    assert "python -m core train --base smollm2-135m-instruct" in texts(at.code)


def test_the_live_demo_is_captured_into_the_exports(tiny_model):
    at = open_pitch(use_case="ai-writing-assistant")
    at.selectbox(key="pitch_model").set_value(tiny_model).run()
    at.text_area(key="pitch_prompt_ai-writing-assistant_en").set_value("Pitch it in one line.")
    at.button(key="pitch_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert f"Captured into the exports: {tiny_model}" in texts(at.caption)
    at.button(key="pitch_build").click().run()
    assert not at.exception and not at.error
    files = at.session_state["pitch_files"][1]
    slides = list(Presentation(io.BytesIO(files["pptx"])).slides)
    demo_text = " ".join(shape.text_frame.text for shape in slides[5].shapes if shape.has_text_frame)
    assert "Pitch it in one line." in demo_text and tiny_model in demo_text
    assert files["pdf"].startswith(b"%PDF")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download the deck (PowerPoint)", "Download the brief (PDF)"]


def test_the_page_speaks_chinese():
    at = open_pitch(lang="zh", use_case="document-translation")
    assert at.title[0].value == "路演材料"
    assert "文档机器翻译" in texts(at.header)
    assert "为什么做这个" in {s.value for s in at.subheader}


def test_the_explorers_table_links_each_use_case_to_its_pitch():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page("pages/explorer.py").run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if "pitch" in df.value.columns)
    first = table.iloc[0]
    ranked = market.score(explorer_data.catalogue(), market.DEFAULT_WEIGHTS)
    assert first["pitch"] == f"pitch?use_case={ranked['use_case_id'].iloc[0]}&lang=en"
    assert len(table) == len(ranked)
