"""Home, Explorer and Scenarios in AppTest: drive the widgets, assert on what the user sees."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core.explore import data as explorer_data
from core.explore import market, scenarios
from core.explore.scenarios import ScenarioState
from tests.conftest import ROOT
from tests.test_explorer_scenarios import empty_store  # noqa: F401  (autouse: an empty Scenario table)

N_USE_CASES = len(explorer_data.catalogue())


def open_page(path: str, lang: str = "en", **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = lang
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def url_values(at: AppTest, key: str) -> list[str]:
    value = at.query_params.get(key, [])
    return [value] if isinstance(value, str) else list(value)


def ranked(at: AppTest):
    """The ranked use-case table (the dataframe with a rank column)."""
    return next(df.value for df in at.dataframe if "rank" in df.value.columns)


def test_home_shows_the_catalogue_counts_and_top_five():
    at = open_page("pages/home.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Use cases"] == str(N_USE_CASES) and int(metrics["Domains"]) >= 12
    assert int(metrics["Cited market figures"]) >= 100
    top = market.score(explorer_data.catalogue(), market.DEFAULT_WEIGHTS)
    cards = [m.value for m in at.markdown if m.value.startswith("**#")]
    assert cards[0] == f"**#1 {top.iloc[0]['name']}**" and len(cards) == 5


def test_explorer_ranks_every_use_case_by_default():
    at = open_page("pages/explorer.py")
    table = ranked(at)
    assert len(table) == N_USE_CASES
    assert table["rank"].tolist() == list(range(1, N_USE_CASES + 1))
    assert table["score"].is_monotonic_decreasing
    assert at.metric[0].value == f"{N_USE_CASES} / {N_USE_CASES}"
    assert at.get("plotly_chart"), "the value-vs-feasibility matrix is drawn"


def test_domain_and_search_filters_narrow_the_ranking():
    at = open_page("pages/explorer.py")
    at.multiselect(key="ex_domain").select("finance").run()
    finance = explorer_data.catalogue().query("domain_id == 'finance'")
    assert set(ranked(at)["label"]) == set(finance["name"])
    at.text_input(key="ex_q").set_value("laundering").run()
    assert ranked(at)["label"].tolist() == ["Anti-money-laundering monitoring"]
    assert at.metric[0].value == f"1 / {N_USE_CASES}"


def test_a_link_with_weights_filters_and_view_reproduces_the_view():
    at = open_page("pages/explorer.py", w_market="10", w_growth="0", ex_domain="speech",
                   ex_risk=["low", "medium", "no-such-level"], ex_view="treemap", ex_size=["100M", "10B"])
    assert at.slider(key="w_market").value == 10 and at.slider(key="w_growth").value == 0
    assert at.multiselect(key="ex_domain").value == ["speech"]
    assert at.select_slider(key="ex_size").value == (0.1, 10.0)
    table = ranked(at)
    speech = explorer_data.catalogue().query("domain_id == 'speech' and model_params_b >= 0.1")
    assert set(table["label"]) <= set(speech["name"]) and len(table) > 0
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["type"] == "treemap"
    assert at.multiselect(key="ex_risk").value == ["low", "medium"]  # an unknown id in a link is ignored


def test_the_url_keeps_ids_not_translated_labels():
    at = open_page("pages/explorer.py")
    # Chinese labels; the widgets are driven through session state, as AppTest formats option
    # labels outside the script (always in English)
    at.session_state["lang"] = "zh"
    at.session_state["ex_domain"] = ["legal"]
    at.session_state["ex_view"] = "radar"
    at.run()
    assert at.title[0].value == "哪个 AI 应用值得做？"
    assert url_values(at, "ex_domain") == ["legal"] and url_values(at, "ex_view") == ["radar"]
    at.session_state["ex_domain"] = []
    at.run()
    assert "ex_domain" not in at.query_params


def test_all_weights_zero_shows_an_error_and_keeps_the_last_ranking():
    at = open_page("pages/explorer.py")
    before = ranked(at)["label"].tolist()
    for key in market.CRITERION:
        at.slider(key=f"w_{key}").set_value(0)
    at.run()
    assert any("All weights are zero" in e.value for e in at.error)
    assert ranked(at)["label"].tolist() == before


def test_changing_one_weight_reorders_the_ranking():
    at = open_page("pages/explorer.py")
    before = ranked(at)["label"].tolist()
    at.slider(key="w_regulation").set_value(10).run()
    after = ranked(at)
    assert after["label"].tolist() != before
    assert after.iloc[0]["risk"] == "low"


def test_an_empty_filter_result_warns_and_the_clear_button_restores_everything():
    at = open_page("pages/explorer.py", ex_q="no such opportunity")
    assert at.warning and "No use case matches" in at.warning[0].value
    assert not [df for df in at.dataframe if "rank" in df.value.columns]
    at.button[0].click().run()
    assert len(ranked(at)) == N_USE_CASES and at.text_input(key="ex_q").value == ""


@pytest.mark.parametrize("view", ["radar", "sensitivity"])
def test_radar_and_sensitivity_views_render(view):
    at = open_page("pages/explorer.py")
    at.segmented_control(key="ex_view").set_value(view).run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["type"] == ("scatterpolar" if view == "radar" else "scatter")
    if view == "sensitivity":
        at.selectbox(key="ex_sens").select("regulation").run()
        runs = [m.value for m in at.markdown if m.value.startswith("- Weight")]
        assert runs and runs[0].startswith("- Weight **0–") and "10**" in runs[-1]


def test_saving_a_scenario_lists_it_and_a_duplicate_name_is_refused():
    at = open_page("pages/explorer.py")
    at.slider(key="w_market").set_value(8)
    at.multiselect(key="ex_domain").select("medical")
    at.run()
    at.text_input(key="ex_save_name").set_value("Health bet")
    at.text_area(key="ex_save_notes").set_value("regulated but big")
    at.form_submit_button[0].click().run()
    assert any("Health bet" in s.value for s in at.success)
    saved = scenarios.list_all()
    assert [r.name for r in saved] == ["Health bet"]
    assert saved[0].state.weights["market"] == 8 and saved[0].state.filters["domains"] == ["medical"]
    at.text_input(key="ex_save_name").set_value("health BET")
    at.form_submit_button[0].click().run()
    assert any("already exists" in e.value for e in at.error)
    assert len(scenarios.list_all()) == 1
    listing = open_page("pages/scenarios.py")
    assert "Health bet" in listing.dataframe[0].value["name"].tolist()


def test_opening_a_scenario_puts_its_weights_filters_and_view_into_the_explorer():
    rec = scenarios.create("Driving", ScenarioState(weights={**market.DEFAULT_WEIGHTS, "compute": 9},
                                                   filters={"domains": ["driving"]}, view="treemap"))
    at = open_page("pages/scenarios.py")
    at.button(key="sc_open").click().run()
    assert not at.exception
    assert at.slider(key="w_compute").value == 9
    assert at.multiselect(key="ex_domain").value == ["driving"]
    assert at.segmented_control(key="ex_view").value == "treemap"
    assert at.selectbox(key="ex_scenario").value == rec.id
    assert set(ranked(at)["domain_label"]) == {"Autonomous driving"}


def test_the_active_scenario_can_be_updated_with_the_current_view_keeping_its_assumptions():
    rec = scenarios.create("Mine", ScenarioState(overrides={"robotaxi": {"market_usd_b": 30.0}}), notes="first")
    at = open_page("pages/explorer.py", ex_scenario="Mine")
    at.slider(key="w_regulation").set_value(9)
    at.multiselect(key="ex_domain").select("driving")
    at.run()
    at.button(key="ex_update").click().run()
    assert any("Mine" in s.value for s in at.success)
    saved = scenarios.get(rec.id)
    assert saved.state.weights["regulation"] == 9 and saved.state.filters["domains"] == ["driving"]
    assert saved.state.overrides == {"robotaxi": {"market_usd_b": 30.0}} and saved.notes == "first"
    assert len(scenarios.list_all()) == 1


def _edit(at: AppTest, label: str, column: str, value) -> None:
    row = at.data_editor[0].value.reset_index(drop=True)
    index = int(row.index[row["label"] == label][0])
    at.session_state["sc_editor"] = {"edited_rows": {str(index): {column: value}}, "added_rows": [], "deleted_rows": []}


@pytest.mark.parametrize("value, message", [(-5, "cannot be negative"), ("lots", "must be a number"),
                                            (9, "must be between 1 and 5")])
def test_a_bad_edited_cell_is_refused_with_a_message_and_nothing_is_saved(value, message):
    rec = scenarios.create("Edits", ScenarioState())
    at = open_page("pages/scenarios.py")
    column = "risk_bias" if value == 9 else "market_usd_b"
    _edit(at, "Robotaxi (L4 autonomous ride-hailing)", column, value)
    at.button(key="sc_save_assumptions").click().run()
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert scenarios.get(rec.id).state.overrides == {}


def test_a_good_edit_is_saved_in_the_scenario_only_and_shown_as_your_assumption():
    rec = scenarios.create("Edits", ScenarioState())
    at = open_page("pages/scenarios.py")
    _edit(at, "Robotaxi (L4 autonomous ride-hailing)", "market_usd_b", 80)
    at.button(key="sc_save_assumptions").click().run()
    assert any("1 use case" in s.value for s in at.success)
    assert scenarios.get(rec.id).state.overrides == {"robotaxi": {"market_usd_b": 80.0}}
    assert explorer_data.catalogue().set_index("use_case_id").loc["robotaxi", "market_usd_b"] == 1.0
    explorer = open_page("pages/explorer.py", ex_scenario="Edits", ex_q="robotaxi")
    row = ranked(explorer).iloc[0]
    assert row["market_usd_b"] == 80 and row["basis"] == "your assumption"
    assert explorer.info and "1 edited use case" in explorer.info[0].value


def test_rename_delete_and_compare_on_the_scenarios_page():
    a = scenarios.create("Cautious", ScenarioState(weights={**market.DEFAULT_WEIGHTS, "regulation": 10}))
    scenarios.create("Bold", ScenarioState(weights={**market.DEFAULT_WEIGHTS, "market": 10, "regulation": 0}))
    at = open_page("pages/scenarios.py")
    delta = next(df.value for df in at.dataframe if "delta" in df.value.columns)
    assert len(delta) == N_USE_CASES and delta["delta"].abs().max() > 0
    at.selectbox(key="sc_pick").select(a.id).run()
    at.text_input[0].set_value("Bold")  # taken
    at.form_submit_button[0].click().run()
    assert any("already exists" in e.value for e in at.error)
    at.text_input[0].set_value("Careful")
    at.form_submit_button[0].click().run()
    assert scenarios.get(a.id).name == "Careful"
    at.selectbox(key="sc_pick").select(a.id).run()
    assert at.button(key="sc_delete").disabled
    at.checkbox(key="sc_delete_sure").check().run()
    at.button(key="sc_delete").click().run()
    assert [r.name for r in scenarios.list_all()] == ["Bold"]
    assert any("Deleted" in s.value for s in at.success)


def test_pages_speak_chinese_and_keep_the_filters_when_the_language_changes():
    at = open_page("pages/explorer.py")
    at.multiselect(key="ex_domain").select("legal").run()
    at.session_state["lang"] = "zh"  # what the sidebar switch sets (AppTest runs a switched page on its own)
    at.run()
    assert not at.exception
    assert at.title[0].value == "哪个 AI 应用值得做？"
    assert set(ranked(at)["domain_label"]) == {"法律"}


def test_the_details_panel_links_the_use_case_to_the_estimators_and_its_demo():
    at = open_page("pages/explorer.py", ex_q="translation")
    assert not at.page_link  # the panel is built only when opened
    at.session_state["ex_details"] = True
    at.run()
    figures = next(df.value for df in at.dataframe if "publisher" in df.value.columns)
    assert (figures["url"].str.startswith("http")).all() and len(figures) >= 5
    links = {link.value: link for link in at.page_link}
    cost = links["Estimate its training cost"]
    assert "use_case=document-translation" in cost.proto.query_string
    assert "use_case=document-translation" in links["Memory and inference for this model"].proto.query_string
    assert links["See this task live"].proto.page.endswith("translate")


def test_a_scenario_name_is_shown_literally_never_as_markdown_or_html():
    at = open_page("pages/explorer.py")
    at.text_input(key="ex_save_name").set_value("**bold** ![x](http://example.com/a.png) <b>hi</b>")
    at.form_submit_button[0].click().run()
    message = at.success[0].value
    assert r"\*\*bold\*\*" in message and r"\!\[x\]\(http\://example\.com/a\.png\)" in message
    assert r"\<b\>hi\</b\>" in message
    assert scenarios.list_all()[0].name == "**bold** ![x](http://example.com/a.png) <b>hi</b>"  # stored as typed
