"""Training processes and the queue: the command line of a config, starting `python -m core train`
(or torchrun) in its own session, at most OPPLAB_MAX_TRAINING_JOBS at once under a file lock in
the state directory, and noticing processes that died without reporting (kill -9, OOM)."""
from __future__ import annotations

import fcntl
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlmodel import select

from core import owner, store
from core.config import REPO_ROOT, get_settings
from core.lm.checkpoint import checkpoint_step
from core.lm.train import TrainConfig
from core.owner import Actor
from core.runs.model import ACTIVE, JobError, _waiting

def train_argv(config: TrainConfig, nproc: int = 1, python: str = "python") -> list[str]:
    """The command line that runs this config (torchrun for several processes)."""
    head = [python, "-m", "core", "train"] if nproc <= 1 else \
        ["torchrun", "--standalone", f"--nproc_per_node={nproc}", "-m", "core", "train"]
    return head + config.to_argv()

def cli_command(config: TrainConfig, nproc: int = 1) -> str:
    """The equivalent command a user can copy into a shell in the repository."""
    return shlex.join(train_argv(config, nproc))

def new_run_id() -> str:
    return f"run-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"

_children: dict[str, subprocess.Popen] = {}

def _spawn(run_id: str, config: TrainConfig, nproc: int, resume: bool, user: str) -> int:
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    argv = train_argv(config, nproc, python=sys.executable)
    if nproc > 1:  # torchrun from the same environment
        argv[0] = str(Path(sys.executable).with_name("torchrun"))
    argv += ["--run-id", run_id, "--json"] + (["--resume"] if resume else [])
    niceness = get_settings().training_nice
    if niceness and shutil.which("nice"):  # the server's decoding keeps priority over training (docs/robustness.md)
        argv = ["nice", "-n", str(niceness)] + argv
    log = open(out / "log.txt", "a")
    env = os.environ.copy()
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OPPLAB_USER"] = user  # the process acts as the run's owner (e.g. to load their registered base)
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    log.close()
    _children[run_id] = proc
    # Reap the child when it exits so it never lingers as a zombie of the app process.
    threading.Thread(target=proc.wait, daemon=True).start()
    return proc.pid

def start_run(config: TrainConfig, nproc: int = 1, *, actor: Actor | None = None) -> str:
    """Validate, record and launch a run owned by `actor` (or queue it when OPPLAB_MAX_TRAINING_JOBS
    runs are running); returns its id. Raises ValueError on a bad config."""
    config.validate()
    actor = owner.resolve(actor)
    if not 1 <= nproc <= 64:
        raise JobError("the number of processes must be between 1 and 64")
    run_id = new_run_id()
    config.out = str(get_settings().runs_dir / run_id)
    config.run_id, config.resume = None, False
    with store.session() as s:
        s.add(store.TrainingRun(id=run_id, owner=actor.user, kind=config.kind, status="queued",
                                config=store.dumps({**config.to_dict(), "nproc": nproc}),
                                out_dir=config.out, max_steps=config.max_iters))
    dispatch()
    return run_id

def _alive(pid: int | None, run_id: str) -> bool:
    """Is the run's process still running (not a zombie, not a recycled pid)?"""
    if not pid:
        return False
    proc = _children.get(run_id)
    if proc is not None and proc.pid == pid:
        return proc.poll() is None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z" and run_id.encode() in cmdline

@contextmanager
def _dispatch_lock():
    path = get_settings().state_dir / "jobs.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

def _refresh(s, run: store.TrainingRun) -> None:
    """Mark a run whose process died without reporting (kill -9, OOM) as failed."""
    # A started run's pid is stored only after exec (Popen returns then), so a pid that is not
    # alive is a dead process, even before it has reported once.
    if run.status in ACTIVE and not _waiting(run) and not _alive(run.pid, run.id):
        run.status = "failed"
        step = checkpoint_step(Path(run.out_dir) / "checkpoint")
        if step is None:
            run.error = run.error or "the training process ended without reporting (killed?); no checkpoint yet: start it again"
        else:
            # The store's step is flushed about once a second; the checkpoint is what a resume continues from.
            run.step = step
            run.error = run.error or (f"the training process ended without reporting (killed?); "
                                      f"resume continues from the last checkpoint (step {step})")
        run.pid = None
        s.add(run)

def dispatch() -> list[str]:
    """Start waiting runs, oldest first, while fewer than OPPLAB_MAX_TRAINING_JOBS have a process.
    Returns the ids started."""
    limit = get_settings().max_training_jobs
    started = []
    with _dispatch_lock():
        with store.session() as s:
            rows = s.exec(select(store.TrainingRun).where(store.TrainingRun.status.in_(ACTIVE))
                          .order_by(store.TrainingRun.created_at)).all()
            for row in rows:
                _refresh(s, row)
            busy = sum(1 for r in rows if r.status in ACTIVE and not _waiting(r))
            waiting = [(r.id, r.config, r.owner) for r in rows if _waiting(r)]
        for run_id, raw_config, owner_name in waiting[:max(0, limit - busy)]:
            raw = dict(store.loads(raw_config, {}))
            nproc = int(raw.pop("nproc", 1))
            config = TrainConfig.from_dict(raw)
            out = Path(config.out)
            resume = checkpoint_step(out / "checkpoint") is not None
            pid = _spawn(run_id, config, nproc, resume=resume, user=owner_name)
            with store.session() as s:
                row = s.get(store.TrainingRun, run_id)
                row.pid, row.updated_at = pid, store.utcnow()
                s.add(row)
            started.append(run_id)
    return started

def queue_position(run_id: str) -> int:
    """How many waiting runs are ahead of this one (0: next to start); -1 when it is not waiting."""
    with store.session() as s:
        rows = s.exec(select(store.TrainingRun).where(store.TrainingRun.status == "queued")
                      .order_by(store.TrainingRun.created_at)).all()
    ids = [r.id for r in rows if _waiting(r)]
    return ids.index(run_id) if run_id in ids else -1
