"""Faults as tests: kill -9 of a process saving scenarios, of the real `streamlit run` server while
the explorer page saves scenarios in Chromium, and of a training process, then a restart; the
database or the model files unreachable, then back (AppTest: a message, never a traceback)."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core import runs as jobs, store
from core.explore import market, scenarios
from core.i18n import t
from core.lm.train import TrainConfig
from core.nav import PAGES
from tests.conftest import ROOT, _free_port, wait_for_app, wait_http

WRITER = """
import sys
from core.explore import scenarios
prefix = sys.argv[1]
i = 0
while True:
    scenarios.create(f"{prefix}-{i}", scenarios.ScenarioState(), notes="x" * 500)
    print(f"{prefix}-{i}", flush=True)  # printed only after the commit returned
    i += 1
"""


def _env(**extra: str) -> dict[str, str]:
    env = os.environ.copy()
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.fixture(params=["sqlite", "postgresql"])
def fault_db(request, tmp_path):
    """A store of the test's own: a SQLite file, or a fresh database in the session's throwaway
    PostgreSQL server (tests/postgres.py)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"faults_{request.node.name.rpartition('[')[0][-20:]}_{os.getpid()}".lower())


def test_kill_9_while_scenarios_are_saved_loses_no_committed_row_and_leaves_no_corruption(fault_db, monkeypatch):
    url = fault_db
    committed: list[str] = []
    for round_ in range(3):  # three kills at different moments of a write
        proc = subprocess.Popen([sys.executable, "-c", WRITER, f"r{round_}"], cwd=ROOT, stdout=subprocess.PIPE,
                                text=True, env=_env(DATABASE_URL=url))
        seen = 0
        deadline = time.time() + 60
        while seen < 20 + 7 * round_ and time.time() < deadline:
            line = proc.stdout.readline()
            assert line, "the writer died on its own"
            committed.append(line.strip())
            seen += 1
        os.kill(proc.pid, signal.SIGKILL)  # mid-way through the next save
        committed += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
    # Restart: a fresh process opens the same store.
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.setenv("DATABASE_URL", url)
    names = {r.name for r in scenarios.list_all()}
    assert len(committed) >= 60 and set(committed) <= names
    scenarios.create("after-restart", scenarios.ScenarioState())  # and it takes new writes
    assert "after-restart" in {r.name for r in scenarios.list_all()}


# ------------------------------------------------------------------ kill -9 of the real server
SLIDER = {k: t(f"explorer.crit.{k}", "en") for k in market.CRITERION}  # the sidebar sliders' labels


def _weights(i: int) -> dict[str, int]:
    """Weights of the i-th scenario, different for every i (set through the URL, as a link would)."""
    return {**market.DEFAULT_WEIGHTS, "market": 1 + i, "growth": (3 * i + 5) % 11, "regulation": 9 - i}


