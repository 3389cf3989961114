"""The pitch content (core.pitch.content, core.pitch.demo): every number has a source, the market
figures are the catalogue's, costs are the estimators' own results, scenario edits become "your
assumption", and the demo section matches the task."""
from __future__ import annotations

import math
import subprocess
import sys

import pytest

from core.estimate import catalogue
from core.estimate.training import chinchilla_optimal_tokens, estimate_training
from core.explore import data as explorer_data
from core.explore import market, scenarios
from core.explore.scenarios import ScenarioState
from core.pitch import demo
from core.pitch.content import build_pitch
from core.pitch.types import PitchError, PitchSettings
from tests.conftest import ROOT


def test_core_pitch_never_imports_streamlit():
    code = "import sys, core.pitch.content, core.pitch.cost, core.pitch.types, core.pitch.deck, core.pitch.brief, core.pitch.demo, core.pitch.exports, " \
           "core.cli.pitch; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_number_names_where_it_comes_from():
    p = build_pitch("enterprise-knowledge-qa")
    facts = p.facts()
    assert len(facts) >= 25
    for f in facts:
        assert f.source.strip(), f.key
        assert f.kind in ("source", "formula", "catalogue", "assumption")
        assert f.text.strip() and f.label.strip()
    # the traffic is the user's setting, so it is an assumption even without a scenario
    assert [f.key for f in p.assumptions()] == ["traffic"]


def test_score_rank_and_market_are_the_explorers():
    uid = "review-sentiment-monitoring"
    scored = market.score(explorer_data.catalogue(), market.DEFAULT_WEIGHTS).set_index("use_case_id")
    p = build_pitch(uid)
    assert p.why.score.value == pytest.approx(scored.loc[uid, "score"])
    assert p.why.rank.value == scored.loc[uid, "rank"]
    assert p.why.rank.text == f"#{scored.loc[uid, 'rank']} / {len(scored)}"
    assert p.why.market.value == pytest.approx(scored.loc[uid, "market_usd_b"])
    assert p.why.growth.value == pytest.approx(scored.loc[uid, "growth_pct"])


def test_market_figures_are_the_catalogue_rows_behind_the_range():
    uid = "enterprise-knowledge-qa"
    row = explorer_data.catalogue().set_index("use_case_id").loc[uid]
    figs = explorer_data.figures_for(row["market_segment"]).set_index("figure_id")
    p = build_pitch(uid)
    used = {f.figure_id for f in p.why.figures}
    assert used == set(figs.index[figs["role"].isin(["range", "growth"])])
    for f in p.why.figures:
        src = figs.loc[f.figure_id]
        assert (f.value, f.unit, f.publisher, f.url, f.confidence) == (src["value"], src["unit"], src["publisher"],
                                                                        src["url"], src["confidence"])
    sized = figs[figs["role"] == "range"]
    assert p.why.market_low_usd_b == pytest.approx(sized["usd_b_low"].min())
    assert p.why.market_high_usd_b == pytest.approx(sized["usd_b_high"].max())
    assert p.why.market.kind == "source" and str(len(sized)) in p.why.market.source


def test_an_assumed_market_size_says_so():
    df = explorer_data.catalogue()
    uid = df[df["market_basis"] == "assumption"]["use_case_id"].iloc[0]
    p = build_pitch(uid)
    assert p.why.market.kind == "catalogue"
    assert "assumption" in p.why.market.source
    assert not [f for f in p.why.figures if f.metric == "market_size"]


def test_costs_are_the_estimators_results():
    uid = "ai-writing-assistant"
    settings = PitchSettings(train_accelerator="a100_80gb", train_count=16, mfu=0.35)
    p = build_pitch(uid, settings=settings)
    params_b, tokens_b = catalogue.use_case_sizes(uid)
    acc = catalogue.accelerator("a100_80gb")
    ft = estimate_training(params_b * 1e9, tokens_b * 1e9, acc.bf16_tflops_dense, 16, 0.35, acc.usd_per_accelerator_hour)
    scratch_tokens = chinchilla_optimal_tokens(params_b * 1e9)
    sc = estimate_training(params_b * 1e9, scratch_tokens, acc.bf16_tflops_dense, 16, 0.35, acc.usd_per_accelerator_hour)
    assert p.cost.finetune.accelerator_hours.value == pytest.approx(ft.accelerator_hours)
    assert p.cost.finetune.cost_usd.value == pytest.approx(ft.cost_usd)
    assert p.cost.scratch.tokens.value == pytest.approx(scratch_tokens)
    assert p.cost.scratch.days.value == pytest.approx(sc.wall_clock_days)
    assert p.cost.scratch.cost_usd.value == pytest.approx(sc.cost_usd)
    assert p.cost.scratch.cost_usd.value > 100 * p.cost.finetune.cost_usd.value  # 160B tokens vs 50M
    assert p.cost.validation_error.text.startswith("±") and "published runs" in p.cost.validation_error.source


