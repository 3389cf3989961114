"""The explorer's Plotly figures: what each encodes, in both languages, and user text escaped."""
from __future__ import annotations

import pytest

from core.explore import charts
from core.explore import data as explorer_data
from core.explore import market, scenarios


@pytest.fixture(scope="module")
def scored():
    return explorer_data.localise(market.score(explorer_data.catalogue(), market.DEFAULT_WEIGHTS), "en")


def test_bubble_matrix_puts_feasibility_on_x_value_on_y_and_sizes_by_market(scored):
    fig = charts.bubble_matrix(scored, "en", label_top=3)
    trace = fig.data[0]
    assert list(trace.x) == pytest.approx(scored["feasibility_index"].tolist())
    assert list(trace.y) == pytest.approx(scored["value_index"].tolist())
    sizes = dict(zip(scored["use_case_id"], trace.marker.size))
    big, small = scored.loc[scored.market_usd_b.idxmax(), "use_case_id"], scored.loc[scored.market_usd_b.idxmin(), "use_case_id"]
    assert sizes[big] > sizes[small]
    assert list(trace.marker.color) == pytest.approx(scored["risk_mean"].tolist())
    assert sum(1 for t in trace.text if t) == 3  # only the top three are labelled
    lower = charts.bubble_matrix(scored.iloc[10:20], "en", label_top=2).data[0].text
    assert [t for t in lower if t] == scored["label"].iloc[10:12].tolist()  # the best two of those shown
    assert {a.text for a in fig.layout.annotations} == {"Build now", "Big bet", "Quick win", "Avoid"}
    assert fig.layout.xaxis.title.text == "Feasibility (0–100)"


def test_charts_follow_the_language(scored):
    zh = explorer_data.localise(scored, "zh")
    fig = charts.bubble_matrix(zh, "zh")
    assert fig.layout.xaxis.title.text == "可行性 (0–100)"
    assert "立即可做" in {a.text for a in fig.layout.annotations}


def test_treemap_sums_use_cases_into_their_domains(scored):
    fig = charts.treemap(scored, "en")
    trace = fig.data[0]
    values = dict(zip(trace.ids, trace.values))
    nlp = scored[scored.domain_id == "nlp"]
    assert values["d:Natural language"] == pytest.approx(nlp["market_usd_b"].sum())
    assert trace.branchvalues == "total"


def test_radar_has_one_closed_trace_per_use_case_over_all_criteria(scored):
    fig = charts.radar(scored.head(3), "en")
    assert len(fig.data) == 3
    assert len(fig.data[0].r) == len(market.CRITERIA) + 1 and fig.data[0].r[0] == fig.data[0].r[-1]


def test_compare_chart_escapes_scenario_names():
    base = explorer_data.catalogue()
    cmp = scenarios.compare(base, scenarios.ScenarioState(), scenarios.ScenarioState(weights={"market": 1}))
    fig = charts.compare_chart(cmp, "en", "<b>mine</b>", "<a href='x'>theirs</a>")
    assert "<b>" not in fig.layout.title.text and "&lt;b&gt;mine&lt;/b&gt;" in fig.layout.title.text
    assert "<a" not in fig.layout.title.text
