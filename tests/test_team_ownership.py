"""Ownership enforced in core/ (core/owner.py): each user sees their own scenarios, runs and
models plus what others shared (read-only); an item someone may not see answers exactly like one
that does not exist; admins (OPPLAB_ADMINS) see and manage everything; the CLI acts as --user.
Runs on SQLite and PostgreSQL (tests/conftest.py BOTH_DATABASES)."""
from __future__ import annotations

import json

import pytest
from sqlmodel import delete as sql_delete

from core import owner, store
from core import runs as jobs
from core.explore import scenarios
from core.__main__ import main as cli
from core.lm import loader, registry
from core.explore.scenarios import ScenarioError, ScenarioState

ANN = owner.actor_for("Ann@Example.com")
BOB = owner.actor_for("bob@example.com")


@pytest.fixture(autouse=True)
def empty_store(monkeypatch):
    monkeypatch.setenv("OPPLAB_USER", "local")  # restored after tests that run the CLI with --user
    monkeypatch.delenv("OPPLAB_ADMINS", raising=False)

    def wipe():
        with store.session() as s:
            for table in (store.Scenario, store.RunMetric, store.TrainingRun, store.ModelEntry):
                s.exec(sql_delete(table))
    wipe()
    yield
    wipe()


def _code(fn, *args, **kwargs) -> str:
    with pytest.raises(ScenarioError) as exc:
        fn(*args, **kwargs)
    return exc.value.code


def _run(run_id: str, who: owner.Actor, shared: bool = False) -> None:
    with store.session() as s:
        s.add(store.TrainingRun(id=run_id, owner=who.user, shared=shared, status="finished", step=10, max_steps=10,
                                out_dir=f"/nonexistent/{run_id}", config=store.dumps({"max_iters": 10})))
        s.add(store.RunMetric(run_id=run_id, step=10, train_loss=1.5))


def test_user_ids_are_normalised_and_admins_come_from_settings(monkeypatch):
    assert ANN.user == "ann@example.com" and not ANN.admin
    with pytest.raises(ValueError):
        owner.actor_for("bad\x00user")
    with pytest.raises(ValueError):
        owner.actor_for("   ")
    monkeypatch.setenv("OPPLAB_ADMINS", " Boss@Example.com , other@example.com")
    assert owner.actor_for("boss@example.com").admin
    assert owner.from_claims({"sub": "12345"}).user == "12345"
    assert owner.from_claims({"email": "X@Y.org", "sub": "1"}).user == "x@y.org"
    assert owner.local_actor().user == "local"


def test_an_unshared_scenario_is_invisible_to_others_as_if_it_did_not_exist():
    plan = scenarios.create("Plan", ScenarioState(), actor=ANN)
    assert [r.name for r in scenarios.list_all(actor=BOB)] == []
    assert _code(scenarios.get, plan.id, actor=BOB) == "not_found"
    assert _code(scenarios.get, 987654, actor=BOB) == "not_found"  # the same answer as an unknown id
    assert _code(scenarios.update, plan.id, notes="mine now", actor=BOB) == "not_found"
    assert _code(scenarios.delete, plan.id, actor=BOB) == "not_found"
    assert _code(scenarios.set_shared, plan.id, True, actor=BOB) == "not_found"
    bobs = scenarios.create("plan", ScenarioState(), actor=BOB)  # names are unique per owner only
    assert scenarios.get(plan.id, actor=ANN).notes == "" and bobs.owner == "bob@example.com"
    assert _code(scenarios.create, "PLAN", ScenarioState(), actor=ANN) == "name_taken"


def test_a_shared_scenario_is_read_only_for_others_until_its_owner_takes_it_back():
    plan = scenarios.create("Plan", ScenarioState(view="treemap"), actor=ANN)
    assert scenarios.set_shared(plan.id, True, actor=ANN).shared
    seen = scenarios.get(plan.id, actor=BOB)
    assert (seen.name, seen.owner, seen.state.view) == ("Plan", "ann@example.com", "treemap")
    assert [r.id for r in scenarios.list_all(actor=BOB)] == [plan.id]
    assert _code(scenarios.update, plan.id, notes="x", actor=BOB) == "read_only"
    assert _code(scenarios.rename, plan.id, "Mine", actor=BOB) == "read_only"
    assert _code(scenarios.delete, plan.id, actor=BOB) == "read_only"
    assert _code(scenarios.set_shared, plan.id, False, actor=BOB) == "read_only"
    assert scenarios.get(plan.id, actor=ANN).notes == ""
    scenarios.set_shared(plan.id, False, actor=ANN)
    assert _code(scenarios.get, plan.id, actor=BOB) == "not_found"


