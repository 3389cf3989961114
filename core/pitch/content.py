"""Use case (+ saved scenario, settings, demo run) -> Pitch. Pure: reads the catalogue, the scoring
and the estimators, never the UI. The data types are in core/pitch/types.py, the costs in
core/pitch/cost.py; every number is a Fact with its source, formula or "your assumption".
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from core.estimate.units import human
from core.explore import data as explorer_data
from core.explore import market
from core.explore.scenarios import ScenarioRecord, ScenarioState
from core.i18n import normalise, t
from core.pitch.cost import build_cost
from core.pitch.types import (Cost, DemoSection, Edit, Fact, MarketFigure, NextSteps, Pitch, PitchError, PitchSettings,
                              Risk, SensitivityRow, Source, Why, yours)

SENSITIVITY_GRID = list(range(0, market.MAX_WEIGHT + 1))


def find_use_case(use_case_id: str) -> pd.Series:
    df = explorer_data.catalogue()
    row = df[df["use_case_id"] == str(use_case_id or "").strip()]
    if row.empty:
        raise PitchError("unknown_use_case", id=use_case_id)
    return row.iloc[0]


def _market_facts(row: pd.Series, figs: pd.DataFrame, lang: str, scenario: str | None) -> tuple[Fact, Fact]:
    sized = figs[figs["role"] == "range"]
    grown = figs[figs["role"] == "growth"]
    basis = row["market_basis"]
    if basis == "sourced":
        publishers = ", ".join(dict.fromkeys(sized["publisher"]))
        msrc, kind = t("pitch.src.market_median", lang, n=len(sized), publishers=publishers), "source"
    elif basis == "user":
        msrc, kind = yours(lang, scenario), "assumption"
    else:
        msrc, kind = t("pitch.src.market_assumption", lang, note=str(row.get("market_note") or "")), "catalogue"
    market_fact = Fact("market_size", t("pitch.fact.market", lang), float(row["market_usd_b"]),
                       f"USD {row['market_usd_b']:,.2f}B", msrc, kind)
    gbasis = row["growth_basis"]
    if gbasis in ("sourced", "parent"):
        publishers = ", ".join(dict.fromkeys(grown["publisher"]))
        key = "pitch.src.growth_median" if gbasis == "sourced" else "pitch.src.growth_parent"
        gsrc, gkind = t(key, lang, n=len(grown), publishers=publishers), "source"
    elif gbasis == "user":
        gsrc, gkind = yours(lang, scenario), "assumption"
    else:
        gsrc, gkind = t("pitch.src.growth_assumption", lang), "catalogue"
    growth_fact = Fact("growth", t("pitch.fact.growth", lang), float(row["growth_pct"]),
                       f"{row['growth_pct']:.1f}% CAGR", gsrc, gkind)
    return market_fact, growth_fact


def _figures(figs: pd.DataFrame, row: pd.Series) -> list[MarketFigure]:
    """The figures behind the numbers the score uses: the size range (when sourced) and the growth rows."""
    roles = (["range"] if row["market_basis"] == "sourced" else []) + \
        (["growth"] if row["growth_basis"] in ("sourced", "parent") else [])
    used = figs[figs["role"].isin(roles)]
    return [MarketFigure(figure_id=str(r.figure_id), metric=str(r.metric), value=str(r.value), unit=str(r.unit),
                         figure_year=str(r.figure_year or ""), publisher=str(r.publisher), title=str(r.title),
                         published_year=str(r.published_year or ""), confidence=str(r.confidence), url=str(r.url))
            for r in used.itertuples()]


def sensitivity_rows(base: pd.DataFrame, weights: dict[str, float], use_case_id: str, lang: str) -> list[SensitivityRow]:
    """For each criterion: this use case's rank as that weight moves 0..MAX_WEIGHT (others fixed),
    largest swing first."""
    rows = []
    for c in market.CRITERIA:
        long = market.sensitivity(base, weights, c.key, SENSITIVITY_GRID)
        mine = long[long["use_case_id"] == use_case_id].sort_values("weight")
        ranks = tuple(int(r) for r in mine["rank"])
        if not ranks:
            continue
        rows.append(SensitivityRow(c.key, t(f"explorer.crit.{c.key}", lang), float(weights.get(c.key, 0)),
                                   min(ranks), max(ranks), ranks))
    return sorted(rows, key=lambda r: (r.best_rank - r.worst_rank, r.criterion))


def build_next(row: pd.Series, shipped: pd.Series, overrides: dict[str, float], lang: str,
               scenario: str | None) -> NextSteps:
    def fact(key: str, col: str, text: str, default_src: str) -> Fact:
        if col in overrides:
            return Fact(key, t(f"pitch.fact.{key}", lang), float(row[col]), text, yours(lang, scenario), "assumption")
        return Fact(key, t(f"pitch.fact.{key}", lang), float(row[col]), text, default_src, "catalogue")

    edits = [Edit(col, t(f"explorer.field.{col}", lang), float(shipped[col]), float(v)) for col, v in sorted(overrides.items())]
    return NextSteps(
        time_to_mvp=fact("time_to_mvp", "time_to_mvp_months", t("pitch.months", lang, n=f"{row['time_to_mvp_months']:g}"),
                         t("pitch.src.mvp", lang)),
        data_availability=fact("data_availability", "data_availability", f"{row['data_availability']:g} / 5",
                               t("pitch.src.rating", lang)),
        data_tokens=fact("data_tokens", "training_tokens_b", f"{human(float(row['training_tokens_b']) * 1e9)} tokens",
                         t("pitch.src.ft_tokens", lang)),
        model_note=str(row.get("model_note") or ""),
        edits=edits,
    )


def _sources(why: Why, cost: Cost, lang: str) -> list[Source]:
    out = [Source(f"{f.citation}: {f.title}", f.url) for f in why.figures]
    out.append(Source(t("pitch.ref.accelerator", lang, name=cost.serve_accelerator), cost.price_source))
    out += [Source(t(f"pitch.ref.{k}", lang)) for k in ("kaplan", "hoffmann", "validation", "catalogue")]
    seen: dict[tuple[str, str], Source] = {}
    for s in out:
        seen.setdefault((s.label, s.url), s)
    return list(seen.values())


def build_pitch(use_case_id: str, scenario: ScenarioRecord | None = None, lang: str = "en",
                settings: PitchSettings | None = None, demo: DemoSection | None = None) -> Pitch:
    """The whole pitch for one use case under a scenario's weights and edited assumptions (or the defaults)."""
    lang = normalise(lang)
    settings = settings or PitchSettings()
    state = scenario.state if scenario else ScenarioState()
    name = scenario.name if scenario else None
    shipped = find_use_case(use_case_id)
    base = market.apply_overrides(explorer_data.catalogue(), state.overrides)
    scored = market.score(base, state.weights)
    row = scored[scored["use_case_id"] == shipped["use_case_id"]].iloc[0]
    overrides = state.overrides.get(str(row["use_case_id"]), {})
    figs = explorer_data.figures_for(row["market_segment"])
    market_fact, growth_fact = _market_facts(row, figs, lang, name)
    weights_src = t("pitch.src.weights_scenario", lang, name=name) if name else t("pitch.src.weights_default", lang)
    zh = lang == "zh"
    risks = [Risk(k, t(f"explorer.crit.{k}", lang), float(row[col]),
                  yours(lang, name) if col in overrides else t("pitch.src.rating", lang))
             for k, col in (("privacy", "risk_privacy"), ("bias", "risk_bias"), ("regulation", "risk_regulation"),
                            ("competition", "competition"))]
    sized = figs[figs["role"] == "range"]
    why = Why(
        score=Fact("score", t("pitch.fact.score", lang), float(row["score"]), f"{row['score']:.1f} / 100",
                   t("pitch.src.score", lang) + " · " + weights_src, "formula"),
        rank=Fact("rank", t("pitch.fact.rank", lang), float(row["rank"]), f"#{int(row['rank'])} / {len(scored)}",
                  weights_src, "formula"),
        n_use_cases=len(scored), weights=dict(state.weights),
        sensitivity=sensitivity_rows(base, state.weights, str(row["use_case_id"]), lang),
        market=market_fact,
        market_low_usd_b=float(sized["usd_b_low"].min()) if not sized.empty else None,
        market_high_usd_b=float(sized["usd_b_high"].max()) if not sized.empty else None, n_sized=len(sized),
        growth=growth_fact, figures=_figures(figs, row), risks=risks, rationale=str(row["scores_note"]),
        market_note=str(row.get("market_note") or "") if not pd.isna(row.get("market_note")) else "",
    )
    cost = build_cost(row, settings, lang, name, set(overrides))
    from core.pitch.demo import demo_section  # deferred: the registry touches the store

    pitch = Pitch(
        use_case_id=str(row["use_case_id"]), name=str(row["name_zh"] if zh else row["name"]),
        domain=str(row["domain_zh"] if zh else row["domain"]), task=str(row["task"]),
        description=str(row["description_zh"] if zh and row.get("description_zh") else row["description"]),
        lang=lang, scenario=name, generated_on=date.today().isoformat(), settings=settings, why=why, cost=cost,
        demo=demo or demo_section(str(row["task"]), str(row["use_case_id"]), lang),
        next=build_next(row, shipped, overrides, lang, name),
    )
    pitch.sources = _sources(why, cost, lang)
    return pitch
