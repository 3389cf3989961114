"""Training runs as separate OS processes, tracked in the store.

`start_run` writes a TrainingRun row and launches `python -m core train ... --run-id ID` (or
`torchrun --nproc_per_node N -m core train ...`) in its own session, so it outlives page reruns
and reloads. The process reports through `StoreCallback` (RunMetric rows, step, status); a stop is a
flag in the store that the loop honours between steps (it checkpoints, then exits); resume starts
the same command with --resume from the run's last checkpoint. A process that died without saying
so (kill -9, OOM) is noticed by `get_run` and marked failed; it can be resumed.

Concurrency: at most OPPLAB_MAX_TRAINING_JOBS runs (default 1) have a process at once. A run
started or resumed beyond that is recorded as "queued" without a process (pid empty) and waits;
`dispatch` starts waiting runs, oldest first, whenever a slot is free. It is called when a run is
started or resumed, when a training process ends (its StoreCallback, so the next run starts at
once), and when a page polls a waiting run (which also notices runs that died without saying so).
A file lock in the state directory serialises dispatchers, so two processes never fill one slot
twice.

Every action takes the acting user (`actor`, core/owner.py; None = the local user): a run someone
may not see is "no training run" exactly like an unknown id; stop, resume, register and share are
for its owner (and admins). The training process itself writes through `StoreCallback` by run id.
"""
from __future__ import annotations

import fcntl
import math
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlmodel import delete, select

from core import owner, store
from core.config import REPO_ROOT, get_settings
from core.owner import Actor
from core.lm.checkpoint import checkpoint_step
from core.lm.train import BaseCallback, EvalInfo, StepInfo, TrainConfig

ACTIVE = ("queued", "running", "stopping")


class JobError(ValueError):
    """An action on a run that cannot be done now; the message is for the user."""


@dataclass
class RunStatus:
    id: str
    kind: str
    status: str
    step: int
    max_steps: int
    config: dict
    out_dir: Path
    error: str
    pid: int | None
    created_at: datetime
    updated_at: datetime
    owner: str = "local"
    shared: bool = False

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def waiting(self) -> bool:
        """Queued for a free slot (OPPLAB_MAX_TRAINING_JOBS): no process started yet."""
        return self.status == "queued" and not self.pid

    @property
    def shown_status(self) -> str:
        """The status as the studio names it: a waiting run is "waiting", not "queued" (starting)."""
        return "waiting" if self.waiting else self.status

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.max_steps) if self.max_steps else 0.0


# ------------------------------------------------------------------ the callback in the training process
class StoreCallback(BaseCallback):
    """Writes progress of one run to the store; throttled so a fast loop is not slowed by SQLite."""

    def __init__(self, run_id: str, flush_seconds: float = 1.0):
        self.run_id = run_id
        self.flush_seconds = flush_seconds
        self._pending: list[store.RunMetric] = []
        self._last_flush = 0.0
        self._last_stop_check = 0.0
        self._stop = False
        self._step = 0

    def _update(self, **values: Any) -> None:
        with store.session() as s:
            run = s.get(store.TrainingRun, self.run_id)
            if run is None:
                raise JobError(f"no training run {self.run_id!r} in the store")
            for key, value in values.items():
                setattr(run, key, value)
            run.updated_at = store.utcnow()
            s.add(run)

    def on_train_begin(self, info: dict) -> None:
        start = int(info.get("start_step", 0))
        with store.session() as s:
            # After a crash the curve resumes from the checkpoint: later points are recomputed.
            s.exec(delete(store.RunMetric).where(store.RunMetric.run_id == self.run_id,
                                                 store.RunMetric.step > start))
        self._step = start
        self._update(status="running", pid=os.getpid(), step=start,
                     max_steps=int(info["config"]["max_iters"]), error="", stop_requested=False)

    def flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_flush < self.flush_seconds:
            return
        pending, self._pending = self._pending, []
        with store.session() as s:
            s.add_all(pending)
            run = s.get(store.TrainingRun, self.run_id)
            if run is not None:
                run.step, run.updated_at = self._step, store.utcnow()
                s.add(run)
        self._last_flush = now

    def on_step(self, info: StepInfo) -> None:
        self._step = info.step
        self._pending.append(store.RunMetric(run_id=self.run_id, step=info.step, train_loss=info.train_loss,
                                             tokens_per_second=info.tokens_per_second,
                                             learning_rate=info.learning_rate, wall_seconds=info.wall_seconds))
        self.flush()

    def on_eval(self, info: EvalInfo) -> None:
        self._pending.append(store.RunMetric(run_id=self.run_id, step=info.step, val_loss=info.val_loss,
                                             wall_seconds=info.wall_seconds, sample=info.sample))
        self.flush(force=True)

    def on_checkpoint(self, step: int) -> None:
        self.flush(force=True)

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self._stop and now - self._last_stop_check >= self.flush_seconds:
            self._last_stop_check = now
            with store.session() as s:
                run = s.get(store.TrainingRun, self.run_id)
                self._stop = bool(run and run.stop_requested)
        return self._stop

    def on_train_end(self, result: dict) -> None:
        self.flush(force=True)
        self._update(status="stopped" if result.get("stopped") else "finished", step=int(result["steps"]),
                     stop_requested=False, pid=None)
        dispatch()  # this run's slot is free: start the next queued run now

    def on_error(self, message: str) -> None:
        self.flush(force=True)
        self._update(status="failed", error=message[:2000], pid=None)
        dispatch()


