"""Saved scenarios (core.explore.scenarios): validation, CRUD on the store, edited assumptions, comparison.
A failed action must change nothing."""
from __future__ import annotations

import pandas as pd
import pytest
from sqlmodel import delete as sql_delete

from core import store
from core.explore import data as explorer_data
from core.explore import market, scenarios
from core.explore.scenarios import ScenarioError, ScenarioState


def _delete_scenarios() -> None:
    with store.session() as s:
        s.exec(sql_delete(store.Scenario))


@pytest.fixture(autouse=True)
def empty_store():
    """Each test starts from an empty Scenario table and leaves it empty for the other areas' tests."""
    _delete_scenarios()
    yield
    _delete_scenarios()


def _codes(fn, *args, **kwargs) -> str:
    with pytest.raises(ScenarioError) as exc:
        fn(*args, **kwargs)
    return exc.value.code


def test_create_then_list_and_get_round_trip_the_whole_state():
    state = ScenarioState(weights={**market.DEFAULT_WEIGHTS, "market": 7}, view="treemap",
                          filters={"domains": ["nlp"], "text": "fraud", "size_max_b": 3.0},
                          selected=["credit-scoring", "card-fraud-detection"],
                          overrides={"credit-scoring": {"market_usd_b": 4.0}})
    rec = scenarios.create("  Fintech bet  ", state, notes="talk to banks")
    assert rec.name == "Fintech bet"
    listed = scenarios.list_all()
    assert [r.name for r in listed] == ["Fintech bet"]
    got = scenarios.get(rec.id)
    assert got.state.weights["market"] == 7 and got.state.view == "treemap"
    assert got.state.filters_obj() == market.Filters(domains=("nlp",), text="fraud", size_max_b=3.0)
    assert got.state.selected == ["credit-scoring", "card-fraud-detection"]
    assert got.state.overrides == {"credit-scoring": {"market_usd_b": 4.0}}
    assert got.notes == "talk to banks"


@pytest.mark.parametrize("name, code", [("", "name_empty"), ("   ", "name_empty"), ("x" * 121, "name_too_long"),
                                        ("bad\x00name", "name_invalid")])
def test_bad_names_are_rejected_and_nothing_is_saved(name, code):
    assert _codes(scenarios.create, name, ScenarioState()) == code
    assert scenarios.list_all() == []


def test_duplicate_name_is_rejected_case_insensitively_and_the_first_is_kept():
    first = scenarios.create("Base case", ScenarioState())
    assert _codes(scenarios.create, "base CASE", ScenarioState(weights={"market": 9})) == "name_taken"
    assert [r.id for r in scenarios.list_all()] == [first.id]
    assert scenarios.get(first.id).state.weights["market"] == market.DEFAULT_WEIGHTS["market"]


def test_all_zero_weights_cannot_be_saved():
    assert _codes(scenarios.create, "zero", ScenarioState(weights={k: 0 for k in market.CRITERION})) == "weights_all_zero"
    assert scenarios.list_all() == []


def test_rename_notes_and_delete():
    a = scenarios.create("A", ScenarioState())
    b = scenarios.create("B", ScenarioState())
    assert scenarios.rename(a.id, "Alpha").name == "Alpha"
    assert _codes(scenarios.rename, a.id, "b") == "name_taken"
    assert scenarios.get(a.id).name == "Alpha"  # unchanged after the failed rename
    assert scenarios.update(b.id, notes="new notes").notes == "new notes"
    scenarios.delete(a.id)
    assert [r.name for r in scenarios.list_all()] == ["B"]
    assert _codes(scenarios.get, a.id) == "not_found"
    assert _codes(scenarios.delete, a.id) == "not_found"


@pytest.mark.parametrize("value, code", [
    (-1, "override_negative"), ("-0.5", "override_negative"), ("abc", "override_not_number"),
    ("", "override_not_number"), (float("nan"), "override_not_number"), (float("inf"), "override_not_number"),
    (None, "override_not_number"), (True, "override_not_number"),
])
def test_edited_market_size_must_be_a_non_negative_number(value, code):
    assert _codes(scenarios.validate_overrides, {"credit-scoring": {"market_usd_b": value}}) == code


def test_ratings_must_stay_on_their_1_to_5_scale_and_fields_must_be_editable():
    assert _codes(scenarios.validate_overrides, {"x": {"risk_bias": 6}}) == "override_out_of_range"
    assert _codes(scenarios.validate_overrides, {"x": {"risk_bias": 0}}) == "override_out_of_range"
    assert _codes(scenarios.validate_overrides, {"x": {"name": 1}}) == "override_unknown_field"
    assert _codes(scenarios.validate_overrides, {"nope": {"risk_bias": 2}}, {"x"}) == "override_unknown_use_case"
    assert scenarios.validate_overrides({"x": {"risk_bias": "2", "market_usd_b": "1,200"}}) == \
        {"x": {"risk_bias": 2.0, "market_usd_b": 1200.0}}


