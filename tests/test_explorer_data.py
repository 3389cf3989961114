"""The shipped explorer catalogue: data/use_cases.csv and data/market_figures.csv, and how market
figures become the ranges and numbers the scoring uses."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from core.explore import data as explorer_data
from tests.conftest import ROOT

DATA = ROOT / "data"
TASKS = {"generation", "translation", "sentiment", "qa", "classification", "vision", "speech",
         "recommendation", "tabular", "multimodal", "driving"}
SEED_DOMAINS = {"nlp", "vision", "speech", "recsys", "finance", "driving", "service", "medical", "education"}


@pytest.fixture(scope="module")
def use_cases() -> pd.DataFrame:
    return pd.read_csv(DATA / "use_cases.csv")


@pytest.fixture(scope="module")
def figures() -> pd.DataFrame:
    return pd.read_csv(DATA / "market_figures.csv", dtype=str, keep_default_na=False)


def test_catalogue_has_at_least_40_use_cases_across_12_domains_including_the_seeds(use_cases):
    assert len(use_cases) >= 40
    assert use_cases["domain_id"].nunique() >= 12
    assert SEED_DOMAINS <= set(use_cases["domain_id"])
    assert use_cases["use_case_id"].is_unique
    assert use_cases["use_case_id"].str.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*").all()


def test_seed_capabilities_are_all_covered(use_cases):
    """The seed names generation, translation, sentiment and QA for language; recognition, generation
    and video for vision; recognition and synthesis for speech."""
    assert {"generation", "translation", "sentiment", "qa"} <= set(use_cases[use_cases.domain_id == "nlp"].task)
    assert {"translation", "sentiment"} <= set(use_cases.task)
    assert set(use_cases.task) <= TASKS
    names = " ".join(use_cases.name).lower()
    for phrase in ("translation", "sentiment", "image", "video", "speech-to-text", "text-to-speech", "fraud",
                   "credit", "adas", "customer-service", "radiology", "tutor"):
        assert phrase in names, phrase


def test_contract_columns_are_present_numeric_and_bilingual(use_cases):
    for col in ("model_params_b", "training_tokens_b", "technical_maturity", "data_availability",
                "compute_intensity", "competition", "time_to_mvp_months", "risk_privacy", "risk_bias",
                "risk_regulation"):
        values = pd.to_numeric(use_cases[col], errors="raise")
        assert (values > 0).all(), col
    for col in ("technical_maturity", "data_availability", "compute_intensity", "competition",
                "risk_privacy", "risk_bias", "risk_regulation"):
        assert use_cases[col].between(1, 5).all(), col
    for col in ("name", "name_zh", "domain", "domain_zh", "description", "description_zh", "model_note", "scores_note"):
        assert use_cases[col].fillna("").str.strip().ne("").all(), col
    sentences = use_cases["description"].str.count(r"[.!?](\s|$)")
    assert sentences.between(2, 4).all(), use_cases.loc[~sentences.between(2, 4), "use_case_id"].tolist()
    assert use_cases["domain"].groupby(use_cases["domain_id"]).nunique().eq(1).all()


def test_every_market_figure_has_source_year_and_confidence(figures):
    for col in ("publisher", "title", "url", "published_year", "confidence", "segment", "metric", "unit"):
        assert figures[col].str.strip().ne("").all(), col
    assert figures["url"].str.startswith("http").all()
    assert set(figures["confidence"]) <= {"high", "medium", "low"}
    assert figures["figure_id"].is_unique


def test_figures_are_copied_verbatim_from_the_shared_reference(figures):
    reference = ROOT.parent / "shared" / "reference" / "market_figures.csv"
    if not reference.exists():
        pytest.skip("shared reference table not present on this machine")
    ref = pd.read_csv(reference, dtype=str, keep_default_na=False)
    cols = [c for c in ref.columns if c != "use_case"]
    key = ref.rename(columns={"use_case": "segment"})[["segment", *cols]].apply(tuple, axis=1)
    ours = figures[["segment", *cols]].apply(tuple, axis=1)
    assert ours.isin(set(key)).all(), figures.loc[~ours.isin(set(key)), "figure_id"].tolist()


def test_every_use_case_segment_exists_and_basis_is_declared_consistently(use_cases, figures):
    assert set(use_cases["market_segment"]) <= set(figures["segment"])
    assert set(use_cases["market_basis"]) <= {"sourced", "assumption"}
    assert set(use_cases["growth_basis"]) <= {"sourced", "parent", "assumption"}
    assumed = use_cases[use_cases.market_basis == "assumption"]
    assert pd.to_numeric(assumed["assumed_market_usd_b"]).gt(0).all()
    assert assumed["market_note"].fillna("").str.contains("assumption").all()
    sourced = use_cases[use_cases.market_basis == "sourced"]
    assert sourced["assumed_market_usd_b"].isna().all(), "a sourced size must not carry a hidden assumption"
    # A sourced segment sizes one use case only, so the treemap never counts a market twice.
    assert sourced["market_segment"].is_unique


def test_parse_value_reads_ranges_and_approximations():
    assert explorer_data.parse_value("21.66-36.96") == (21.66, 36.96)
    assert explorer_data.parse_value("~28") == (28.0, 28.0)
    assert explorer_data.parse_value(">20") == (20.0, 20.0)
    assert explorer_data.parse_value("1,500.37") == (1500.37, 1500.37)
    assert explorer_data.parse_value("n/a") == (None, None)
    assert explorer_data.parse_value(float("nan")) == (None, None)


def _row(**kw):
    base = {"metric": "market_size", "unit": "USD billion", "forecast_year": "", "figure_year": "2024",
            "exclude_reason": ""}
    return pd.Series({**base, **kw})


@pytest.mark.parametrize("row, role", [
    (_row(), "range"),
    (_row(unit="USD million"), "range"),
    (_row(forecast_year="2030", figure_year="2030"), "forecast"),
    (_row(unit="CNY 100 million (亿元)"), "other_unit"),
    (_row(unit="USD million ARR"), "other_unit"),
    (_row(figure_year="2018"), "old"),
    (_row(figure_year="n/a (not stated)"), "no_year"),
    (_row(exclude_reason="broader scope"), "excluded"),
    (_row(metric="cagr", unit="%"), "growth"),
    (_row(metric="other", unit="USD million (annual revenue)"), "proxy"),
])
def test_only_base_year_usd_market_sizes_enter_a_range(row, role):
    assert explorer_data.figure_role(row) == role


def test_usd_millions_are_scaled_to_billions_and_cny_is_never_converted():
    raw = pd.DataFrame([
        {"figure_id": "a", "segment": "S", "metric": "market_size", "value": "500", "unit": "USD million",
         "figure_year": "2024", "forecast_year": "", "exclude_reason": "", "note": "", "published_year": "2025",
         "confidence": "medium"},
        {"figure_id": "b", "segment": "S", "metric": "market_size", "value": "2.5", "unit": "USD billion",
         "figure_year": "2023", "forecast_year": "", "exclude_reason": "", "note": "", "published_year": "2024",
         "confidence": "low"},
        {"figure_id": "c", "segment": "S", "metric": "market_size", "value": "900", "unit": "CNY 100 million (亿元)",
         "figure_year": "2024", "forecast_year": "", "exclude_reason": "", "note": "", "published_year": "2025",
         "confidence": "high"},
        {"figure_id": "d", "segment": "S", "metric": "cagr", "value": "10-20", "unit": "%", "figure_year": "",
         "forecast_year": "", "exclude_reason": "", "note": "", "published_year": "2025", "confidence": "low"},
    ])
    summary = explorer_data.segment_summary(explorer_data.prepare_figures(raw)).set_index("segment").loc["S"]
    assert summary["size_low_usd_b"] == 0.5 and summary["size_high_usd_b"] == 2.5
    assert summary["size_mid_usd_b"] == pytest.approx(1.5)
    assert summary["size_sources"] == 2  # the CNY row is shown elsewhere but not in the USD range
    assert summary["size_confidence"] == "medium"
    assert (summary["growth_low_pct"], summary["growth_high_pct"], summary["growth_mid_pct"]) == (10, 20, 15)


def test_resolved_catalogue_gives_every_use_case_a_labelled_size_and_growth():
    df = explorer_data.catalogue()
    assert df["market_usd_b"].gt(0).all() and df["growth_pct"].ge(0).all()
    sourced = df[df.market_basis == "sourced"]
    assert (sourced["size_sources"] >= 1).all()
    assert (sourced["market_usd_b"].between(sourced["size_low_usd_b"], sourced["size_high_usd_b"])).all()
    assumed = df[df.market_basis == "assumption"]
    assert (assumed["market_usd_b"] == pd.to_numeric(assumed["assumed_market_usd_b"])).all()
    assert not df[["market_usd_b", "growth_pct"]].map(lambda v: math.isnan(v)).any().any()


def test_sentiment_range_ignores_the_broader_emotion_detection_figures():
    df = explorer_data.catalogue().set_index("use_case_id")
    row = df.loc["review-sentiment-monitoring"]
    assert row["size_high_usd_b"] < 10  # the USD 17-23B emotion-detection figures are excluded
    roles = explorer_data.figures_for(row["market_segment"]).set_index("value")["role"]
    assert roles["22.82"] == "excluded"


def test_a_resolve_without_any_number_is_a_clear_error():
    uc = pd.DataFrame([{"use_case_id": "x", "market_segment": "none", "market_basis": "sourced",
                        "growth_basis": "sourced", "assumed_market_usd_b": None, "assumed_growth_pct": None}])
    empty = explorer_data.prepare_figures(pd.DataFrame(columns=["figure_id", "segment", "metric", "value", "unit",
                                                                "figure_year", "forecast_year", "exclude_reason",
                                                                "note", "published_year", "confidence"]))
    with pytest.raises(ValueError, match="without a market size"):
        explorer_data.resolve(uc, empty)