# ------------------------------------------------------------------ commands
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
    if niceness and shutil.which("nice"):  # the server's decoding keeps priority over training (README)
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


def _waiting(run: store.TrainingRun) -> bool:
    """Queued for a free slot: no process has been started for it yet."""
    return run.status == "queued" and not run.pid


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


def _to_status(run: store.TrainingRun) -> RunStatus:
    config = store.loads(run.config, {})
    return RunStatus(id=run.id, kind=run.kind, status=run.status, step=run.step, max_steps=run.max_steps,
                     config=config, out_dir=Path(run.out_dir), error=run.error, pid=run.pid,
                     created_at=run.created_at, updated_at=run.updated_at, owner=run.owner, shared=run.shared)


def _row(s, run_id: str, actor: Actor, change: bool = False) -> store.TrainingRun:
    """The run if `actor` may see it (and change it, with `change`); an unseen run is unknown."""
    run = s.get(store.TrainingRun, run_id)
    if run is None or not actor.can_see(run.owner, run.shared):
        raise JobError(f"no training run {run_id!r}")
    if change:
        _check_change(run, actor)
    return run


def _check_change(run: store.TrainingRun | RunStatus, actor: Actor) -> None:
    if not actor.can_change(run.owner):
        raise JobError(f"run {run.id} is shared with you read-only; only its owner can change it")


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


def get_run(run_id: str, *, actor: Actor | None = None) -> RunStatus:
    with store.session() as s:
        run = _row(s, run_id, owner.resolve(actor))
        _refresh(s, run)
        waiting = _waiting(run)
    if waiting and dispatch():  # a slot may have freed up (a run died, or ended while no one looked)
        with store.session() as s:
            run = s.get(store.TrainingRun, run_id)
    return _to_status(run)


def list_runs(limit: int = 100, *, actor: Actor | None = None) -> list[RunStatus]:
    """The runs `actor` may see (own and shared; admins: all), newest first."""
    actor = owner.resolve(actor)
    query = owner.visible(select(store.TrainingRun.id), store.TrainingRun, actor)
    with store.session() as s:
        ids = s.exec(query.order_by(store.TrainingRun.created_at.desc()).limit(limit)).all()
    return [get_run(i, actor=actor) for i in ids]


def set_shared(run_id: str, shared: bool, *, actor: Actor | None = None) -> RunStatus:
    """Share a run (curves, samples, settings) with the team read-only, or take it back."""
    actor = owner.resolve(actor)
    with store.session() as s:
        run = _row(s, run_id, actor, change=True)
        run.shared = bool(shared)
        s.add(run)
    return get_run(run_id, actor=actor)


def run_metrics(run_id: str, *, actor: Actor | None = None) -> list[dict[str, Any]]:
    """The run's curve points in step order (train points and eval points)."""
    with store.session() as s:
        _row(s, run_id, owner.resolve(actor))
        rows = s.exec(select(store.RunMetric).where(store.RunMetric.run_id == run_id)
                      .order_by(store.RunMetric.step, store.RunMetric.id)).all()
    return [{"step": r.step, "train_loss": r.train_loss, "val_loss": r.val_loss,
             "tokens_per_second": r.tokens_per_second, "learning_rate": r.learning_rate,
             "wall_seconds": r.wall_seconds, "sample": r.sample} for r in rows]


