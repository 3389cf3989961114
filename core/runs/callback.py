"""The callback that runs inside a training process (`python -m core train --run-id ID`): it writes
the run's progress to the store (RunMetric rows, step, status), honours a stop requested in the
store, and frees the run's slot when it ends (the launcher then starts the next queued run)."""
from __future__ import annotations

import os
import time
from typing import Any

from sqlmodel import delete

from core import store
from core.lm.train import BaseCallback, EvalInfo, StepInfo
from core.runs.launcher import dispatch
from core.runs.model import JobError


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
