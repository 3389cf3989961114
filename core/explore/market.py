"""Opportunity scoring and its sensitivity to the weights (pure functions on DataFrames).

Every criterion is turned into a "goodness" g in [0, 1] on a fixed scale (so a use case's score
does not depend on which other use cases are shown), oriented so that 1 is good for a founder:
a large, fast-growing market, a mature technique, available data, little compute, a quick MVP,
and low competition and risks (risks are penalties: a 5/5 risk adds nothing, a 1/5 risk adds its
full weight). With weights w (any non-negative numbers, normalised to sum to 1):

    score = 100 * sum_i w_i * g_i / sum_i w_i

value_index and feasibility_index are the same weighted mean over their own group, and place a
use case on the value-vs-feasibility matrix; risk_mean is the plain mean of the three 1-5 risk
ratings (privacy, bias/ethics, regulation) and sets its risk level.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Criterion:
    key: str
    group: str  # value | feasibility | risk
    column: str
    low: float
    high: float
    higher_is_better: bool = True
    log_scale: bool = False

    def goodness(self, values: pd.Series | np.ndarray) -> np.ndarray:
        x = np.asarray(values, dtype=float)
        lo, hi = self.low, self.high
        if self.log_scale:
            x, lo, hi = np.log10(np.maximum(x, self.low)), math.log10(lo), math.log10(hi)
        g = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
        return g if self.higher_is_better else 1.0 - g


CRITERIA: tuple[Criterion, ...] = (
    Criterion("market", "value", "market_usd_b", 0.1, 100.0, log_scale=True),  # USD 0.1B .. 100B
    Criterion("growth", "value", "growth_pct", 0.0, 50.0),  # CAGR %
    Criterion("maturity", "feasibility", "technical_maturity", 1, 5),
    Criterion("data", "feasibility", "data_availability", 1, 5),
    Criterion("compute", "feasibility", "compute_intensity", 1, 5, higher_is_better=False),
    Criterion("speed", "feasibility", "time_to_mvp_months", 1, 24, higher_is_better=False),
    Criterion("competition", "risk", "competition", 1, 5, higher_is_better=False),
    Criterion("privacy", "risk", "risk_privacy", 1, 5, higher_is_better=False),
    Criterion("bias", "risk", "risk_bias", 1, 5, higher_is_better=False),
    Criterion("regulation", "risk", "risk_regulation", 1, 5, higher_is_better=False),
)
CRITERION = {c.key: c for c in CRITERIA}
GROUPS = ("value", "feasibility", "risk")
DEFAULT_WEIGHTS: dict[str, int] = {
    "market": 3, "growth": 2, "maturity": 2, "data": 2, "compute": 1, "speed": 1,
    "competition": 1, "privacy": 1, "bias": 1, "regulation": 1,
}
MAX_WEIGHT = 10
RISK_COLUMNS = ("risk_privacy", "risk_bias", "risk_regulation")
RISK_LEVELS = ("low", "medium", "high")

# Columns a user may edit inside a scenario, with their allowed range (None = no upper bound).
EDITABLE: dict[str, tuple[float, float | None]] = {
    "market_usd_b": (0.0, None), "growth_pct": (0.0, 500.0),
    "technical_maturity": (1, 5), "data_availability": (1, 5), "compute_intensity": (1, 5),
    "competition": (1, 5), "time_to_mvp_months": (0.5, 120),
    "risk_privacy": (1, 5), "risk_bias": (1, 5), "risk_regulation": (1, 5),
    "model_params_b": (0.0, None), "training_tokens_b": (0.0, None),
}


class WeightsError(ValueError):
    """Weights that cannot rank anything; `code` names the message (explorer.err.<code>)."""

    def __init__(self, code: str, **params: object):
        super().__init__(f"{code}: {params}" if params else code)
        self.code, self.params = code, params


def normalise_weights(weights: dict[str, float]) -> dict[str, float]:
    """Check and scale the weights to sum to 1. Unknown keys, negative, non-finite or all-zero -> WeightsError."""
    unknown = set(weights) - set(CRITERION)
    if unknown:
        raise WeightsError("weights_unknown", keys=", ".join(sorted(unknown)))
    clean: dict[str, float] = {}
    for key in CRITERION:
        try:
            value = float(weights.get(key, 0.0))
        except (TypeError, ValueError):
            raise WeightsError("weights_not_number", key=key) from None
        if not math.isfinite(value) or value < 0:
            raise WeightsError("weights_negative", key=key)
        clean[key] = value
    total = sum(clean.values())
    if total <= 0:
        raise WeightsError("weights_all_zero")
    return {k: v / total for k, v in clean.items()}


def group_shares(weights: dict[str, float]) -> dict[str, float]:
    """How much of the normalised weight each group (value, feasibility, risk) carries."""
    w = normalise_weights(weights)
    return {g: sum(w[c.key] for c in CRITERIA if c.group == g) for g in GROUPS}


def goodness_matrix(df: pd.DataFrame) -> np.ndarray:
    """(n_use_cases, n_criteria) array of goodness in [0, 1], columns in CRITERIA order."""
    return np.column_stack([c.goodness(df[c.column].to_numpy(dtype=float)) for c in CRITERIA]) if len(df) \
        else np.zeros((0, len(CRITERIA)))


def goodness(df: pd.DataFrame) -> pd.DataFrame:
    """One column g_<criterion> in [0, 1] per criterion."""
    return pd.DataFrame(goodness_matrix(df), columns=[f"g_{c.key}" for c in CRITERIA], index=df.index)


def _group_weights(weights: dict[str, float], group: str) -> np.ndarray:
    w = np.array([weights[c.key] if c.group == group else 0.0 for c in CRITERIA])
    if w.sum() <= 0:  # a group whose weights are all zero still gets a position: equal weights
        w = np.array([1.0 if c.group == group else 0.0 for c in CRITERIA])
    return w / w.sum()


def risk_level(risk_mean: pd.Series | np.ndarray) -> np.ndarray:
    r = np.asarray(risk_mean, dtype=float)
    return np.select([r <= 2.5, r <= 3.5], ["low", "medium"], "high")


def _order(scores: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Indices by score descending, ties by id ascending (deterministic)."""
    return np.lexsort((ids, -np.round(scores, 9)))