def test_admins_see_and_manage_everyones_scenarios(monkeypatch):
    plan = scenarios.create("Plan", ScenarioState(), actor=ANN)
    scenarios.create("Other", ScenarioState(), actor=BOB)
    monkeypatch.setenv("OPPLAB_ADMINS", "boss@example.com")
    boss = owner.actor_for("boss@example.com")
    assert sorted(r.name for r in scenarios.list_all(actor=boss)) == ["Other", "Plan"]
    assert scenarios.rename(plan.id, "Plan (reviewed)", actor=boss).owner == "ann@example.com"  # stays Ann's
    scenarios.delete(plan.id, actor=boss)
    assert scenarios.list_all(actor=ANN) == []


def test_runs_and_their_curves_are_scoped_by_owner_and_shared_runs_are_read_only():
    _run("run-ann", ANN)
    _run("run-bob", BOB)
    assert [r.id for r in jobs.list_runs(actor=BOB)] == ["run-bob"]
    for action in (lambda: jobs.get_run("run-ann", actor=BOB), lambda: jobs.run_metrics("run-ann", actor=BOB),
                   lambda: jobs.request_stop("run-ann", actor=BOB), lambda: jobs.resume_run("run-ann", actor=BOB),
                   lambda: jobs.set_shared("run-ann", True, actor=BOB),
                   lambda: jobs.register_run_model("run-ann", "stolen", actor=BOB)):
        with pytest.raises(jobs.JobError, match="no training run 'run-ann'"):
            action()
    assert jobs.set_shared("run-ann", True, actor=ANN).shared
    assert jobs.get_run("run-ann", actor=BOB).owner == "ann@example.com"
    assert [p["train_loss"] for p in jobs.run_metrics("run-ann", actor=BOB)] == [1.5]
    assert sorted(r.id for r in jobs.list_runs(actor=BOB)) == ["run-ann", "run-bob"]
    for action in (lambda: jobs.resume_run("run-ann", actor=BOB), lambda: jobs.set_shared("run-ann", False, actor=BOB),
                   lambda: jobs.register_run_model("run-ann", "stolen", actor=BOB)):
        with pytest.raises(jobs.JobError, match="read-only"):
            action()


def test_registered_models_are_scoped_and_an_id_cannot_be_taken_over(tmp_path):
    registry.register_model("ann-sentiment", task="sentiment", base="", path=tmp_path, actor=ANN)
    assert "ann-sentiment" not in [m.id for m in registry.list_models(actor=BOB)]
    with pytest.raises(KeyError):
        registry.get_model("ann-sentiment", actor=BOB)
    with pytest.raises(loader.ModelLoadError, match="unknown model"):
        loader.resolve("ann-sentiment", actor=BOB)
    with pytest.raises(ValueError, match="taken"):
        registry.register_model("ann-sentiment", task="sentiment", base="", path="/elsewhere", actor=BOB)
    assert registry.unregister_model("ann-sentiment", actor=BOB) is False
    registry.set_shared("ann-sentiment", True, actor=ANN)
    assert registry.get_model("ann-sentiment", actor=BOB).path == tmp_path
    with pytest.raises(ValueError, match="read-only"):
        registry.unregister_model("ann-sentiment", actor=BOB)
    assert registry.unregister_model("ann-sentiment", actor=ANN) is True


def test_the_cli_acts_as_the_user_named_by_user(capsys):
    plan = scenarios.create("Ann's plan", ScenarioState(), actor=ANN)
    _run("run-ann", ANN)
    assert cli(["--user", "bob@example.com", "explore", "--list-scenarios", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli(["explore", "--scenario", "Ann's plan", "--user=bob@example.com"]) == 2
    assert "no scenario named" in capsys.readouterr().err
    assert cli(["--user", "bob@example.com", "runs", "show", "run-ann"]) == 2
    assert "no training run 'run-ann'" in capsys.readouterr().err
    assert cli(["--user", "ann@example.com", "runs", "share", "run-ann", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["shared"] is True
    assert cli(["--user", "bob@example.com", "runs", "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["run-ann"]
    assert cli(["--user", "ann@example.com", "explore", "--list-scenarios", "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [plan.id]
    assert cli(["--user", "bad\x01name", "runs"]) == 2
