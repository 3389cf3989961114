"""The pitch's data: plain dataclasses that the page, the deck, the PDF brief and the CLI all render.

Every number is a `Fact` that says where it comes from:
    kind "source"      a cited catalogue figure (publisher, year, URL);
    kind "formula"     computed by a named formula from other facts (the formula is the source);
    kind "catalogue"   an editorial rating or model assumption shipped in data/use_cases.csv;
    kind "assumption"  a value the user set: an edited scenario assumption or a traffic setting.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from core.estimate import validation
from core.estimate.inputs import _Inputs
from core.estimate.units import human
from core.i18n import t

Kind = Literal["source", "formula", "catalogue", "assumption"]


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
    source: str  # the catalogue's editorial rating, or "your assumption" when a scenario edited it

    def line(self, lang: str) -> str:
        return t("pitch.risk.line", lang, label=self.label, rating=f"{self.rating:g}") + f" — {self.source}"


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


def usd(value: float | None) -> str:
    return "n/a" if value is None else f"${human(value)}"


def yours(lang: str, scenario: str | None) -> str:
    return t("pitch.src.yours_scenario", lang, name=scenario) if scenario else t("pitch.src.yours", lang)
