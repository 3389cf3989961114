"""The reference catalogue: a DuckDB file built from data/*.csv.

Every CSV in the data directory becomes a table of the same name (file stem). The file is built
on first use and rebuilt when any CSV changes (a fingerprint of names, sizes and contents is kept
in the table `_catalog_meta`). It is built into a temporary file and moved into place, so readers
never see a half-built catalogue. Readers open it read-only: one connection per process, a
`.cursor()` per call (a DuckDB connection shared across threads returns wrong results).
Only parameterised SQL: values are always bound with `?`, never formatted into the text.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any, Sequence

import duckdb
import pandas as pd

from core.config import get_settings

_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_lock = threading.Lock()
_conn: duckdb.DuckDBPyConnection | None = None
_conn_key: tuple[str, str] | None = None


def csv_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.glob("*.csv") if _TABLE_NAME.match(p.stem))


def fingerprint(data_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in csv_files(data_dir):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _stored_fingerprint(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            row = con.execute("SELECT value FROM _catalog_meta WHERE key = ?", ["fingerprint"]).fetchone()
            return row[0] if row else None
    except duckdb.Error:
        return None


def build(data_dir: Path, path: Path) -> str:
    """Build the catalogue from every CSV in data_dir into path; returns the fingerprint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    fp = fingerprint(data_dir)
    with duckdb.connect(str(tmp)) as con:
        for csv in csv_files(data_dir):
            # The table name is checked against _TABLE_NAME above; the path is a bound parameter.
            con.execute(
                f'CREATE TABLE "{csv.stem}" AS SELECT * FROM read_csv(?, header = true, auto_detect = true, sample_size = -1)',
                [str(csv)],
            )
        con.execute("CREATE TABLE _catalog_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute("INSERT INTO _catalog_meta VALUES (?, ?)", ["fingerprint", fp])
    os.replace(tmp, path)
    return fp


def ensure_built() -> Path:
    """Build or rebuild the catalogue file if the CSVs changed; return its path."""
    settings = get_settings()
    path = settings.catalog_path
    if _stored_fingerprint(path) != fingerprint(settings.data_dir):
        build(settings.data_dir, path)
    return path


def _stat_key(data_dir: Path) -> tuple:
    """Cheap change detector (names, sizes, mtimes) so a query does not hash every CSV."""
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in csv_files(data_dir))


def data_version() -> tuple:
    """A value that changes whenever a catalogue CSV changes (for callers that memoise)."""
    return _stat_key(get_settings().data_dir)


def _connection() -> duckdb.DuckDBPyConnection:
    global _conn, _conn_key
    settings = get_settings()
    key = (str(settings.data_dir), str(settings.catalog_path), _stat_key(settings.data_dir))
    with _lock:
        if _conn is not None and _conn_key == key:
            return _conn
        if _conn is not None:
            _conn.close()
        path = ensure_built()
        _conn = duckdb.connect(str(path), read_only=True)
        _conn_key = key
        return _conn


def query(sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
    """Run one parameterised query on a fresh cursor and return a DataFrame."""
    cur = _connection().cursor()
    try:
        return cur.execute(sql, params or []).df()
    finally:
        cur.close()


def table(name: str) -> pd.DataFrame:
    """A whole catalogue table by name (checked against the tables that exist)."""
    if name not in tables():
        raise KeyError(f"no catalogue table {name!r}")
    return query(f'SELECT * FROM "{name}"')


def tables() -> list[str]:
    df = query("SELECT table_name FROM information_schema.tables WHERE table_name <> '_catalog_meta' ORDER BY 1")
    return df["table_name"].tolist()


def reset() -> None:
    """Close the process connection (tests switch data directories)."""
    global _conn, _conn_key
    with _lock:
        if _conn is not None:
            _conn.close()
        _conn, _conn_key = None, None