def test_overrides_from_an_edited_table_keep_only_changed_cells():
    shipped = explorer_data.catalogue()
    edited = shipped.copy().astype(object)
    i = shipped.index[shipped.use_case_id == "robotaxi"][0]
    edited.at[i, "market_usd_b"] = 12.5
    edited.at[i, "risk_regulation"] = shipped.at[i, "risk_regulation"]  # unchanged value
    assert scenarios.overrides_from_edit(shipped, edited) == {"robotaxi": {"market_usd_b": 12.5}}
    edited.at[i, "growth_pct"] = "fast"
    with pytest.raises(ScenarioError) as exc:
        scenarios.overrides_from_edit(shipped, edited)
    assert exc.value.code == "override_not_number" and exc.value.params["use_case"] == "robotaxi"


def test_a_scenario_with_a_bad_override_is_not_saved_and_a_good_one_changes_only_the_scenario():
    rec = scenarios.create("edit me", ScenarioState())
    bad = ScenarioState(overrides={"robotaxi": {"market_usd_b": -3}})
    assert _codes(scenarios.update, rec.id, state=bad) == "override_negative"
    assert scenarios.get(rec.id).state.overrides == {}
    good = ScenarioState(overrides={"robotaxi": {"market_usd_b": 60}})
    scenarios.update(rec.id, state=good)
    scored = scenarios.evaluate(explorer_data.catalogue(), scenarios.get(rec.id).state).set_index("use_case_id")
    assert scored.loc["robotaxi", "market_usd_b"] == 60 and scored.loc["robotaxi", "market_basis"] == "user"
    assert explorer_data.catalogue().set_index("use_case_id").loc["robotaxi", "market_usd_b"] == 1.0


def test_compare_reports_score_and_rank_deltas_largest_first():
    base = explorer_data.catalogue()
    a = ScenarioState()
    b = ScenarioState(overrides={"robotaxi": {"market_usd_b": 90, "time_to_mvp_months": 6}})
    cmp = scenarios.compare(base, a, b)
    assert cmp.loc[0, "use_case_id"] == "robotaxi"
    assert cmp.loc[0, "delta"] > 0 and cmp.loc[0, "rank_change"] > 0
    assert (cmp["delta"] == cmp["score_b"] - cmp["score_a"]).all()
    assert set(cmp["use_case_id"]) == set(base["use_case_id"])
    others = cmp[cmp.use_case_id != "robotaxi"]
    assert (others["delta"].abs() < 1e-9).all()


def test_payload_from_an_older_or_hand_edited_row_is_sanitised():
    state = ScenarioState.from_payload({"weights": {"market": 2}, "view": "3d", "selected": list("abcdef"),
                                        "filters": {"domains": "nlp", "size_min_b": "x"}})
    assert state.view == "matrix" and len(state.selected) == scenarios.MAX_SELECTED
    assert state.filters["size_min_b"] is None
    assert state.filters["domains"] == ["nlp"]  # a bare string is one value, not a list of letters
    assert isinstance(pd.Series(state.weights), pd.Series) and state.weights["growth"] == 0
    mixed = ScenarioState.from_payload({"overrides": {"robotaxi": {"market_usd_b": "lots", "risk_bias": 2},
                                                      "credit-scoring": {"risk_bias": -1}, "x": "junk"}})
    assert mixed.overrides == {"robotaxi": {"risk_bias": 2.0}}  # bad cells from an edited row are dropped
    zero = ScenarioState.from_payload({"weights": {"market": 0}, "filters": "junk"})
    assert zero.weights == pytest.approx(market.DEFAULT_WEIGHTS) and zero.filters["domains"] == []


def test_overview_gives_each_scenario_its_top_pick_under_its_own_filters():
    base = explorer_data.catalogue()
    scenarios.create("Legal only", ScenarioState(filters={"domains": ["legal"]}))
    scenarios.create("Nothing", ScenarioState(filters={"text": "no such thing"}))
    table = scenarios.overview(base, scenarios.list_all()).set_index("name")
    legal = market.apply_filters(market.score(base, market.DEFAULT_WEIGHTS), market.Filters(domains=("legal",)))
    assert table.loc["Legal only", "top_id"] == legal.iloc[0]["use_case_id"]
    assert table.loc["Legal only", "shown"] == len(legal)
    assert table.loc["Nothing", "shown"] == 0 and pd.isna(table.loc["Nothing", "top_id"])
