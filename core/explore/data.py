"""The explorer's catalogue: use cases joined with the market figures that size them.

Reads the DuckDB tables `use_cases` and `market_figures` (built from data/*.csv, see
data/cards/explorer.md) and resolves, for every use case, the market size and growth that the
scoring uses, each with its basis:

* sourced    - median of the base-year figures for the use case's segment (range = min..max);
* parent     - growth only: the CAGR of a broader segment, used as a proxy;
* assumption - a labelled number from use_cases.csv (no usable public figure exists);
* user       - a value the user edited inside a scenario (applied later, core.explore.market).

Which figures count towards a range (`role` == "range"): metric market_size, no forecast year,
unit exactly "USD billion" or "USD million" (CNY, GBP, revenue, ARR and spend rows are shown but
never converted or mixed in), a figure year of MIN_BASE_YEAR or later, and no editorial
exclusion (`exclude_reason`, e.g. a broader scope). CAGR rows count towards the growth range
unless excluded. Every other row keeps a role code that says why it is not in the range.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache

import pandas as pd

from core import catalog
from core.config import get_settings

MIN_BASE_YEAR = 2020  # older base-year figures describe a pre-LLM market
USD_UNITS = {"USD billion": 1.0, "USD million": 0.001}
CONFIDENCE_ORDER = {"high": 3, "medium": 2, "low": 1}
BASES = ("sourced", "parent", "assumption", "user")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_value(text: object) -> tuple[float | None, float | None]:
    """A figure as printed -> (low, high). '21.66-36.96' -> (21.66, 36.96); '~28', '>20' -> (28, 28), (20, 20)."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None, None
    numbers = [float(n) for n in _NUMBER.findall(str(text).replace(",", ""))]
    if not numbers:
        return None, None
    return min(numbers[:2]), max(numbers[:2])


def _year(text: object) -> int | None:
    match = re.fullmatch(r"\s*(\d{4})\s*", str(text or ""))
    return int(match.group(1)) if match else None


def figure_role(row: pd.Series) -> str:
    """Why a figure is (role 'range') or is not part of its segment's range; a code for the UI."""
    if str(row.get("exclude_reason") or "").strip():
        return "excluded"
    if row["metric"] == "cagr":
        return "growth"
    if row["metric"] != "market_size":
        return "proxy"
    if str(row.get("forecast_year") or "").strip():
        return "forecast"
    if row["unit"] not in USD_UNITS:
        return "other_unit"
    year = _year(row.get("figure_year"))
    if year is None:
        return "no_year"
    if year < MIN_BASE_YEAR:
        return "old"
    return "range"


def prepare_figures(raw: pd.DataFrame) -> pd.DataFrame:
    """Add parsed numbers (value_low/high in the row's own unit), USD-billion columns and the role."""
    df = raw.copy()
    for col in ("value", "forecast_year", "figure_year", "exclude_reason", "note", "published_year"):
        df[col] = df[col].map(lambda v: "" if pd.isna(v) else str(v))
    parsed = df["value"].map(parse_value)
    df["value_low"] = [p[0] for p in parsed]
    df["value_high"] = [p[1] for p in parsed]
    factor = df["unit"].map(USD_UNITS)
    df["usd_b_low"] = df["value_low"] * factor
    df["usd_b_high"] = df["value_high"] * factor
    df["role"] = [figure_role(r) for _, r in df.iterrows()] if len(df) else []
    return df


def segment_summary(figures: pd.DataFrame) -> pd.DataFrame:
    """Per segment: base-year size range/median (USD B) and CAGR range/median (%), with counts."""
    sized = figures[figures["role"] == "range"].assign(mid=lambda d: (d.usd_b_low + d.usd_b_high) / 2)
    grown = figures[figures["role"] == "growth"].assign(mid=lambda d: (d.value_low + d.value_high) / 2)
    size = sized.groupby("segment").agg(
        size_low_usd_b=("usd_b_low", "min"), size_high_usd_b=("usd_b_high", "max"),
        size_mid_usd_b=("mid", "median"), size_sources=("figure_id", "count"),
        size_confidence=("confidence", lambda c: max(c, key=lambda x: CONFIDENCE_ORDER.get(x, 0))),
    )
    growth = grown.groupby("segment").agg(
        growth_low_pct=("value_low", "min"), growth_high_pct=("value_high", "max"),
        growth_mid_pct=("mid", "median"), growth_sources=("figure_id", "count"),
    )
    return size.join(growth, how="outer").reset_index()


def resolve(use_cases: pd.DataFrame, figures: pd.DataFrame) -> pd.DataFrame:
    """Use cases with `market_usd_b`/`growth_pct` and their basis, ranges and source counts."""
    summary = segment_summary(figures)
    df = use_cases.merge(summary, how="left", left_on="market_segment", right_on="segment").drop(columns="segment")
    df["size_sources"] = df["size_sources"].fillna(0).astype(int)
    df["growth_sources"] = df["growth_sources"].fillna(0).astype(int)
    sourced = df["market_basis"] == "sourced"
    df["market_usd_b"] = df["size_mid_usd_b"].where(sourced, pd.to_numeric(df["assumed_market_usd_b"]))
    grown = df["growth_basis"].isin(["sourced", "parent"])
    df["growth_pct"] = df["growth_mid_pct"].where(grown, pd.to_numeric(df["assumed_growth_pct"]))
    bad = df[df["market_usd_b"].isna() | df["growth_pct"].isna()]
    if not bad.empty:
        raise ValueError(f"use cases without a market size or growth: {bad['use_case_id'].tolist()}")
    return df


def _csv_key() -> tuple:
    data_dir = get_settings().data_dir
    paths = [data_dir / "use_cases.csv", data_dir / "market_figures.csv"]
    return (str(data_dir),) + tuple((p.stat().st_size, p.stat().st_mtime_ns) for p in paths)


@lru_cache(maxsize=2)
def _load(_key: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    from core.explore.market import search_text

    figures = prepare_figures(catalog.table("market_figures"))
    resolved = resolve(catalog.table("use_cases"), figures)
    resolved["search_text"] = search_text(resolved)
    return resolved, figures


def catalogue() -> pd.DataFrame:
    """The resolved use-case table (a copy; cached until a CSV changes)."""
    return _load(_csv_key())[0].copy()


def figures() -> pd.DataFrame:
    """Every copied market figure with its parsed numbers and role (a copy)."""
    return _load(_csv_key())[1].copy()


def figures_for(segment: str) -> pd.DataFrame:
    df = figures()
    return df[df["segment"] == segment].reset_index(drop=True)


def localise(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Add `label` and `domain_label` in the chosen language (Chinese names where present)."""
    out = df.copy()
    zh = lang == "zh"
    out["label"] = out["name_zh"] if zh else out["name"]
    out["domain_label"] = out["domain_zh"] if zh else out["domain"]
    return out
