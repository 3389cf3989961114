"""The skeleton: settings, catalogue, store, i18n, CLI dispatch."""
from __future__ import annotations

import subprocess
import sys

import pytest

from core import catalog, i18n, store
from core.config import get_settings
from core.nav import PAGES
from tests.conftest import ROOT


def test_settings_come_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("OPPLAB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("OPPLAB_MAX_UPLOAD_MB", "5")
    monkeypatch.delenv("DATABASE_URL")
    s = get_settings()
    assert s.catalog_path == tmp_path / "catalog.duckdb"
    assert s.database_url == f"sqlite:///{tmp_path / 'opplab.db'}"
    assert s.max_upload_bytes == 5 * 1024 * 1024


def test_bad_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("OPPLAB_MAX_UPLOAD_MB", "lots")
    with pytest.raises(ValueError, match="OPPLAB_MAX_UPLOAD_MB must be an integer"):
        get_settings()


def test_catalogue_builds_from_csvs_and_rebuilds_when_one_changes(monkeypatch, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "things.csv").write_text("name,value\na,1\nb,2\n")
    monkeypatch.setenv("OPPLAB_DATA_DIR", str(data))
    monkeypatch.setenv("OPPLAB_CATALOG_PATH", str(tmp_path / "c.duckdb"))
    catalog.reset()
    try:
        assert catalog.query("SELECT sum(value) AS s FROM things WHERE name <> ?", ["zzz"])["s"][0] == 3
        (data / "things.csv").write_text("name,value\na,1\nb,2\nc,10\n")
        assert catalog.query("SELECT count(*) AS n FROM things")["n"][0] == 3
        assert catalog.tables() == ["things"]
        with pytest.raises(KeyError):
            catalog.table("things; DROP TABLE things")
    finally:
        catalog.reset()


def test_catalogue_parameters_are_bound_not_formatted(monkeypatch, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "things.csv").write_text("name,value\na,1\n")
    monkeypatch.setenv("OPPLAB_DATA_DIR", str(data))
    monkeypatch.setenv("OPPLAB_CATALOG_PATH", str(tmp_path / "c.duckdb"))
    catalog.reset()
    try:
        hostile = "a' OR '1'='1"
        assert catalog.query("SELECT * FROM things WHERE name = ?", [hostile]).empty
    finally:
        catalog.reset()


def test_store_uses_wal_and_round_trips_a_scenario():
    from sqlalchemy import text

    with store.session() as s:
        s.add(store.Scenario(name="foundation-test", payload=store.dumps({"w": 1}), notes="n"))
    with store.session() as s:
        got = s.get(store.Scenario, 1) or s.exec(__import__("sqlmodel").select(store.Scenario)).first()
        assert store.loads(got.payload) == {"w": 1}
        assert s.exec(text("PRAGMA journal_mode")).one()[0] == "wal"


def test_every_ui_string_has_english_and_chinese():
    assert i18n.missing("en") == []
    assert i18n.missing("zh") == []
    for spec in PAGES:
        assert i18n.t(spec.title_key, "zh") != spec.title_key
        assert i18n.t(spec.title_key + ".help", "en") != spec.title_key + ".help"


def test_i18n_falls_back_and_formats():
    assert i18n.t("no.such.key", "zh") == "no.such.key"
    assert i18n.t("nav.home", "xx") == "Home"
    assert i18n.t("nav.home", "zh") == "首页"


def test_cli_unknown_command_exits_2():
    r = subprocess.run([sys.executable, "-m", "core", "nonsense"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2
    assert "unknown command" in r.stderr


def test_the_configuration_doc_lists_every_variable_that_core_config_reads():
    """docs/configuration.md's table is core.config.VARIABLES, row for row; no module reads an
    OPPLAB_ variable that is not in it."""
    import re
    import subprocess

    from core.config import VARIABLES

    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = [tuple(c.strip() for c in line.strip("|").split("|")) for line in doc.splitlines()
            if line.startswith("| `")]
    assert rows == [(f"`{v.name}`", v.default, v.meaning) for v in VARIABLES]
    read = set(re.findall(r"OPPLAB_[A-Z_]+", subprocess.run(
        ["grep", "-rhoE", r"environ(\.get)?\(?\[?\"OPPLAB_[A-Z_]+", "core", "pages", "app.py"],
        cwd=ROOT, capture_output=True, text=True).stdout))
    assert read <= {v.name for v in VARIABLES}, read - {v.name for v in VARIABLES}