def request_stop(run_id: str, *, actor: Actor | None = None) -> None:
    actor = owner.resolve(actor)
    run = get_run(run_id, actor=actor)
    if not run.active:
        raise JobError(f"run {run_id} is {run.status}; only a running run can be stopped")
    with store.session() as s:
        row = _row(s, run_id, actor, change=True)
        if _waiting(row):  # never started: leave the queue at once
            row.status = "stopped"
        else:
            row.stop_requested, row.status = True, "stopping"
        s.add(row)


def resume_run(run_id: str, max_iters: int | None = None, *, actor: Actor | None = None) -> None:
    """Continue a stopped, failed or finished run from its checkpoint (optionally for more steps)."""
    actor = owner.resolve(actor)
    run = get_run(run_id, actor=actor)
    _check_change(run, actor)
    if run.active:
        raise JobError(f"run {run_id} is still {run.status}")
    if checkpoint_step(run.out_dir / "checkpoint") is None:
        raise JobError(f"run {run_id} has no checkpoint yet; start it again instead")
    raw = dict(run.config)
    nproc = int(raw.pop("nproc", 1))
    config = TrainConfig.from_dict(raw)
    if max_iters is not None:
        if max_iters <= run.step:
            raise JobError(f"the new step limit must be above the current step ({run.step})")
        config.max_iters = max_iters
    elif run.step >= config.max_iters:
        raise JobError(f"run {run_id} already reached its {config.max_iters} steps; give a higher step limit")
    with store.session() as s:
        row = s.get(store.TrainingRun, run_id)
        row.status, row.error, row.stop_requested, row.pid = "queued", "", False, None
        row.max_steps = config.max_iters
        row.config = store.dumps({**config.to_dict(), "nproc": nproc})
        row.updated_at = store.utcnow()
        s.add(row)
    dispatch()  # starts it from the checkpoint now (as its owner), or when a slot frees up


def kill_run(run_id: str, *, actor: Actor | None = None) -> None:
    """Hard stop (tests, a hung process): SIGKILL the run's process group."""
    actor = owner.resolve(actor)
    run = get_run(run_id, actor=actor)
    _check_change(run, actor)
    if run.pid and _alive(run.pid, run_id):
        os.killpg(os.getpgid(run.pid), signal.SIGKILL)


def config_diff(a: dict, b: dict) -> list[tuple[str, Any, Any]]:
    """(key, value in a, value in b) for every setting that differs, sorted by key."""
    skip = {"out", "run_id", "resume"}
    keys = sorted((set(a) | set(b)) - skip)
    return [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]


def register_run_model(run_id: str, model_id: str | None = None, *, actor: Actor | None = None):
    """Register a finished (or stopped) run's model in the registry with its held-out metrics;
    the model belongs to the run's owner (its owner or an admin registers it)."""
    from core.lm import registry

    actor = owner.resolve(actor)
    run = get_run(run_id, actor=actor)
    _check_change(run, actor)
    if run.active:
        raise JobError("wait until the run has finished or stopped")
    model_dir = run.out_dir / "model"
    if not (model_dir / "training.json").is_file():
        raise JobError(f"run {run_id} has no saved model yet")
    evals = [m for m in run_metrics(run_id, actor=actor) if m["val_loss"] is not None]
    if not evals:
        raise JobError(f"run {run_id} has no evaluation yet")
    last = evals[-1]
    metrics = {"val_loss": round(last["val_loss"], 4), "perplexity": round(math.exp(min(last["val_loss"], 50)), 3),
               "steps": last["step"]}
    config = TrainConfig.from_dict(run.config)
    card = {"run_id": run_id, "kind": run.kind, "steps": last["step"],
            "command": cli_command(config, int(run.config.get("nproc", 1))),
            "held_out": ("last 10% of the corpus tokens" if config.kind == "scratch"
                         else (config.val_data or "10% of the task examples, fixed seed")),
            "data": config.corpus or config.data, "metric_note": "validation cross-entropy on held-out data"}
    if config.kind == "finetune":  # the demos render prompts as the model was trained on them
        card["prompt_version"] = config.prompt_version
    if config.kind == "scratch":
        from core.lm import corpora

        card.update({"architecture": f"GPT-2 {config.n_layer}L/{config.n_head}H/{config.n_embd}d, block {config.block_size}",
                     "tokenizer": config.tokenizer, **corpora.card_summary(config.corpus)})
    model_id = (model_id or run_id).strip()
    return registry.register_model(model_id, task=config.task or "generation", base=config.base or "",
                                   path=model_dir, metrics=metrics, card=card, run_id=run_id,
                                   actor=owner.actor_for(run.owner) if run.owner != actor.user else actor)
