"""What a user may do with runs: see them (own, shared, or all for admins; an unseen run is
unknown exactly like a missing one), read their curves, share, stop, resume and kill them (owner
and admins only), and compare two configs."""
from __future__ import annotations

import os
import signal
from typing import Any

from sqlmodel import select

from core import owner, store
from core.lm.checkpoint import checkpoint_step
from core.lm.train import TrainConfig
from core.owner import Actor
from core.runs.launcher import _alive, _refresh, dispatch
from core.runs.model import JobError, RunStatus, _to_status, _waiting

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
