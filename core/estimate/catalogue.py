"""The estimator's reference data: shipped catalogue tables (DuckDB) plus the user's additions (store).

Shipped: data/accelerators.csv, data/accelerator_prices.csv, data/training_runs.csv,
data/model_presets.csv (every row with source_url + source_date). User additions live in the store
(UserAccelerator, UserTrainingRun), never in the shipped CSVs. Every read here is parameterised.
"""
from __future__ import annotations

import functools
import re
import threading
import time
from dataclasses import dataclass

import duckdb
import pandas as pd
from sqlmodel import select

from core import catalog, store
from core.config import get_settings
from core.estimate.architecture import Architecture
from core.estimate.inputs import UserAcceleratorInput, UserRunInput
from core.estimate.training import chinchilla_optimal_tokens

ACCELERATOR_COLUMNS = ["accelerator_id", "name", "bf16_tflops_dense", "memory_gib", "bandwidth_tbs",
                       "board_power_w", "usd_per_accelerator_hour", "price_provider", "price_kind", "source_url",
                       "source_date", "user_added"]

# The cheapest on-demand price per accelerator; capacity-block prices only where no on-demand one exists.
_ACCELERATORS_SQL = """
WITH ranked AS (
    SELECT accelerator_id, provider, pricing, usd_per_accelerator_hour,
           row_number() OVER (PARTITION BY accelerator_id
                              ORDER BY (pricing = 'on-demand') DESC, usd_per_accelerator_hour) AS rk
    FROM accelerator_prices
)
SELECT a.accelerator_id, a.name, a.bf16_tflops_dense::DOUBLE AS bf16_tflops_dense,
       a.memory_gib::DOUBLE AS memory_gib, a.bandwidth_tbs::DOUBLE AS bandwidth_tbs,
       a.board_power_w::DOUBLE AS board_power_w,
       r.usd_per_accelerator_hour::DOUBLE AS usd_per_accelerator_hour, r.provider AS price_provider,
       r.pricing AS price_kind,
       a.source_url, a.source_date::VARCHAR AS source_date, false AS user_added
FROM accelerators a LEFT JOIN ranked r ON r.accelerator_id = a.accelerator_id AND r.rk = 1
ORDER BY a.bf16_tflops_dense DESC
"""


CACHE_TTL_S = 30.0  # other processes sharing the store (team deployments) are seen within this delay
_cache: dict[tuple, object] = {}
_cache_lock = threading.Lock()
_local_version = 0  # bumped by every write in this process, so the writer sees its change at once


