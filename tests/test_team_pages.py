"""Sign-in and ownership in the pages (AppTest; SQLite and PostgreSQL). With an [auth] section a
signed-out visitor gets only the sign-in button and a signed-in user acts as their e-mail;
without one the app is the single-user local tool, whatever st.user holds."""
from __future__ import annotations

import sys

import pytest
from sqlmodel import delete as sql_delete
from streamlit.testing.v1 import AppTest

from core import owner, store
from core.explore import scenarios
from core.explore.scenarios import ScenarioState
from tests.conftest import ROOT

ANN, BOB = "ann@example.com", "bob@example.com"
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-cookie-secret-0123456789abcdef",
        "client_id": "opplab", "client_secret": "test-client-secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


@pytest.fixture(autouse=True)
def empty_store():
    def wipe():
        with store.session() as s:
            for table in (store.Scenario, store.RunMetric, store.TrainingRun):
                s.exec(sql_delete(table))
    wipe()
    yield
    wipe()


def open_page(path: str, user: str | None, signed_in: bool = True, auth: bool = True, **params) -> AppTest:
    # AppTest starts each app in "pages/ directory" mode and runs the page itself; pages/_shared.py
    # leaves that mode (rerunning app.py, where the sign-in gate and the account sidebar live) only
    # when it is first imported. Forget the page helpers so every run here goes through app.py.
    for name in [m for m in sys.modules if m.startswith("pages.")]:
        del sys.modules[name]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = "en"
    for key, value in params.items():
        at.query_params[key] = value
    if auth:
        at.secrets["auth"] = dict(AUTH)
    at.user = {"is_logged_in": signed_in, **({"email": user} if user else {})}
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    return " ".join(str(e.value) for root in (at, at.sidebar)
                    for kind in ("markdown", "caption", "info", "warning", "error", "text", "title")
                    for e in getattr(root, kind))


def _run(run_id: str, who: str) -> None:
    with store.session() as s:
        s.add(store.TrainingRun(id=run_id, owner=who, status="finished", step=20, max_steps=20,
                                out_dir=f"/nonexistent/{run_id}", config=store.dumps({"max_iters": 20, "n_layer": 1})))
        s.add(store.RunMetric(run_id=run_id, step=20, train_loss=1.25, wall_seconds=2.0))


def test_a_signed_out_visitor_sees_only_the_sign_in_button():
    scenarios.create("Secret plan", ScenarioState(), actor=owner.actor_for(ANN))
    at = open_page("pages/scenarios.py", None, signed_in=False)
    assert at.button(key="team_sign_in").label == "Sign in"
    assert [t.value for t in at.title] == ["Opportunity Lab"]
    assert not at.dataframe and "Secret plan" not in _texts(at)


def test_without_an_auth_section_the_app_is_the_local_single_user_tool():
    at = open_page("pages/explorer.py", "intruder@example.com", auth=False)
    at.text_input(key="ex_save_name").set_value("Local plan")
    at.form_submit_button[0].click().run()
    assert [(r.name, r.owner) for r in scenarios.list_all()] == [("Local plan", "local")]
    assert not [b for root in (at, at.sidebar) for b in root.button if b.key in ("team_sign_in", "team_sign_out")]
    assert not [t for t in at.toggle if t.key.startswith("sc_share_")]


def test_a_signed_in_user_saves_as_themselves_and_others_cannot_open_it_by_url_until_shared():
    at = open_page("pages/explorer.py", ANN)
    assert at.sidebar.button(key="team_sign_out").label == "Sign out" and ANN in _texts(at)
    at.text_input(key="ex_save_name").set_value("Ann's bet")
    at.form_submit_button[0].click().run()
    (plan,) = scenarios.list_all(actor=owner.actor_for(ANN))
    assert plan.owner == ANN

    bob = open_page("pages/scenarios.py", BOB, scenario=str(plan.id))
    assert any(f"Scenario {plan.id} not found" in w.value for w in bob.warning)
    assert "Ann's bet" not in _texts(bob) and not bob.dataframe
    bob = open_page("pages/explorer.py", BOB, ex_scenario=str(plan.id))  # the explorer's own link
    assert bob.sidebar.selectbox(key="ex_scenario").value is None and "Ann's bet" not in _texts(bob)

    ann = open_page("pages/scenarios.py", ANN, scenario=str(plan.id))
    ann.toggle(key=f"sc_share_{plan.id}").set_value(True).run()
    assert scenarios.get(plan.id, actor=owner.actor_for(ANN)).shared

    bob = open_page("pages/scenarios.py", BOB, scenario=str(plan.id))
    assert not bob.warning
    assert bob.selectbox(key="sc_pick").value == plan.id
    assert any(f"Shared by {ANN}: read-only" in i.value.replace("\\", "") for i in bob.info)
    assert bob.form_submit_button[0].disabled and bob.button(key="sc_delete").disabled
    assert bob.button(key="sc_save_assumptions").disabled
    assert not [t for t in bob.toggle if t.key.startswith("sc_share_")]


def test_another_users_run_in_the_url_is_not_found_until_shared_then_read_only():
    _run("run-ann-1", ANN)
    bob = open_page("pages/studio.py", BOB, run="run-ann-1")
    assert any("Run run-ann-1 not found" in w.value.replace("\\", "") for w in bob.warning)
    assert not [h for h in bob.subheader if "run-ann-1" in h.value]
    assert "run-ann-1" not in [o for s in bob.selectbox for o in s.options]

    ann = open_page("pages/studio.py", ANN, run="run-ann-1")
    assert any("run-ann-1" in h.value for h in ann.subheader)
    ann.toggle(key="studio_share_run-ann-1").set_value(True).run()

    bob = open_page("pages/studio.py", BOB, run="run-ann-1")
    assert any("run-ann-1" in h.value for h in bob.subheader) and not bob.warning
    assert any(f"Shared by {ANN}: read-only" in i.value.replace("\\", "") for i in bob.info)
    assert not [b for b in bob.button if b.key in ("studio_resume", "studio_stop", "studio_register")]
