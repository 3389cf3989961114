"""Schema migrations (core/migrations): a store made by `main` before migrations existed
(tests/fixtures/store_main_964ceb0.sqlite, made by tests/fixtures/make_store_main_964ceb0.py with
main's own code) upgrades through every revision with every row kept, on SQLite and on
PostgreSQL; downgrading one step works; the newest revision matches the SQLModel classes."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from core import store

FIXTURE = Path(__file__).parent / "fixtures" / "store_main_964ceb0.sqlite"
OWNED = ("scenario", "trainingrun", "modelentry", "evaluation")
COUNTS = {"scenario": 3, "trainingrun": 2, "runmetric": 5, "modelentry": 2, "evaluation": 1,
          "useraccelerator": 1, "usertrainingrun": 1}


def _plain(value):
    """Datetimes as naive UTC: SQLite stores them naive, PostgreSQL as timestamptz."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _rows(engine: sa.Engine, table: str, columns: list[str] | None = None) -> list[dict]:
    meta = sa.MetaData()
    t = sa.Table(table, meta, autoload_with=engine)
    cols = [t.c[c] for c in (columns or [c.name for c in t.columns])]
    with engine.connect() as conn:
        return [{k: _plain(v) for k, v in r._mapping.items()}
                for r in conn.execute(sa.select(*cols).order_by(*t.primary_key.columns))]


def _main_rows() -> dict[str, list[dict]]:
    engine = sa.create_engine(f"sqlite:///{FIXTURE}")
    try:
        return {t: _rows(engine, t) for t in COUNTS}
    finally:
        engine.dispose()


def _fresh(kind: str, tmp_path: Path, request) -> sa.Engine:
    """An engine on a database holding exactly what main made: the fixture file itself (SQLite) or
    the same schema (revision 0001, then forgotten, as create_all left it) and rows (PostgreSQL)."""
    if kind == "sqlite":
        shutil.copy(FIXTURE, tmp_path / "main.db")
        return sa.create_engine(f"sqlite:///{tmp_path / 'main.db'}")
    server = request.getfixturevalue("postgres_server")
    engine = sa.create_engine(server.create_database("opplab_migrations_" + tmp_path.name[-20:].lower()))
    store.migrate(engine, "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")  # main's create_all never made one
        meta = sa.MetaData()
        meta.reflect(conn)
        for table, rows in _main_rows().items():
            if rows:
                conn.execute(meta.tables[table].insert(), rows)
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def main_db(request, tmp_path):
    engine = _fresh(request.param, tmp_path, request)
    yield engine
    engine.dispose()


def test_a_store_made_by_main_upgrades_keeping_every_row_and_gives_them_to_the_local_user(main_db, monkeypatch):
    before = _main_rows()
    assert {t: len(r) for t, r in before.items()} == COUNTS
    assert store.current_revision(main_db) is None  # not under migrations yet
    monkeypatch.setenv("OPPLAB_USER", "founder@example.com")

    assert store.migrate(main_db) == store.head_revision() == "0002"

    for table, rows in before.items():
        after = _rows(main_db, table, list(rows[0]))
        assert after == rows, table  # every row, every value
    for table in OWNED:
        owners = {(r["owner"], r["shared"]) for r in _rows(main_db, table, ["owner", "shared"])}
        assert owners == {("founder@example.com", False)}, table
    assert store.migrate(main_db) == "0002"  # idempotent


def test_downgrade_one_step_drops_only_the_owner_columns_and_upgrade_again_works(main_db):
    store.migrate(main_db)
    before = _main_rows()

    assert store.migrate(main_db, "-1", downgrade=True) == "0001"
    for table in OWNED:
        assert {c["name"] for c in sa.inspect(main_db).get_columns(table)}.isdisjoint({"owner", "shared"})
    for table, rows in before.items():
        assert _rows(main_db, table) == rows, table
    names = {i["name"]: i["unique"] for i in sa.inspect(main_db).get_indexes("scenario")}
    assert names == {"ix_scenario_name": True}  # main's global unique name is back

    assert store.migrate(main_db) == "0002"
    assert len(_rows(main_db, "scenario")) == 3


def test_the_newest_revision_matches_the_sqlmodel_classes(main_db):
    store.migrate(main_db)
    with main_db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == []


def test_revision_0001_is_exactly_the_schema_main_made(tmp_path):
    made = sa.create_engine(f"sqlite:///{FIXTURE}")
    ours = sa.create_engine(f"sqlite:///{tmp_path / 'r1.db'}")
    store.migrate(ours, "0001")

    def shape(engine):
        insp = sa.inspect(engine)
        return {t: ([(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(t)],
                    sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t)),
                    insp.get_pk_constraint(t)["constrained_columns"])
                for t in insp.get_table_names() if t != "alembic_version"}
    try:
        assert shape(ours) == shape(made)
    finally:
        made.dispose()
        ours.dispose()


def test_downgrade_refuses_when_two_owners_have_the_same_scenario_name_and_changes_nothing(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'two.db'}")
    store.migrate(engine)
    with engine.begin() as conn:
        for who in ("ann@example.com", "bob@example.com"):
            conn.execute(sa.text("INSERT INTO scenario (name, owner, shared, payload, notes, created_at, updated_at) "
                                 "VALUES ('Base case', :o, 0, '{}', '', '2026-11-29', '2026-11-29')"), {"o": who})
    with pytest.raises(sa.exc.IntegrityError):
        store.migrate(engine, "-1", downgrade=True)
    assert store.current_revision(engine) == "0002"
    assert len(_rows(engine, "scenario")) == 2
    engine.dispose()