def test_serving_cost_follows_the_traffic_the_user_sets():
    low = build_pitch("customer-service-chatbot", settings=PitchSettings(users_per_day=100))
    high = build_pitch("customer-service-chatbot", settings=PitchSettings(users_per_day=2_000_000, requests_per_user=10,
                                                                          serve_accelerator="h100_sxm"))
    assert high.cost.traffic_tokens_per_day.value == 2_000_000 * 10 * 256
    need = math.ceil(high.cost.traffic_tokens_per_day.value / (high.cost.tokens_per_second.value * 86_400))
    assert high.cost.serve_accelerators_needed.value == need > 1
    assert high.cost.monthly_usd.value == pytest.approx(need * catalogue.accelerator("h100_sxm").usd_per_accelerator_hour * 720)
    assert low.cost.serve_accelerators_needed.value == 1
    assert low.cost.effective_usd_per_million.value > high.cost.effective_usd_per_million.value
    assert low.cost.fits and high.cost.fits


def test_sensitivity_lists_each_criterion_with_the_largest_swing_first():
    p = build_pitch("robotaxi")
    rows = p.why.sensitivity
    assert {r.criterion for r in rows} == set(market.CRITERION)
    swings = [r.worst_rank - r.best_rank for r in rows]
    assert swings == sorted(swings, reverse=True)
    for r in rows:
        assert len(r.ranks) == market.MAX_WEIGHT + 1 and min(r.ranks) == r.best_rank
    # at the current weight the rank is the pitch's own rank
    top = rows[0]
    assert top.ranks[int(top.weight)] == p.why.rank.value


def test_a_scenarios_edits_and_weights_are_marked_as_yours(state_dir):
    state = ScenarioState(weights={**market.DEFAULT_WEIGHTS, "regulation": 9},
                          overrides={"robotaxi": {"market_usd_b": 12.5, "time_to_mvp_months": 20, "model_params_b": 2}})
    rec = scenarios.create("Pitch test scenario", state)
    try:
        p = build_pitch("robotaxi", scenarios.find("pitch TEST scenario"), "en")
        assert p.scenario == "Pitch test scenario"
        assert p.why.market.value == 12.5 and p.why.market.kind == "assumption"
        assert "Pitch test scenario" in p.why.market.source
        assert p.next.time_to_mvp.kind == "assumption" and p.next.time_to_mvp.value == 20
        assert p.cost.finetune.params.value == 2e9 and p.cost.finetune.params.kind == "assumption"
        assert {e.column for e in p.next.edits} == {"market_usd_b", "time_to_mvp_months", "model_params_b"}
        assert "regulation" in p.why.weights and p.why.weights["regulation"] == 9
        assert "Pitch test scenario" in p.why.rank.source
        assert explorer_data.catalogue().set_index("use_case_id").loc["robotaxi", "market_usd_b"] == 1.0  # shipped untouched
    finally:
        scenarios.delete(rec.id)


def test_unknown_use_case_is_a_pitch_error():
    with pytest.raises(PitchError) as exc:
        build_pitch("no-such-use-case")
    assert exc.value.code == "unknown_use_case"


def test_chinese_pitch_uses_the_chinese_names():
    p = build_pitch("document-translation", lang="zh")
    row = explorer_data.catalogue().set_index("use_case_id").loc["document-translation"]
    assert p.name == row["name_zh"] and p.description == row["description_zh"]
    assert p.cost.finetune.label == "微调开源基座模型"


def test_demo_section_picks_the_tasks_model_or_says_there_is_none():
    qa = demo.demo_section("qa", "enterprise-knowledge-qa", "en")
    from core.lm.registry import models_for_task

    assert qa.available and qa.model_id == models_for_task("qa")[0].id  # the QA page's default model
    assert qa.model_id.startswith("qa-") and "exact_match" in qa.card_metrics
    vision = demo.demo_section("vision", "visual-product-search", "en")
    assert not vision.available and vision.model_id is None
    assert vision.studio_command.startswith("python -m core train --base smollm2-135m-instruct")
    assert "--out .state/runs/pitch-visual-product-search" in vision.studio_command


