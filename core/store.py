"""The user store: SQLModel tables, one cached engine, a new session per action.

SQLite by default (WAL mode, busy timeout, so the app, training processes and CLI can write side
by side); any SQLAlchemy URL works through DATABASE_URL (PostgreSQL for team deployments).
Tables hold JSON text for flexible payloads so that the schema works on every backend.

The schema is versioned with Alembic (core/migrations/versions, one file per revision; the
classes below must match the newest). `migrate` upgrades a database to the newest revision; the
first engine of a process calls it, so set-up, the app, the CLI and training processes all find
the schema they expect. A database made before migrations existed (tables, no `alembic_version`)
is stamped at revision 0001 first. Scenarios, training runs, models and evaluations carry `owner`
and `shared` (revision 0002); core/owner.py says who may see and change what.
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Index, event, inspect, make_url
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Field, Session, SQLModel, create_engine

from core.config import REPO_ROOT, get_settings

MIGRATIONS_DIR = REPO_ROOT / "core" / "migrations"
OWNER_MAX = 254


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------- explorer
class Scenario(SQLModel, table=True):
    """A saved explorer state: weights, filters, selected use cases, edited assumptions, notes."""

    __table_args__ = (Index("ux_scenario_owner_name", "owner", "name", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=120)  # unique per owner (case-insensitively, checked in core.explore.scenarios)
    owner: str = Field(default="local", index=True, max_length=OWNER_MAX)
    shared: bool = False
    payload: str = "{}"  # JSON: {"weights": {...}, "filters": {...}, "selected": [...], "overrides": {...}, "view": ...}
    notes: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- training studio / engine
class TrainingRun(SQLModel, table=True):
    """One training job. Its process writes step/status; the page polls; stop is a flag."""

    id: str = Field(primary_key=True, max_length=64)
    owner: str = Field(default="local", index=True, max_length=OWNER_MAX)
    shared: bool = False
    kind: str = "scratch"  # scratch | finetune
    status: str = "queued"  # queued | running | stopping | stopped | finished | failed
    config: str = "{}"  # JSON of the full training config (the CLI arguments)
    out_dir: str = ""
    pid: int | None = None
    step: int = 0
    max_steps: int = 0
    stop_requested: bool = False
    error: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RunMetric(SQLModel, table=True):
    """A point on a run's curves: train loss every log step, val loss and a sample at each eval."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, max_length=64)
    step: int
    train_loss: float | None = None
    val_loss: float | None = None
    tokens_per_second: float | None = None
    learning_rate: float | None = None
    wall_seconds: float | None = None
    sample: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ModelEntry(SQLModel, table=True):
    """The model registry: what the demo pages can pick."""

    id: str = Field(primary_key=True, max_length=120)
    owner: str = Field(default="local", index=True, max_length=OWNER_MAX)
    shared: bool = False
    task: str = "generation"  # generation | qa | translation | sentiment
    base: str = ""
    path: str = ""
    metrics: str = "{}"  # JSON, measured on held-out data
    card: str = "{}"  # JSON data card: data, licence, split, steps, command
    run_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Evaluation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    model_id: str = Field(index=True, max_length=120)
    owner: str = Field(default="local", index=True, max_length=OWNER_MAX)
    shared: bool = False
    task: str
    data_path: str = ""
    metrics: str = "{}"
    command: str = ""
    created_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- estimate (user additions to the catalogue)
class UserAccelerator(SQLModel, table=True):
    """An accelerator the user added; estimates and sweeps include it next to the shipped ones."""

    accelerator_id: str = Field(primary_key=True, max_length=64)  # always starts with "user_"
    name: str = Field(max_length=120)
    bf16_tflops_dense: float
    memory_gib: float
    bandwidth_tbs: float
    board_power_w: float | None = None
    usd_per_accelerator_hour: float | None = None
    source: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class UserTrainingRun(SQLModel, table=True):
    """A training run the user added; the validation table includes it."""

    run_id: str = Field(primary_key=True, max_length=64)  # always starts with "user_"
    model: str = Field(max_length=120)
    params_b: float
    tokens_b: float
    accelerator_id: str = Field(max_length=64)
    accelerator_count: int | None = None
    reported_accelerator_hours: float | None = None
    reported_days: float | None = None
    reported_mfu: float | None = None
    reported_tokens_per_s_per_accelerator: float | None = None
    source: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


# ---------------------------------------------------------------- engine and sessions
_engines: dict[str, Engine] = {}
_engine_lock = threading.Lock()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _alembic_config(connection: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """One migrating process at a time (the app, the CLI and training processes start together)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(724311)")
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(724311)")
                conn.commit()
    elif engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        import fcntl

        with open(f"{engine.url.database}.migrate.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    else:
        yield


def migrate(engine: Engine, revision: str = "head", downgrade: bool = False) -> str | None:
    """Upgrade (or downgrade) the database to `revision`; returns the revision it is at after.

    A database made before migrations (it has the `scenario` table but no `alembic_version`) is
    stamped at 0001, the schema `create_all` made then, and upgraded from there."""
    from alembic import command

    with _migration_lock(engine):
        if not downgrade and revision == "head" and current_revision(engine) == head_revision():
            return head_revision()  # the common case: nothing to do, no script runs
        with engine.begin() as conn:
            cfg = _alembic_config(conn)
            tables = set(inspect(conn).get_table_names())
            if "scenario" in tables and "alembic_version" not in tables:
                command.stamp(cfg, "0001")
            (command.downgrade if downgrade else command.upgrade)(cfg, revision)
    return current_revision(engine)


def get_engine() -> Engine:
    """One engine per DATABASE_URL per process; the schema is upgraded on first use."""
    url = get_settings().database_url
    with _engine_lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True)
            migrate(engine)
            _engines[url] = engine
        return engine


class StoreUnavailable(RuntimeError):
    """The database cannot be reached or opened; the message is meant for the user (no password)."""


def _unavailable(exc: BaseException) -> StoreUnavailable:
    url = make_url(get_settings().database_url).render_as_string(hide_password=True)
    reason = getattr(exc, "orig", None) or exc
    detail = " ".join(str(reason).split())  # one line, also for the CLI
    return StoreUnavailable(f"the database {url} cannot be used ({type(reason).__name__}: {detail}); "
                            "check DATABASE_URL and that its directory exists and is writable")


@contextmanager
def session() -> Iterator[Session]:
    """A new session per action; commits on success, rolls back on error. A database that cannot
    be reached or opened raises StoreUnavailable (the next action tries again)."""
    try:
        engine = get_engine()
    except (OperationalError, OSError) as exc:
        raise _unavailable(exc) from exc
    with Session(engine, expire_on_commit=False) as s:
        try:
            yield s
            s.commit()
        except OperationalError as exc:
            s.rollback()
            raise _unavailable(exc) from exc
        except Exception:
            s.rollback()
            raise


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def loads(text: str | None, default: Any = None) -> Any:
    if not text:
        return default
    return json.loads(text)
