"""python -m core explore: the Explorer's ranking from the command line."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from core.explore import data as explorer_data
from core.explore import market, scenarios
from core.cli import explore
from core.explore.scenarios import ScenarioState
from tests.conftest import ROOT
from tests.test_explorer_scenarios import empty_store  # noqa: F401  (autouse: an empty Scenario table)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = explore.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_default_ranking_matches_the_explorer(capsys):
    code, out, _ = run(capsys, "--json", "--top", "5")
    assert code == 0
    result = json.loads(out)
    expected = market.score(explorer_data.catalogue(), market.DEFAULT_WEIGHTS)["use_case_id"].head(5).tolist()
    assert [r["use_case_id"] for r in result["rows"]] == expected
    assert result["matches"] == len(explorer_data.catalogue())
    assert sum(result["weights"].values()) == pytest.approx(1.0)


def test_weights_and_filters_narrow_and_reorder(capsys, tmp_path):
    csv = tmp_path / "rank.csv"
    code, out, _ = run(capsys, "--weight", "regulation=10", "--domain", "finance", "--domain", "medical",
                       "--risk", "high", "--csv", str(csv))
    assert code == 0 and "use cases match" in out
    table = pd.read_csv(csv)
    assert set(table["domain"]) <= {"Financial risk control", "Medical diagnosis"}
    assert set(table["risk_level"]) == {"high"}
    assert table["score"].is_monotonic_decreasing


def test_a_saved_scenario_supplies_weights_filters_and_edited_assumptions(capsys):
    scenarios.create("Cars", ScenarioState(filters={"domains": ["driving"]},
                                           overrides={"robotaxi": {"market_usd_b": 99.0}}))
    code, out, _ = run(capsys, "--scenario", "cars", "--json")
    rows = json.loads(out)["rows"]
    assert {r["domain"] for r in rows} == {"Autonomous driving"}
    robotaxi = next(r for r in rows if r["use_case_id"] == "robotaxi")
    assert robotaxi["market_usd_b"] == 99.0 and robotaxi["market_basis"] == "user"
    code, out, _ = run(capsys, "--list-scenarios")
    assert code == 0 and "Cars" in out


def test_bad_input_exits_2_with_a_message(capsys):
    assert run(capsys, "--weight", "charisma=3")[0] == 2
    zero = [a for k in market.CRITERION for a in ("--weight", f"{k}=0")]
    code, _, err = run(capsys, *zero)
    assert code == 2 and "weights_all_zero" in err and "at least one --weight" in err
    code, _, err = run(capsys, "--search", "no such opportunity")
    assert code == 2 and "no use case matches" in err
    code, _, err = run(capsys, "--scenario", "missing")
    assert code == 2 and "no scenario named" in err
    assert run(capsys, "--weight", "market=11")[0] == 2


def test_the_command_is_registered_in_the_cli():
    r = subprocess.run([sys.executable, "-m", "core", "explore", "--top", "3"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len([line for line in r.stdout.splitlines() if "USD" in line]) == 3