def test_each_demo_use_case_has_its_own_input_in_both_languages():
    """A QA demo asks a question its context (the description, in the deck's language) answers; the
    translation and sentiment demos talk about the use case, not a generic sentence."""
    from core import catalog

    df = explorer_data.catalogue().set_index("use_case_id")
    rows = catalog.table("pitch_demos")
    for uid, task in df["task"].items():
        if task not in ("qa", "translation", "sentiment"):
            continue
        for lang, desc_col in (("en", "description"), ("zh", "description_zh")):
            mine = rows[(rows["use_case_id"] == uid) & (rows["lang"] == lang)]
            assert len(mine) == 1, (uid, lang)
            prompt, context = demo.demo_input(uid, lang)
            assert prompt == mine.iloc[0]["prompt"] and context == df.loc[uid, desc_col]
            if task == "qa":
                assert str(mine.iloc[0]["expected"]) in context, (uid, lang)  # the context answers it
                assert (lang == "zh") == bool(__import__("re").search(r"[\u4e00-\u9fff]", prompt))
    assert set(rows["use_case_id"]) <= set(df.index)
    # a use case without its own line gets the task's generic prompt, in the deck's language
    prompt, context = demo.demo_input("ai-writing-assistant", "zh")
    assert "AI 写作助手" in prompt and context == df.loc["ai-writing-assistant", "description_zh"]
    assert demo.demo_input("no-such-use-case", "en") == ("", "")


def test_demo_rejects_an_empty_or_oversized_prompt():
    for prompt, code in (("  ", "demo_empty"), ("x" * (demo.MAX_PROMPT_CHARS + 1), "demo_too_long")):
        with pytest.raises(demo.DemoError) as exc:
            demo.run_demo(object(), "generation", prompt)
        assert exc.value.code == code


def test_settings_are_bounded():
    from core.estimate.inputs import InputError, parse

    with pytest.raises(InputError) as exc:
        parse(PitchSettings, {"users_per_day": 0, "mfu": 1.5})
    assert set(exc.value.errors) == {"users_per_day", "mfu"}
    assert PitchSettings().batch == 8


def test_an_edited_risk_rating_is_your_assumption_and_the_others_the_catalogues(state_dir):
    rec = scenarios.create("Risk edit", ScenarioState(overrides={"credit-scoring": {"risk_regulation": 2}}))
    try:
        risks = {r.key: r for r in build_pitch("credit-scoring", scenarios.get(rec.id)).why.risks}
        assert risks["regulation"].rating == 2 and risks["regulation"].source == "your assumption (scenario “Risk edit”)"
        assert risks["privacy"].source.startswith("editorial 1–5 rating")
        assert risks["regulation"].line("en") == "Regulation: 2 / 5 (5 = highest risk) — your assumption (scenario “Risk edit”)"
    finally:
        scenarios.delete(rec.id)


def test_the_demo_summary_names_model_speed_and_the_cards_held_out_metrics():
    from core.pitch.types import DemoTranscript

    section = demo.demo_section("qa", "enterprise-knowledge-qa", "en")
    assert section.card_metrics
    section.transcript = DemoTranscript(section.model_id, "Q?", "A", 27.44, 900.0, "fast-int8-native")
    line = demo.transcript_summary(section, "en")
    first_metric = next(iter(section.card_metrics))
    assert line.startswith(section.model_id + " · 27.4 tokens/s · held-out ") and first_metric in line
    section.transcript = DemoTranscript(section.model_id, "Q?", "positive (90%)", None, 212.0, "label scoring")
    assert "212 ms" in demo.transcript_summary(section, "en")
    assert "留出集" in demo.transcript_summary(section, "zh")


def test_the_generation_demo_uses_the_measured_default_per_language():
    from core.lm.registry import default_generation_model, models_for_task

    for lang in ("en", "zh"):
        section = demo.demo_section("generation", "ai-writing-assistant", lang)
        assert section.model_id == default_generation_model(lang)
        assert models_for_task("generation", lang=lang)[0].id == default_generation_model(lang)
    assert default_generation_model("zh") == "qwen2.5-coder-0.5b-instruct"  # SmolLM2 fails Chinese prompts
