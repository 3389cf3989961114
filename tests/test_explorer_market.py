"""Opportunity scoring (core.explore.market): weights, fixed scales, risks as penalties, filters, overrides,
sensitivity."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from core.explore import data as explorer_data
from core.explore import market


def _uc(uid: str, **kw) -> dict:
    row = {"use_case_id": uid, "name": uid, "name_zh": uid, "description": f"{uid} description",
           "description_zh": "", "domain": "D", "domain_zh": "领域", "domain_id": "d", "task": "qa",
           "market_usd_b": 1.0, "growth_pct": 20.0, "technical_maturity": 3, "data_availability": 3,
           "compute_intensity": 3, "time_to_mvp_months": 6, "competition": 3, "risk_privacy": 3,
           "risk_bias": 3, "risk_regulation": 3, "model_params_b": 1.0, "training_tokens_b": 0.1,
           "market_basis": "sourced", "growth_basis": "sourced"}
    row.update(kw)
    return row


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_weights_are_normalised_to_sum_to_one():
    w = market.normalise_weights({"market": 2, "growth": 2})
    assert w["market"] == w["growth"] == 0.5
    assert sum(w.values()) == pytest.approx(1.0)


def test_group_shares_sum_to_one_and_follow_the_weights():
    shares = market.group_shares({"market": 2, "growth": 1, "maturity": 1, "privacy": 1})
    assert shares == pytest.approx({"value": 0.6, "feasibility": 0.2, "risk": 0.2})


@pytest.mark.parametrize("weights, code", [
    ({k: 0 for k in market.CRITERION}, "weights_all_zero"),
    ({"market": -1, "growth": 3}, "weights_negative"),
    ({"market": float("nan")}, "weights_negative"),
    ({"market": "lots"}, "weights_not_number"),
    ({"charisma": 1}, "weights_unknown"),
])
def test_weights_that_cannot_rank_are_rejected_with_a_code(weights, code):
    with pytest.raises(market.WeightsError) as exc:
        market.normalise_weights(weights)
    assert exc.value.code == code


def test_market_size_counts_on_a_log_scale_between_0_1_and_100_billion():
    df = frame(_uc("tiny", market_usd_b=0.05), _uc("mid", market_usd_b=math.sqrt(10)), _uc("huge", market_usd_b=500))
    g = market.goodness(df)["g_market"].tolist()
    assert g[0] == 0.0 and g[2] == 1.0
    assert g[1] == pytest.approx(0.5)  # sqrt(10) B is halfway between 0.1 and 100 in log10


def test_only_market_weight_ranks_by_market_size():
    df = frame(_uc("small", market_usd_b=0.5), _uc("big", market_usd_b=50), _uc("mid", market_usd_b=5))
    scored = market.score(df, {"market": 1})
    assert scored["use_case_id"].tolist() == ["big", "mid", "small"]
    assert scored["rank"].tolist() == [1, 2, 3]


def test_risks_are_penalties_a_riskier_twin_scores_lower():
    df = frame(_uc("safe", risk_privacy=1, risk_bias=1, risk_regulation=1),
               _uc("risky", risk_privacy=5, risk_bias=5, risk_regulation=5))
    scored = market.score(df, market.DEFAULT_WEIGHTS).set_index("use_case_id")
    assert scored.loc["safe", "score"] > scored.loc["risky", "score"]
    assert scored.loc["risky", "risk_level"] == "high" and scored.loc["safe", "risk_level"] == "low"
    # ... and with the risk weights at zero the twins are equal
    no_risk = {**market.DEFAULT_WEIGHTS, "privacy": 0, "bias": 0, "regulation": 0}
    again = market.score(df, no_risk).set_index("use_case_id")
    assert again.loc["safe", "score"] == pytest.approx(again.loc["risky", "score"])


def test_compute_and_time_to_mvp_lower_is_better():
    df = frame(_uc("light", compute_intensity=1, time_to_mvp_months=1),
               _uc("heavy", compute_intensity=5, time_to_mvp_months=36))
    g = market.goodness(df).set_index(df["use_case_id"])
    assert g.loc["light", "g_compute"] == 1.0 and g.loc["heavy", "g_compute"] == 0.0
    assert g.loc["light", "g_speed"] == 1.0 and g.loc["heavy", "g_speed"] == 0.0


def test_score_is_the_weighted_mean_of_goodness_times_100():
    df = frame(_uc("a", market_usd_b=100, growth_pct=0))
    scored = market.score(df, {"market": 3, "growth": 1})
    assert scored.loc[0, "score"] == pytest.approx(75.0)
    assert scored.loc[0, "value_index"] == pytest.approx(75.0)


def test_a_score_does_not_depend_on_which_other_use_cases_are_present():
    df = explorer_data.catalogue()
    full = market.score(df, market.DEFAULT_WEIGHTS).set_index("use_case_id")["score"]
    alone = market.score(df.iloc[[3]], market.DEFAULT_WEIGHTS).set_index("use_case_id")["score"]
    assert alone.iloc[0] == pytest.approx(full[alone.index[0]])


def test_filters_combine_domain_task_risk_size_and_text():
    df = market.score(frame(
        _uc("translate-docs", domain_id="nlp", task="translation", model_params_b=1.3, risk_privacy=1, risk_bias=1,
            risk_regulation=1),
        _uc("face-kyc", domain_id="vision", task="vision", model_params_b=0.06, risk_privacy=5, risk_bias=5,
            risk_regulation=5, name_zh="人脸核身"),
        _uc("chat", domain_id="nlp", task="qa", model_params_b=8),
    ), market.DEFAULT_WEIGHTS)
    ids = lambda f: set(market.apply_filters(df, f)["use_case_id"])  # noqa: E731
    assert ids(market.Filters()) == {"translate-docs", "face-kyc", "chat"}
    assert ids(market.Filters(domains=("nlp",))) == {"translate-docs", "chat"}
    assert ids(market.Filters(domains=("nlp",), tasks=("qa",))) == {"chat"}
    assert ids(market.Filters(risk_levels=("high",))) == {"face-kyc"}
    assert ids(market.Filters(size_min_b=1.0, size_max_b=3.0)) == {"translate-docs"}
    assert ids(market.Filters(text="人脸")) == {"face-kyc"}
    assert ids(market.Filters(text="CHAT desc")) == {"chat"}
    assert ids(market.Filters(domains=("nlp",), risk_levels=("high",))) == set()
    assert not market.Filters().active() and market.Filters(text=" x ").active()


def test_text_search_is_literal_not_a_regular_expression():
    df = market.score(frame(_uc("a"), _uc("b")), market.DEFAULT_WEIGHTS)
    assert market.apply_filters(df, market.Filters(text=".*")).empty


def test_overrides_change_a_copy_and_mark_the_basis_as_user():
    base = frame(_uc("a", market_usd_b=1.0), _uc("b"))
    out = market.apply_overrides(base, {"a": {"market_usd_b": 40.0, "risk_bias": 5}})
    row = out.set_index("use_case_id").loc["a"]
    assert row["market_usd_b"] == 40.0 and row["risk_bias"] == 5 and row["market_basis"] == "user"
    assert row["edited"] == "market_usd_b, risk_bias"
    assert base.loc[0, "market_usd_b"] == 1.0  # the shipped table is untouched
    assert out.set_index("use_case_id").loc["b", "edited"] == ""


def test_sensitivity_moves_one_weight_from_0_to_10_and_reranks():
    df = frame(_uc("big-risky", market_usd_b=50, risk_regulation=5, risk_bias=5, risk_privacy=5),
               _uc("small-safe", market_usd_b=0.5, risk_regulation=1, risk_bias=1, risk_privacy=1))
    weights = {"market": 1, "privacy": 1, "bias": 1, "regulation": 1}
    long = market.sensitivity(df, weights, "market")
    assert sorted(long["weight"].unique()) == list(map(float, range(11)))
    picks = market.top_pick_by_weight(long).set_index("weight")["use_case_id"]
    assert picks[0.0] == "small-safe" and picks[10.0] == "big-risky"
    runs = market.top_pick_runs(long)
    assert runs["use_case_id"].tolist() == ["small-safe", "big-risky"]
    assert runs["from_weight"].iloc[0] == 0 and runs["to_weight"].iloc[-1] == 10
    assert runs["to_weight"].iloc[0] + 1 == runs["from_weight"].iloc[1]
    # the current weights reproduce score()'s ranking at the current weight
    at_one = long[long.weight == 1.0].set_index("use_case_id")["score"]
    assert at_one.to_dict() == pytest.approx(market.score(df, weights).set_index("use_case_id")["score"].to_dict())


def test_sensitivity_skips_the_point_where_every_weight_is_zero():
    long = market.sensitivity(frame(_uc("a"), _uc("b")), {"market": 1}, "market")
    assert 0.0 not in set(long["weight"])


def test_ranked_table_export_has_score_parts_and_basis():
    scored = market.score(explorer_data.catalogue(), market.DEFAULT_WEIGHTS)
    table = market.ranked_table(scored)
    assert list(table.columns[:6]) == ["rank", "use_case_id", "name", "domain", "task", "score"]
    assert {"market_basis", "growth_basis", "segment_size_low_usd_b", "risk_level"} <= set(table.columns)
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert table["score"].is_monotonic_decreasing