def _serve(state: Path, database_url: str, port: int, log: str) -> subprocess.Popen:
    """`streamlit run app.py` in a process group of its own (so kill -9 reaches anything it forks)."""
    env = _env(OPPLAB_STATE_DIR=str(state), DATABASE_URL=database_url, OPPLAB_USER="local")
    env.pop("OPPLAB_ADMINS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", "--server.address=127.0.0.1",
         f"--server.port={port}", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
        cwd=ROOT, env=env, stdout=open(state / log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", proc, state / log)
    except BaseException:
        _kill_9(proc)
        raise
    return proc


def _kill_9(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: the server and any child of it
    except ProcessLookupError:
        pass
    proc.wait(15)


def _fill_save_form(page, base: str, name: str, weights: dict[str, int]) -> None:
    page.goto(f"{base}/explorer?lang=en&" + "&".join(f"w_{k}={v}" for k, v in weights.items()))
    wait_for_app(page)
    expect(page.get_by_role("slider", name=SLIDER["market"])).to_have_value(str(weights["market"]), timeout=30_000)
    page.get_by_role("textbox", name="Scenario name").fill(name)


def _click_save(page) -> float:
    """Click "Save scenario" at once (Playwright's click() waits ~0.5 s after the event, by which
    time the save is over); returns the moment of the click."""
    button = page.get_by_role("button", name="Save scenario")
    expect(button).to_be_enabled(timeout=30_000)
    started = time.monotonic()
    button.evaluate("b => b.click()")
    return started


def _saved(page, name: str):
    return page.get_by_text(f"Saved scenario “{name}”")


@pytest.mark.browser
def test_kill_9_of_the_server_while_the_explorer_saves_keeps_every_confirmed_scenario(fault_db, browser, tmp_path,
                                                                                      monkeypatch):
    """The real server, the real page: save scenarios in Chromium, kill -9 the server's process group
    while one more save is running, restart on the same database: every scenario the page confirmed
    is there with its weights (by the page and by core), the in-flight one is whole or absent, the
    SQLite file is intact and the restarted page saves again."""
    state, port = tmp_path / "state", _free_port()
    state.mkdir()
    base = f"http://127.0.0.1:{port}"
    expected = {f"Kill9 save {i}": _weights(i) for i in range(4)}  # the last one is in flight at the kill
    *before, in_flight = expected
    confirmed: list[str] = []

    server = _serve(state, fault_db, port, "server-1.log")
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        took = []  # seconds from the click to the page's confirmation
        for name in before:
            _fill_save_form(page, base, name, expected[name])
            started = _click_save(page)
            _saved(page, name).wait_for(timeout=30_000)  # shown only after create() returned (committed)
            took.append(time.monotonic() - started)
            confirmed.append(name)
        _fill_save_form(page, base, in_flight, expected[in_flight])
        started = _click_save(page)
        # the kill is aimed near the end of the script run, where the page saves: it lands before the
        # insert, between commit and confirmation, or after the confirmation; every case must hold
        time.sleep(max(0.0, started + 0.8 * min(took) - time.monotonic()))
        _kill_9(server)
        assert server.returncode == -signal.SIGKILL
        if _saved(page, in_flight).count():  # the page confirmed it before the server died
            confirmed.append(in_flight)
        context.close()
    finally:
        if server.poll() is None:
            _kill_9(server)

    if fault_db.startswith("sqlite"):  # the file as the kill left it (WAL and all)
        with sqlite3.connect(fault_db.removeprefix("sqlite:///")) as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    server = _serve(state, fault_db, port, "server-2.log")  # restart on the same database
    try:
        # core's view: every confirmed scenario with its weights; nothing else but the in-flight one
        monkeypatch.setenv("DATABASE_URL", fault_db)
        records = {r.name: r for r in scenarios.list_all()}
        assert set(confirmed) <= set(records), (confirmed, sorted(records))
        assert set(records) <= set(expected), sorted(records)
        for name, record in records.items():  # also the in-flight one, when it made it: whole
            assert record.state.weights == {k: float(v) for k, v in expected[name].items()}, name
        with store.session() as s:  # the raw rows: one per name, every payload complete JSON
            rows = s.exec(select(store.Scenario)).all()
        assert sorted(r.name for r in rows) == sorted(records)
        for row in rows:
            payload = json.loads(row.payload)
            assert payload["weights"] == {k: float(v) for k, v in expected[row.name].items()}
            assert set(payload) == {"weights", "filters", "selected", "overrides", "view"}

        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        # the page's view: the explorer's list of saved scenarios names exactly the stored ones
        page.goto(f"{base}/explorer?lang=en")
        wait_for_app(page)
        listed = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text="Assumptions")
        expect(listed).to_be_visible(timeout=30_000)
        listed.click()
        options = page.get_by_role("option")
        expect(options).to_have_count(len(records), timeout=30_000)
        assert sorted(o.inner_text().strip() for o in options.all()) == sorted(records)
        page.keyboard.press("Escape")
        for name in sorted(records):  # each one reopened in the explorer: its weights on the sliders
            page.goto(f"{base}/scenarios?lang=en&scenario={records[name].id}")
            wait_for_app(page)
            page.get_by_role("button", name="Open in Explorer").click()
            page.wait_for_url("**/explorer**", timeout=30_000)
            wait_for_app(page)
            for key, value in expected[name].items():
                expect(page.get_by_role("slider", name=SLIDER[key])).to_have_value(str(value), timeout=30_000)
            # the URL carries the weights too, so a reload or a shared link keeps them
            for key, value in expected[name].items():
                if value != market.DEFAULT_WEIGHTS[key]:
                    assert f"w_{key}={value}" in page.url, (key, page.url)
        # and the restarted page saves again
        _fill_save_form(page, base, "After the restart", _weights(5))
        page.get_by_role("button", name="Save scenario").click()
        expect(_saved(page, "After the restart")).to_be_visible(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        context.close()
        assert scenarios.find("After the restart").state.weights == {k: float(v) for k, v in _weights(5).items()}
    finally:
        _kill_9(server)
    if fault_db.startswith("sqlite"):
        with sqlite3.connect(fault_db.removeprefix("sqlite:///")) as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _tiny_config(tmp_path: Path, **kw) -> TrainConfig:
    corpus = tmp_path / "c.txt"
    if not corpus.exists():
        corpus.write_text((ROOT / "data" / "corpora" / "shakespeare.txt").read_text()[:60_000])
    base = dict(corpus=str(corpus), n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=8, max_iters=40,
                eval_interval=20, eval_iters=2, log_interval=5, sample_tokens=10, lr=3e-3, threads=1)
    return TrainConfig(**(base | kw))


def wait_for(predicate, timeout: float = 180.0, interval: float = 0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError("timed out")


def _row(run_id: str) -> store.TrainingRun:
    """The run as stored, read without get_run (which would notice deaths and dispatch)."""
    with store.session() as s:
        return s.get(store.TrainingRun, run_id)


@pytest.fixture()
def own_runs(fault_db, monkeypatch):
    """A store of this test's own (a run left by another test must not hold the one slot), and no
    training process outlives the test."""
    monkeypatch.setenv("DATABASE_URL", fault_db)
    monkeypatch.setenv("OPPLAB_MAX_TRAINING_JOBS", "1")
    yield
    with store.session() as s:
        pids = [r.pid for r in s.exec(select(store.TrainingRun)).all() if r.pid]
    for pid in pids:
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except OSError:
            pass


def test_kill_9_of_a_training_process_then_a_fresh_app_process_marks_it_failed_starts_the_queue_and_resumes_it(
        tmp_path, own_runs):
    victim = jobs.start_run(_tiny_config(tmp_path, max_iters=5000, checkpoint_interval=10))
    queued = jobs.start_run(_tiny_config(tmp_path, max_iters=10, eval_interval=10))
    assert jobs.get_run(queued).waiting  # the one slot is taken
    wait_for(lambda: (jobs.get_run(victim).out_dir / "checkpoint" / "state.json").is_file())
    pid = _row(victim).pid
    # started below the server's priority (OPPLAB_TRAINING_NICE, default 10): decoding keeps the CPU
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    wait_for(lambda: not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2])
    jobs._children.clear()  # what a restarted app knows: only the store and /proc
    assert _row(victim).status == "running"  # nobody told the store

    # The app side restarts: a new process looks at the runs.
    out = subprocess.run([sys.executable, "-c", "from core import runs as jobs\n"
                          f"print(jobs.get_run({victim!r}).status, jobs.get_run({queued!r}).shown_status)"],
                         cwd=ROOT, env=_env(OPPLAB_MAX_TRAINING_JOBS="1"), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() in (["failed", "queued"], ["failed", "running"])  # freed slot: the queue moved on
    failed = jobs.get_run(victim)
    assert failed.status == "failed" and f"resume continues from the last checkpoint (step {failed.step})" in failed.error
    assert failed.step >= 10 and failed.step % 10 == 0  # the checkpoint's step, not the last flushed one
    done = wait_for(lambda: (r := jobs.get_run(queued)).status in ("finished", "failed") and r)
    assert done.status == "finished" and done.step == 10

    jobs.resume_run(victim, max_iters=failed.step + 10)  # resumable from its checkpoint
    resumed = wait_for(lambda: (r := jobs.get_run(victim)).status in ("finished", "failed") and r)
    assert resumed.status == "finished" and resumed.step == failed.step + 10


def test_runs_beyond_the_limit_are_queued_shown_as_queued_and_start_when_the_running_one_ends(tmp_path, own_runs):
    first, second, third = (jobs.start_run(_tiny_config(tmp_path, max_iters=10, eval_interval=10)) for _ in range(3))
    assert [jobs.get_run(r).shown_status for r in (second, third)] == ["waiting", "waiting"]
    assert (jobs.queue_position(second), jobs.queue_position(third), jobs.queue_position(first)) == (0, 1, -1)

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["run"] = third
    at.run()
    at.switch_page("pages/studio.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Queued: 1 run(s) ahead" in i.value for i in at.info)

    # Nobody polls: the first run's own process starts the next one when it ends.
    overlap = []

    def second_started():
        rows = [_row(r) for r in (first, second, third)]
        overlap.append(sum(1 for r in rows if r.status in ("running", "stopping")))
        return rows[1].pid is not None and rows[1]
    wait_for(second_started)
    assert _row(first).status == "finished" and _row(third).pid is None
    wait_for(lambda: _row(third).status == "finished")
    assert max(overlap) <= 1
    assert [jobs.get_run(r).status for r in (first, second, third)] == ["finished"] * 3


def test_a_queued_run_can_be_stopped_before_it_starts(tmp_path, own_runs):
    first = jobs.start_run(_tiny_config(tmp_path, max_iters=5000))
    second = jobs.start_run(_tiny_config(tmp_path, max_iters=30))
    jobs.request_stop(second)
    assert jobs.get_run(second).status == "stopped" and _row(second).pid is None
    jobs.kill_run(first)
    wait_for(lambda: jobs.get_run(first).status == "failed")


# ------------------------------------------------------------------ unreachable database, missing model files
STORE_PAGES = ["pages/explorer.py", "pages/scenarios.py", "pages/studio.py", "pages/generate.py", "pages/qa.py",
               "pages/translate.py", "pages/sentiment.py", "pages/training-cost.py"]


def test_every_page_says_the_database_is_unreachable_and_recovers_when_it_returns(tmp_path, monkeypatch):
    blocker = tmp_path / "db"
    blocker.write_text("")  # DATABASE_URL's directory is a file: nothing can open it
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{blocker / 'opplab.db'}")
    for spec in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.switch_page(spec.path).run()
        assert not at.exception, (spec.path, [e.value for e in at.exception])
        down = [e.value for e in at.error if "database is not reachable" in e.value]
        if spec.path in STORE_PAGES:
            assert down and "DATABASE_URL" in down[0], spec.path
        if spec.path == "pages/scenarios.py":
            scenarios_page = at
    blocker.unlink()
    blocker.mkdir()  # the database is back
    scenarios_page.run()
    assert not scenarios_page.exception and not [e for e in scenarios_page.error if "database" in e.value]
    scenarios.create("saved-after-recovery", scenarios.ScenarioState())
    assert "saved-after-recovery" in {r.name for r in scenarios.list_all()}


def test_an_unopenable_database_is_one_clear_error_in_core_and_the_cli(tmp_path, monkeypatch):
    import contextlib
    import io

    from core.__main__ import main as cli_main

    (tmp_path / "opplab.db").mkdir()  # the database "file" is a directory: SQLite cannot open it
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'opplab.db'}")
    with pytest.raises(store.StoreUnavailable, match="cannot be used.*DATABASE_URL"):
        scenarios.list_all()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli_main(["explore", "--list-scenarios"]) == 2
    assert err.getvalue().count("\n") == 1 and err.getvalue().startswith("error: the database sqlite:///")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://opplab:secret@127.0.0.1:9/opplab")
    with pytest.raises(store.StoreUnavailable) as exc:
        scenarios.list_all()
    assert "secret" not in str(exc.value) and "***" in str(exc.value)  # never the password


def test_missing_model_files_are_a_message_on_the_demo_page_and_it_recovers(tmp_path, monkeypatch):
    real = Path(os.environ["OPPLAB_BASE_MODEL_DIR"]).parent  # every bundled base lives in this folder
    links = tmp_path / "base"
    links.mkdir()
    names = [p.name for p in real.iterdir() if p.is_dir()]

    def mount(present: bool) -> None:
        for name in names:
            (links / name).unlink(missing_ok=True)
            if present:
                (links / name).symlink_to(real / name)
    mount(True)
    monkeypatch.setenv("OPPLAB_BASE_MODEL_DIR", str(links / Path(os.environ["OPPLAB_BASE_MODEL_DIR"]).name))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/qa.py").run()
    mount(False)  # the weights vanish (a bad mount, a deleted folder)
    at.text_input(key="qa_question").input("What does the product do?")
    at.run()
    at.button(key="qa_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("could not be loaded" in e.value for e in at.error), [e.value for e in at.error]
    mount(True)  # they return
    at.run()
    at.button(key="qa_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
