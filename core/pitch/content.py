"""Use case (+ saved scenario) -> pitch content: plain dataclasses that the page, the deck, the PDF
brief and the CLI all render. Pure: reads the catalogue and the estimators, never the UI.

Every number is a `Fact` that says where it comes from:
    kind "source"      a cited catalogue figure (publisher, year, URL);
    kind "formula"     computed by a named formula from other facts (the formula is the source);
    kind "catalogue"   an editorial rating or model assumption shipped in data/use_cases.csv;
    kind "assumption"  a value the user set: an edited scenario assumption or a traffic setting.

Costs reuse core.estimate: FLOPs = 6·N·D (Kaplan et al. 2020), accelerator-hours = FLOPs / (peak ×
MFU), a from-scratch budget of 20·N tokens (Hoffmann et al. 2022), serving memory and decode speed
from core.estimate.inference (bandwidth-bound decode), and the estimator's own median error against
published training runs (core.estimate.validation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import pandas as pd
from pydantic import Field

from core.estimate import catalogue, validation
from core.estimate.architecture import shape_from_params
from core.estimate.compare import inference_across_accelerators, inference_on
from core.estimate.inputs import _Inputs
from core.estimate.training import chinchilla_optimal_tokens, estimate_training
from core.estimate.units import human
from core.explore import data as explorer_data
from core.explore import market
from core.explore.scenarios import ScenarioRecord, ScenarioState
from core.i18n import normalise, t

Kind = Literal["source", "formula", "catalogue", "assumption"]
DAYS_PER_MONTH = 30.0
SECONDS_PER_DAY = 86_400.0
SENSITIVITY_GRID = list(range(0, market.MAX_WEIGHT + 1))


class PitchError(ValueError):
    """Input that cannot become a pitch; `code` names the message (i18n key pitch.err.<code>)."""

    def __init__(self, code: str, **params: object):
        super().__init__(f"{code}: {params}" if params else code)
        self.code, self.params = code, params


class PitchSettings(_Inputs):
    """What the user sets on the page or the CLI (validated, bounded; errors via core.estimate.inputs)."""
    train_accelerator: str = Field(default="h100_sxm", min_length=1, max_length=64)
    train_count: int = Field(default=8, ge=1, le=100_000)
    mfu: float = Field(default=validation.DEFAULT_MFU, gt=0, le=1)
    serve_accelerator: str | None = Field(default=None, max_length=64)  # None: cheapest that fits
    users_per_day: int = Field(default=1000, ge=1, le=1_000_000_000)
    requests_per_user: float = Field(default=5.0, gt=0, le=10_000)
    prompt_tokens: int = Field(default=512, ge=1, le=1_000_000)
    output_tokens: int = Field(default=256, ge=1, le=100_000)
    batch: int = Field(default=8, ge=1, le=4096)


@dataclass(frozen=True)
class Fact:
    key: str
    label: str
    value: float | None
    text: str  # the value as shown, with its unit
    source: str  # citation, formula, or "your assumption"
    kind: Kind
    url: str = ""


@dataclass(frozen=True)
class MarketFigure:
    figure_id: str
    metric: str  # market_size | cagr
    value: str  # verbatim from the catalogue
    unit: str
    figure_year: str
    publisher: str
    title: str
    published_year: str
    confidence: str
    url: str

    @property
    def text(self) -> str:
        return f"{self.value} {self.unit}" + (f" ({self.figure_year})" if self.figure_year else "")

    @property
    def citation(self) -> str:
        year = f", {self.published_year}" if self.published_year else ""
        return f"{self.publisher}{year}"


@dataclass(frozen=True)
class SensitivityRow:
    criterion: str
    label: str
    weight: float  # the current weight
    best_rank: int
    worst_rank: int
    ranks: tuple[int, ...]  # rank at weight 0..MAX_WEIGHT


@dataclass(frozen=True)
class Risk:
    key: str
    label: str
    rating: float  # 1-5, 5 = worst
    source: str


@dataclass
class Why:
    score: Fact
    rank: Fact
    n_use_cases: int
    weights: dict[str, float]
    sensitivity: list[SensitivityRow]
    market: Fact
    market_low_usd_b: float | None
    market_high_usd_b: float | None
    n_sized: int  # base-year size figures behind the range
    growth: Fact
    figures: list[MarketFigure]  # the figures behind the size range and the growth rate
    risks: list[Risk]
    rationale: str
    market_note: str


@dataclass
class CostLine:
    """One training option: fine-tune an open base, or train from scratch."""
    key: str  # finetune | scratch
    label: str
    params: Fact
    tokens: Fact
    flops: Fact
    accelerator_hours: Fact
    days: Fact
    cost_usd: Fact


@dataclass
class Cost:
    accelerator: str  # the training accelerator's name
    count: int
    finetune: CostLine
    scratch: CostLine
    validation_error: Fact
    serve_accelerator: str
    memory: Fact
    fits: bool
    tokens_per_second: Fact
    usd_per_million: Fact
    traffic_tokens_per_day: Fact
    serve_accelerators_needed: Fact
    monthly_usd: Fact
    effective_usd_per_million: Fact
    price_source: str  # the serving accelerator's datasheet URL


@dataclass
class DemoTranscript:
    """What the live demo produced, captured into the exports."""
    model_id: str
    prompt: str
    answer: str
    tokens_per_second: float | None  # None for label scoring (sentiment)
    latency_ms: float
    decoder: str = ""
    context: str = ""


@dataclass
class DemoSection:
    task: str
    available: bool
    model_id: str | None
    model_name: str
    card_metrics: dict[str, float]
    card_data: str
    card_licence: str
    card_test: str
    studio_command: str
    transcript: DemoTranscript | None = None


@dataclass
class Edit:
    column: str
    label: str
    shipped: float
    yours: float


@dataclass
class NextSteps:
    time_to_mvp: Fact
    data_availability: Fact
    data_tokens: Fact
    model_note: str
    edits: list[Edit]


@dataclass
class Source:
    label: str
    url: str = ""


@dataclass
class Pitch:
    use_case_id: str
    name: str
    domain: str
    task: str
    description: str
    lang: str
    scenario: str | None
    generated_on: str
    settings: PitchSettings
    why: Why
    cost: Cost
    demo: DemoSection
    next: NextSteps
    sources: list[Source] = field(default_factory=list)

    def facts(self) -> list[Fact]:
        """Every number of the pitch, in reading order (the page and the speaker notes list them)."""
        w, c, n = self.why, self.cost, self.next
        out = [w.score, w.rank, w.market, w.growth]
        for line in (c.finetune, c.scratch):
            out += [line.params, line.tokens, line.flops, line.accelerator_hours, line.days, line.cost_usd]
        out += [c.validation_error, c.memory, c.tokens_per_second, c.usd_per_million, c.traffic_tokens_per_day,
                c.serve_accelerators_needed, c.monthly_usd, c.effective_usd_per_million,
                n.time_to_mvp, n.data_availability, n.data_tokens]
        return out

    def assumptions(self) -> list[Fact]:
        return [f for f in self.facts() if f.kind == "assumption"]


# ---------------------------------------------------------------- helpers
def usd(value: float | None) -> str:
    return "n/a" if value is None else f"${human(value)}"


def _yours(lang: str, scenario: str | None) -> str:
    return t("pitch.src.yours_scenario", lang, name=scenario) if scenario else t("pitch.src.yours", lang)


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
        msrc, kind = _yours(lang, scenario), "assumption"
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
        gsrc, gkind = _yours(lang, scenario), "assumption"
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


def _duration(hours: float, count: int, lang: str) -> str:
    if hours < 24:
        return t("pitch.hours", lang, n=f"{hours:,.2g}" if hours < 1 else f"{hours:,.1f}", k=count)
    return t("pitch.days", lang, n=f"{hours / 24:,.1f}", k=count)


def _training_line(key: str, params: float, tokens: float, tokens_src: str, tokens_kind: Kind,
                   settings: PitchSettings, lang: str) -> CostLine:
    acc = catalogue.accelerator(settings.train_accelerator)
    est = estimate_training(params, tokens, acc.bf16_tflops_dense, settings.train_count, settings.mfu,
                            acc.usd_per_accelerator_hour, acc.board_power_w)
    f = lambda k, v, text, src, kind="formula": Fact(f"{key}.{k}", t(f"pitch.fact.{k}", lang), v, text, src, kind)  # noqa: E731
    return CostLine(
        key=key, label=t(f"pitch.cost.{key}", lang),
        params=f("params", params, human(params), t("pitch.src.model_size", lang), "catalogue"),
        tokens=f("tokens", tokens, human(tokens), tokens_src, tokens_kind),
        flops=f("flops", est.flops, f"{est.flops:.3g}", t("pitch.src.flops", lang)),
        accelerator_hours=f("accelerator_hours", est.accelerator_hours, human(est.accelerator_hours),
                            t("pitch.src.hours", lang, peak=f"{acc.bf16_tflops_dense:g}", mfu=f"{settings.mfu:.0%}")),
        days=f("days", est.wall_clock_days, _duration(est.wall_clock_hours, settings.train_count, lang),
               t("pitch.src.days", lang, k=settings.train_count, name=acc.name)),
        cost_usd=f("cost_usd", est.cost_usd, usd(est.cost_usd),
                   t("pitch.src.cost", lang, usd=f"{acc.usd_per_accelerator_hour or 0:.3g}", provider=acc.price_provider or "—")),
    )


def _accelerator_url(accelerator_id: str) -> str:
    table = catalogue.accelerators()
    urls = table.loc[table["accelerator_id"] == accelerator_id, "source_url"].dropna()
    return str(urls.iloc[0]) if not urls.empty else ""


def serving_accelerators_needed(tokens_per_day: float, tokens_per_second: float) -> int:
    """Always-on accelerators that serve the average daily load (at least one)."""
    return max(1, math.ceil(tokens_per_day / (tokens_per_second * SECONDS_PER_DAY)))


def _serving(params: float, settings: PitchSettings, tokens_per_day: float):
    """(accelerator, estimate) for serving: the chosen one, or the one with the lowest monthly bill at this
    traffic among those that fit (ties: lower $ per 1M tokens)."""
    arch = shape_from_params(params)
    knobs = dict(batch=settings.batch, prompt_tokens=settings.prompt_tokens, output_tokens=settings.output_tokens)
    if settings.serve_accelerator:
        acc = catalogue.accelerator(settings.serve_accelerator)
        return acc, inference_on(arch, acc, **knobs)
    table = inference_across_accelerators(arch, **knobs)
    prices = catalogue.accelerators().set_index("accelerator_id")["usd_per_accelerator_hour"]
    table = table.assign(price=table["accelerator_id"].map(prices))
    ok = table[table["fits"] & table["price"].notna()].copy()
    if ok.empty:
        pick = table.sort_values("capacity_gib").iloc[-1]["accelerator_id"]
    else:
        ok["monthly"] = [serving_accelerators_needed(tokens_per_day, tps) * price
                         for tps, price in zip(ok["tokens_per_second"], ok["price"])]
        pick = ok.sort_values(["monthly", "cost_per_million_tokens_usd"]).iloc[0]["accelerator_id"]
    acc = catalogue.accelerator(pick)
    return acc, inference_on(arch, acc, **knobs)


def build_cost(row: pd.Series, settings: PitchSettings, lang: str, scenario: str | None, edited: set[str]) -> Cost:
    params = float(row["model_params_b"]) * 1e9
    ft_tokens = float(row["training_tokens_b"]) * 1e9
    mine = lambda col, default: (_yours(lang, scenario), "assumption") if col in edited else default  # noqa: E731
    ft_src, ft_kind = mine("training_tokens_b", (t("pitch.src.ft_tokens", lang), "catalogue"))
    finetune = _training_line("finetune", params, ft_tokens, ft_src, ft_kind, settings, lang)
    scratch = _training_line("scratch", params, chinchilla_optimal_tokens(params), t("pitch.src.chinchilla", lang),
                             "formula", settings, lang)
    if "model_params_b" in edited:
        for line in (finetune, scratch):
            line.params = Fact(line.params.key, line.params.label, params, human(params), _yours(lang, scenario), "assumption")
    summary = validation.summary(validation.validation_table())["hours_error_pct_default_mfu"]
    err = summary["median_abs_pct"]
    validation_error = Fact("validation_error", t("pitch.fact.validation_error", lang), err,
                            "n/a" if err is None else f"±{err:.0f}%",
                            t("pitch.src.validation", lang, n=summary["runs"], mfu=f"{validation.DEFAULT_MFU:.0%}"), "formula")
    tokens_day = settings.users_per_day * settings.requests_per_user * settings.output_tokens
    acc, est = _serving(params, settings, tokens_day)
    yours = _yours(lang, None)
    needed = serving_accelerators_needed(tokens_day, est.tokens_per_second)
    price = acc.usd_per_accelerator_hour
    monthly = None if price is None else needed * price * 24 * DAYS_PER_MONTH
    effective = None if monthly is None else monthly / (tokens_day * DAYS_PER_MONTH) * 1e6
    knobs = dict(b=settings.batch, p=settings.prompt_tokens, o=settings.output_tokens)
    f = lambda k, v, text, src, kind="formula": Fact(k, t(f"pitch.fact.{k}", lang), v, text, src, kind)  # noqa: E731
    return Cost(
        accelerator=catalogue.accelerator(settings.train_accelerator).name, count=settings.train_count,
        finetune=finetune, scratch=scratch, validation_error=validation_error, serve_accelerator=acc.name,
        memory=f("memory", est.total_gib, f"{est.total_gib:,.1f} GiB",
                 t("pitch.src.memory", lang, capacity=f"{est.capacity_gib:,.0f}", name=acc.name, **knobs)),
        fits=bool(est.fits),
        tokens_per_second=f("tokens_per_second", est.tokens_per_second, f"{est.tokens_per_second:,.0f} tok/s",
                            t("pitch.src.tps", lang, name=acc.name, **knobs)),
        usd_per_million=f("usd_per_million", est.cost_per_million_tokens_usd,
                          "n/a" if est.cost_per_million_tokens_usd is None else f"${est.cost_per_million_tokens_usd:,.2f}",
                          t("pitch.src.per_million", lang, usd=f"{price or 0:.3g}")),
        traffic_tokens_per_day=f("traffic", tokens_day, human(tokens_day),
                                 t("pitch.src.traffic", lang, users=f"{settings.users_per_day:,}",
                                   req=f"{settings.requests_per_user:g}", o=settings.output_tokens) + " · " + yours,
                                 "assumption"),
        serve_accelerators_needed=f("serve_needed", needed, str(needed), t("pitch.src.needed", lang)),
        monthly_usd=f("monthly_usd", monthly, usd(monthly), t("pitch.src.monthly", lang, n=needed)),
        effective_usd_per_million=f("effective_per_million", effective,
                                    "n/a" if effective is None else f"${effective:,.2f}", t("pitch.src.effective", lang)),
        price_source=_accelerator_url(acc.accelerator_id),
    )


def build_next(row: pd.Series, shipped: pd.Series, overrides: dict[str, float], lang: str,
               scenario: str | None) -> NextSteps:
    def fact(key: str, col: str, text: str, default_src: str) -> Fact:
        if col in overrides:
            return Fact(key, t(f"pitch.fact.{key}", lang), float(row[col]), text, _yours(lang, scenario), "assumption")
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
    risks = [Risk(k, t(f"explorer.crit.{k}", lang), float(row[col]), str(row["scores_note"]))
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