def _data_key() -> tuple:
    """Changes when a catalogue CSV changes, this process writes to the store, or the TTL turns over."""
    return (catalog.data_version(), get_settings().database_url, _local_version,
            int(time.monotonic() // CACHE_TTL_S))


def cached(fn):
    """Memoise a reference-data read for the current data key; DataFrames come back as copies."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        key = (fn.__qualname__, args, tuple(sorted(kwargs.items())), _data_key())
        with _cache_lock:
            hit = _cache.get(key, _cache)
        if hit is _cache:
            hit = fn(*args, **kwargs)
            with _cache_lock:
                if len(_cache) > 256:
                    _cache.clear()
                _cache[key] = hit
        return hit.copy() if isinstance(hit, pd.DataFrame) else hit
    return wrapper


def invalidate() -> None:
    global _local_version
    with _cache_lock:
        _local_version += 1
        _cache.clear()


@dataclass(frozen=True)
class Accelerator:
    accelerator_id: str
    name: str
    bf16_tflops_dense: float
    memory_gib: float
    bandwidth_tbs: float
    board_power_w: float | None
    usd_per_accelerator_hour: float | None
    price_provider: str | None
    price_kind: str | None
    user_added: bool


def _none_if_nan(value):
    return None if value is None or (isinstance(value, float) and value != value) else value


@cached
def shipped_accelerators() -> pd.DataFrame:
    return catalog.query(_ACCELERATORS_SQL)


@cached
def user_accelerators() -> pd.DataFrame:
    with store.session() as s:
        rows = s.exec(select(store.UserAccelerator).order_by(store.UserAccelerator.created_at)).all()
    return pd.DataFrame(
        [{"accelerator_id": r.accelerator_id, "name": r.name, "bf16_tflops_dense": r.bf16_tflops_dense,
          "memory_gib": r.memory_gib, "bandwidth_tbs": r.bandwidth_tbs, "board_power_w": r.board_power_w,
          "usd_per_accelerator_hour": r.usd_per_accelerator_hour, "price_provider": "user",
          "price_kind": "user" if r.usd_per_accelerator_hour is not None else None,
          "source_url": r.source, "source_date": r.created_at.date().isoformat(), "user_added": True}
         for r in rows],
        columns=ACCELERATOR_COLUMNS,
    )


@cached
def accelerators() -> pd.DataFrame:
    """Shipped and user accelerators, one row each, with the price the estimates use."""
    user = user_accelerators()
    frames = [shipped_accelerators()] + ([user] if not user.empty else [])
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return df[ACCELERATOR_COLUMNS]


def _accelerator_from_row(r) -> Accelerator:
    return Accelerator(
        accelerator_id=r.accelerator_id, name=r.name, bf16_tflops_dense=float(r.bf16_tflops_dense),
        memory_gib=float(r.memory_gib), bandwidth_tbs=float(r.bandwidth_tbs),
        board_power_w=_none_if_nan(r.board_power_w), usd_per_accelerator_hour=_none_if_nan(r.usd_per_accelerator_hour),
        price_provider=_none_if_nan(r.price_provider), price_kind=_none_if_nan(r.price_kind),
        user_added=bool(r.user_added),
    )


@cached
def accelerator_list() -> tuple[Accelerator, ...]:
    """Every accelerator as an immutable record, in the catalogue's order."""
    return tuple(_accelerator_from_row(r) for r in accelerators().itertuples(index=False))


def accelerator(accelerator_id: str, table: pd.DataFrame | None = None) -> Accelerator:
    rows = accelerator_list() if table is None else tuple(_accelerator_from_row(r) for r in table.itertuples(index=False))
    for acc in rows:
        if acc.accelerator_id == accelerator_id:
            return acc
    raise KeyError(f"unknown accelerator {accelerator_id!r} (see `python -m core estimate accelerators`)")


def prices(accelerator_id: str | None = None) -> pd.DataFrame:
    sql = "SELECT * FROM accelerator_prices"
    if accelerator_id is None:
        return catalog.query(sql + " ORDER BY accelerator_id, usd_per_accelerator_hour")
    return catalog.query(sql + " WHERE accelerator_id = ? ORDER BY usd_per_accelerator_hour", [accelerator_id])


RUN_COLUMNS = ["run_id", "model", "params_b", "tokens_b", "accelerator_id", "accelerator_count",
               "activation_recompute", "reported_flops", "reported_accelerator_hours", "reported_days",
               "reported_mfu", "reported_tokens_per_s_per_accelerator", "reported_tflops_per_accelerator",
               "source_url", "source_date", "notes", "user_added"]


@cached
def training_runs() -> pd.DataFrame:
    """Published runs (shipped) followed by the user's own runs."""
    shipped = catalog.query("SELECT *, false AS user_added FROM training_runs ORDER BY year, params_b")
    with store.session() as s:
        rows = s.exec(select(store.UserTrainingRun).order_by(store.UserTrainingRun.created_at)).all()
    user = pd.DataFrame(
        [{"run_id": r.run_id, "model": r.model, "params_b": r.params_b, "tokens_b": r.tokens_b,
          "accelerator_id": r.accelerator_id, "accelerator_count": r.accelerator_count,
          "activation_recompute": False, "reported_flops": None,
          "reported_accelerator_hours": r.reported_accelerator_hours, "reported_days": r.reported_days,
          "reported_mfu": r.reported_mfu, "reported_tokens_per_s_per_accelerator": r.reported_tokens_per_s_per_accelerator,
          "reported_tflops_per_accelerator": None, "source_url": r.source,
          "source_date": r.created_at.date().isoformat(), "notes": "added by you", "user_added": True}
         for r in rows],
        columns=RUN_COLUMNS,
    )
    shipped = shipped[RUN_COLUMNS]
    return pd.concat([shipped, user], ignore_index=True) if not user.empty else shipped


@cached
def presets() -> pd.DataFrame:
    return catalog.query("SELECT * FROM model_presets ORDER BY params_b")


@cached
def preset(preset_id: str) -> Architecture:
    df = catalog.query("SELECT * FROM model_presets WHERE preset_id = ?", [preset_id])
    if df.empty:
        raise KeyError(f"unknown model preset {preset_id!r}")
    r = df.iloc[0]
    return Architecture(
        name=str(r["name"]), layers=int(r.layers), hidden=int(r.hidden), heads=int(r.heads),
        kv_heads=int(r.kv_heads), ffn_hidden=int(r.ffn_hidden), vocab=int(r.vocab), context=int(r.context),
        gated_mlp=bool(r.gated_mlp), tied_embeddings=bool(r.tied_embeddings), params=float(r.params_b) * 1e9,
    )


@cached
def use_cases() -> pd.DataFrame:
    """The explorer's use cases (id, name, task, model size, tokens), empty until that table exists."""
    wanted = ["use_case_id", "name", "task", "model_params_b", "training_tokens_b"]
    try:
        df = catalog.query("SELECT use_case_id, name, task, model_params_b, training_tokens_b FROM use_cases")
    except duckdb.Error:  # the explorer's table is absent or has other columns
        return pd.DataFrame(columns=wanted)
    df["model_params_b"] = pd.to_numeric(df["model_params_b"], errors="coerce")
    df["training_tokens_b"] = pd.to_numeric(df["training_tokens_b"], errors="coerce")
    return df.dropna(subset=["model_params_b"]).reset_index(drop=True)


def use_case(use_case_id: str) -> dict | None:
    df = use_cases()
    row = df[df["use_case_id"].astype(str) == str(use_case_id)]
    return None if row.empty else row.iloc[0].to_dict()


def use_case_sizes(use_case_id: str) -> tuple[float, float] | None:
    """(parameters, training tokens) in billions for a use case; tokens default to Chinchilla's 20·N."""
    uc = use_case(use_case_id)
    if uc is None:
        return None
    params_b, tokens_b = float(uc["model_params_b"]), _none_if_nan(uc["training_tokens_b"])
    if tokens_b is None or not tokens_b > 0:
        tokens_b = chinchilla_optimal_tokens(params_b * 1e9) / 1e9
    return params_b, float(tokens_b)


def _slug(text: str) -> str:
    return "user_" + (re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:50] or "item")


def _insert_user_row(table, item_id: str, label: str, **row) -> str:
    """Insert one user row under item_id, refusing a duplicate; invalidates the cache."""
    with store.session() as s:
        if s.get(table, item_id) is not None:
            raise ValueError(f"{label} already exists")
        s.add(table(**row))
    invalidate()
    return item_id


def add_user_accelerator(data: UserAcceleratorInput) -> str:
    """Store a user accelerator; returns its id (user_<slug>). Refuses a duplicate name."""
    accelerator_id = _slug(data.name)
    return _insert_user_row(store.UserAccelerator, accelerator_id, f"an accelerator named {data.name!r}",
                            accelerator_id=accelerator_id, **data.model_dump())


def add_user_training_run(data: UserRunInput) -> str:
    """Store a user training run (its accelerator must exist); returns its id (user_<slug>)."""
    if data.accelerator_id not in set(accelerators()["accelerator_id"]):
        raise ValueError(f"unknown accelerator {data.accelerator_id!r}")
    run_id = _slug(data.model)
    return _insert_user_row(store.UserTrainingRun, run_id, f"a run named {data.model!r}",
                            run_id=run_id, **data.model_dump())


def delete_user_item(item_id: str) -> bool:
    """Delete a user accelerator or run by id; shipped rows cannot be deleted."""
    if not item_id.startswith("user_"):
        return False
    with store.session() as s:
        for table in (store.UserAccelerator, store.UserTrainingRun):
            row = s.get(table, item_id)
            if row is not None:
                s.delete(row)
                invalidate()
                return True
    return False