def score(df: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """df plus g_* columns, score, value/feasibility indices, risk_mean/level and rank (1 = best)."""
    w = normalise_weights(weights)
    g = goodness_matrix(df)
    scores = g @ np.array([w[c.key] for c in CRITERIA]) * 100.0
    order = _order(scores, df["use_case_id"].to_numpy(dtype=str))
    base = df.iloc[order].reset_index(drop=True)
    g = g[order]
    risk_mean = base[list(RISK_COLUMNS)].to_numpy(dtype=float).mean(axis=1)
    added = {f"g_{c.key}": g[:, j] for j, c in enumerate(CRITERIA)}
    added.update(score=scores[order], value_index=g @ _group_weights(w, "value") * 100.0,
                 feasibility_index=g @ _group_weights(w, "feasibility") * 100.0, risk_mean=risk_mean,
                 risk_level=risk_level(risk_mean), rank=np.arange(1, len(base) + 1))
    # one concat instead of a column insert per criterion (pandas copies on every insert)
    return pd.concat([base.drop(columns=[c for c in added if c in base.columns]), pd.DataFrame(added)], axis=1)


def apply_overrides(df: pd.DataFrame, overrides: dict[str, dict[str, float]]) -> pd.DataFrame:
    """The catalogue with a scenario's edited assumptions applied (the shipped table is untouched).

    Edited market sizes or growth rates get the basis "user"; `edited` lists the changed columns.
    Values must already be validated (core.explore.scenarios.validate_overrides)."""
    out = df.copy()
    out["edited"] = ""
    if not overrides:
        return out
    index = {uid: i for i, uid in enumerate(out["use_case_id"])}
    for uid, fields in overrides.items():
        if uid not in index:
            continue
        i = out.index[index[uid]]
        for col, value in fields.items():
            out.loc[i, col] = float(value)
        if "market_usd_b" in fields:
            out.loc[i, "market_basis"] = "user"
        if "growth_pct" in fields:
            out.loc[i, "growth_basis"] = "user"
        out.loc[i, "edited"] = ", ".join(sorted(fields))
    return out


def evaluate(df: pd.DataFrame, weights: dict[str, float], overrides: dict | None = None) -> pd.DataFrame:
    return score(apply_overrides(df, overrides or {}), weights)


@dataclass(frozen=True)
class Filters:
    domains: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    risk_levels: tuple[str, ...] = ()
    size_min_b: float | None = None
    size_max_b: float | None = None
    text: str = ""

    def active(self) -> bool:
        return bool(self.domains or self.tasks or self.risk_levels or self.text.strip()
                    or self.size_min_b is not None or self.size_max_b is not None)


_SEARCHED = ("name", "name_zh", "description", "description_zh", "domain", "domain_zh", "task", "use_case_id")


def search_text(df: pd.DataFrame) -> pd.Series:
    """The lower-cased text that the search box matches (computed once per catalogue)."""
    cols = [c for c in _SEARCHED if c in df.columns]
    return df[cols].fillna("").astype(str).agg(" ".join, axis=1).str.lower()


def apply_filters(scored: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Rows that match every active filter (an empty selection means "all"). Ranks are kept."""
    mask = pd.Series(True, index=scored.index)
    if f.domains:
        mask &= scored["domain_id"].isin(f.domains)
    if f.tasks:
        mask &= scored["task"].isin(f.tasks)
    if f.risk_levels:
        mask &= scored["risk_level"].isin(f.risk_levels)
    if f.size_min_b is not None:
        mask &= scored["model_params_b"] >= f.size_min_b
    if f.size_max_b is not None:
        mask &= scored["model_params_b"] <= f.size_max_b
    text = f.text.strip().lower()
    if text:
        hay = scored["search_text"] if "search_text" in scored.columns else search_text(scored)
        mask &= hay.str.contains(text, regex=False)
    return scored[mask]


def sensitivity(df: pd.DataFrame, weights: dict[str, float], criterion: str,
                grid: list[float] | None = None) -> pd.DataFrame:
    """How scores and ranks move when one criterion's weight moves from 0 to MAX_WEIGHT, the others fixed.

    Returns long rows (weight, use_case_id, score, rank); a grid point where every weight would be
    zero is skipped."""
    if criterion not in CRITERION:
        raise WeightsError("weights_unknown", keys=criterion)
    grid = list(range(0, MAX_WEIGHT + 1)) if grid is None else grid
    g = goodness_matrix(df)
    ids = df["use_case_id"].to_numpy(dtype=str)
    parts: list[tuple[float, np.ndarray, np.ndarray]] = []
    for value in grid:
        w = np.array([float(value) if c.key == criterion else float(weights.get(c.key, 0)) for c in CRITERIA])
        if w.sum() <= 0:
            continue
        scores = g @ (w / w.sum()) * 100.0
        order = _order(scores, ids)
        parts.append((float(value), order, scores[order]))
    if not parts:
        return pd.DataFrame(columns=["weight", "use_case_id", "score", "rank"])
    n = len(ids)
    return pd.DataFrame({
        "weight": np.repeat([p[0] for p in parts], n),
        "use_case_id": np.concatenate([ids[p[1]] for p in parts]),
        "score": np.concatenate([p[2] for p in parts]),
        "rank": np.tile(np.arange(1, n + 1), len(parts)),
    })


def sensitivity_focus(long: pd.DataFrame, ranked_ids: list[str], top_n: int = 8) -> pd.DataFrame:
    """The lines worth drawing: the current top_n (ranked_ids in today's order) plus every use case
    that reaches the top 3 somewhere on the grid."""
    keep = set(ranked_ids[:top_n]) | set(long.loc[long["rank"] <= 3, "use_case_id"])
    return long[long["use_case_id"].isin(keep)]


def top_pick_by_weight(long: pd.DataFrame) -> pd.DataFrame:
    """From a sensitivity table: the rank-1 use case at every weight on the grid."""
    return long[long["rank"] == 1][["weight", "use_case_id", "score"]].reset_index(drop=True)


def top_pick_runs(long: pd.DataFrame) -> pd.DataFrame:
    """The rank-1 use case as runs of consecutive weights: (from_weight, to_weight, use_case_id)."""
    picks = top_pick_by_weight(long)
    runs: list[dict] = []
    for row in picks.itertuples():
        if runs and runs[-1]["use_case_id"] == row.use_case_id:
            runs[-1]["to_weight"] = row.weight
        else:
            runs.append({"from_weight": row.weight, "to_weight": row.weight, "use_case_id": row.use_case_id})
    return pd.DataFrame(runs, columns=["from_weight", "to_weight", "use_case_id"])


def ranked_table(scored: pd.DataFrame) -> pd.DataFrame:
    """The export: one row per use case with its score, parts, market figures and their basis."""
    cols = {
        "rank": "rank", "use_case_id": "use_case_id", "name": "name", "domain": "domain", "task": "task",
        "score": "score", "value_index": "value_index", "feasibility_index": "feasibility_index",
        "risk_mean": "risk_mean_1_5", "risk_level": "risk_level", "market_usd_b": "market_usd_b",
        "market_basis": "market_basis", "size_low_usd_b": "segment_size_low_usd_b",
        "size_high_usd_b": "segment_size_high_usd_b", "size_sources": "size_sources",
        "growth_pct": "growth_pct", "growth_basis": "growth_basis", "model_params_b": "model_params_b",
        "training_tokens_b": "training_tokens_b", "time_to_mvp_months": "time_to_mvp_months", "edited": "edited",
    }
    present = [c for c in cols if c in scored.columns]
    out = scored[present].rename(columns=cols)
    return out.round({"score": 1, "value_index": 1, "feasibility_index": 1, "risk_mean_1_5": 2,
                      "market_usd_b": 3, "growth_pct": 1})
