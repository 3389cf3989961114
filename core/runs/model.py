"""A training run as the studio sees it: its status record and the error for actions that cannot be
done now. Shared by the launcher, the service and the callback."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from core import store

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


def _waiting(run: store.TrainingRun) -> bool:
    """Queued for a free slot: no process has been started for it yet."""
    return run.status == "queued" and not run.pid

def _to_status(run: store.TrainingRun) -> RunStatus:
    config = store.loads(run.config, {})
    return RunStatus(id=run.id, kind=run.kind, status=run.status, step=run.step, max_steps=run.max_steps,
                     config=config, out_dir=Path(run.out_dir), error=run.error, pid=run.pid,
                     created_at=run.created_at, updated_at=run.updated_at, owner=run.owner, shared=run.shared)
