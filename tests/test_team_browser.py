"""Sign-in through a real OIDC provider in real Chromium: `oidc-provider-mock` (PyPI) runs
locally, `streamlit run app.py` is configured for it by a secrets.toml [auth] section, and two
people use the app. Ann's unshared scenario and run are invisible to Bob, by the page, by URL
and by the CLI; once Ann shares the scenario Bob opens it read-only; signing out works; neither
secret ever reaches a page or the server log."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT, _free_port, wait_for_app, wait_http

pytestmark = pytest.mark.browser
ANN, BOB = "ann@example.com", "bob@example.com"
CLIENT_SECRET = "client-secret-7f3a9c1e5b"
COOKIE_SECRET = "cookie-secret-2d8e4f6a0c1b3d5e7f9a"


@pytest.fixture(scope="module")
def team_app(tmp_path_factory):
    """The OIDC provider and the app signed-in mode, on a store of their own; yields (url, env)."""
    state = tmp_path_factory.mktemp("team-state")
    idp_port, app_port = _free_port(), _free_port()
    idp = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--port", str(idp_port),
                            "--user", ANN, "--user", BOB], stdout=open(state / "idp.log", "w"),
                           stderr=subprocess.STDOUT)
    secrets = state / "secrets.toml"
    secrets.write_text(f'''[auth]
redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"
cookie_secret = "{COOKIE_SECRET}"
client_id = "opportunity-lab"
client_secret = "{CLIENT_SECRET}"
server_metadata_url = "http://127.0.0.1:{idp_port}/.well-known/openid-configuration"
''')
    env = {**os.environ, "OPPLAB_STATE_DIR": str(state), "DATABASE_URL": f"sqlite:///{state / 'opplab.db'}",
           "OPPLAB_USER": "local"}
    env.pop("OPPLAB_ADMINS", None)
    app = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", "--server.address=127.0.0.1",
         f"--server.port={app_port}", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
         f"--secrets.files={secrets}"],
        cwd=ROOT, env=env, stdout=open(state / "app.log", "w"), stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{idp_port}/.well-known/openid-configuration", idp, state / "idp.log")
        wait_http(f"http://127.0.0.1:{app_port}/_stcore/health", app, state / "app.log")
        yield f"http://127.0.0.1:{app_port}", env, state
    finally:
        for proc in (app, idp):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def sign_in(browser, base: str, who: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(base + "/?lang=en")
    wait_for_app(page)
    # nothing but the gate (a fresh server may list its pages folder for a moment before app.py's
    # first run replaces the navigation; every page still runs through app.py and its gate)
    expect(page.get_by_role("link", name="Explorer")).to_have_count(0, timeout=30_000)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=who).click()  # the provider's page: pick the user
    page.wait_for_url(re.compile(re.escape(base) + r"/?(\?.*)?$"), timeout=60_000)
    wait_for_app(page)
    expect(page.get_by_test_id("stSidebar").get_by_text(who)).to_be_visible(timeout=30_000)
    return page


def cli(env: dict, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def page_text(page) -> str:
    return page.locator("body").inner_text()


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_for_app(page)


def test_two_people_sign_in_and_see_only_their_own_and_shared_work(browser, team_app):
    base, env, state = team_app
    ann = sign_in(browser, base, ANN)

    ann.goto(base + "/explorer?lang=en")
    wait_for_app(ann)
    ann.get_by_label("Scenario name").fill("Ann's secret plan")
    ann.get_by_role("button", name="Save scenario").click()
    expect(ann.get_by_text("Ann's secret plan").first).to_be_visible(timeout=30_000)
    listed = json.loads(cli(env, "--user", ANN, "explore", "--list-scenarios", "--json").stdout)
    assert [s["name"] for s in listed] == ["Ann's secret plan"]
    scenario_id = listed[0]["id"]

    ann.goto(base + "/studio?lang=en")
    wait_for_app(ann)
    for label, value in [("Layers", 1), ("Embedding width", 32), ("Context (tokens)", 32), ("Steps", 20),
                         ("Evaluate every", 10), ("Eval batches", 1)]:
        set_number(ann, label, value)
    ann.get_by_role("button", name="Start training").click()
    ann.wait_for_url(re.compile(r"[?&]run=run-"), timeout=60_000)
    run_id = re.search(r"run=(run-[\w-]+)", ann.url).group(1)
    ann.get_by_text(re.compile(r"Finished · step 20 of 20")).wait_for(timeout=180_000)

    bob = sign_in(browser, base, BOB)
    bob.goto(base + "/scenarios?lang=en")
    wait_for_app(bob)
    assert "Ann's secret plan" not in page_text(bob)
    bob.goto(f"{base}/scenarios?lang=en&scenario={scenario_id}")
    wait_for_app(bob)
    expect(bob.get_by_text(f"Scenario {scenario_id} not found")).to_be_visible(timeout=30_000)
    assert "Ann's secret plan" not in page_text(bob)
    bob.goto(f"{base}/studio?lang=en&run={run_id}")
    wait_for_app(bob)
    expect(bob.get_by_text(f"Run {run_id} not found")).to_be_visible(timeout=30_000)
    assert bob.get_by_role("heading", name=f"Run {run_id}").count() == 0
    as_bob = cli(env, "--user", BOB, "runs", "show", run_id)
    assert as_bob.returncode == 2 and f"no training run '{run_id}'" in as_bob.stderr
    as_bob = cli(env, "--user", BOB, "explore", "--scenario", "Ann's secret plan")
    assert as_bob.returncode == 2 and "no scenario named" in as_bob.stderr
    assert cli(env, "--user", ANN, "runs", "show", run_id).returncode == 0

    ann.goto(f"{base}/scenarios?lang=en&scenario={scenario_id}")
    wait_for_app(ann)
    ann.get_by_text("Share with the team (read-only for them)").click()
    wait_for_app(ann)
    bob.goto(f"{base}/scenarios?lang=en&scenario={scenario_id}")
    wait_for_app(bob)
    expect(bob.get_by_text(f"Shared by {ANN}: read-only.")).to_be_visible(timeout=30_000)
    assert bob.get_by_role("button", name="Save name and notes").is_disabled()
    assert bob.get_by_role("button", name="Delete scenario").is_disabled()

    bob.get_by_role("button", name="Sign out").click()
    bob.get_by_role("button", name="End session").click()  # the provider's own sign-out page
    bob.wait_for_url(re.compile(re.escape(base)), timeout=60_000)
    bob.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
    bob.goto(f"{base}/scenarios?lang=en&scenario={scenario_id}")
    wait_for_app(bob)
    expect(bob.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    assert "Ann's secret plan" not in page_text(bob)

    for page in (ann, bob):
        assert CLIENT_SECRET not in page.content() and COOKIE_SECRET not in page.content()
        assert page.locator("[data-testid='stException']").count() == 0
        page.context.close()
    log = (state / "app.log").read_text()
    assert CLIENT_SECRET not in log and COOKIE_SECRET not in log
