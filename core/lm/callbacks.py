"""Training callbacks (minGPT style): the loop reports through these and knows nothing about who
listens. The CLI prints, the job runner writes to the store (core.runs.StoreCallback), tests and
metrics.jsonl collect."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass
class StepInfo:
    step: int  # optimizer steps done
    max_steps: int
    train_loss: float
    learning_rate: float
    tokens_per_second: float
    wall_seconds: float
    eta_seconds: float


@dataclass
class EvalInfo:
    step: int
    train_loss: float
    val_loss: float
    sample: str
    wall_seconds: float


class Callback(Protocol):
    def on_train_begin(self, info: dict) -> None: ...
    def on_step(self, info: StepInfo) -> None: ...
    def on_eval(self, info: EvalInfo) -> None: ...
    def on_checkpoint(self, step: int) -> None: ...
    def should_stop(self) -> bool: ...
    def on_train_end(self, result: dict) -> None: ...
    def on_error(self, message: str) -> None: ...  # the run failed (bad input or a crash); message for the user


class BaseCallback:
    """No-op defaults; subclass and override what you need."""

    def on_train_begin(self, info: dict) -> None: ...
    def on_step(self, info: StepInfo) -> None: ...
    def on_eval(self, info: EvalInfo) -> None: ...
    def on_checkpoint(self, step: int) -> None: ...
    def should_stop(self) -> bool: return False
    def on_train_end(self, result: dict) -> None: ...
    def on_error(self, message: str) -> None: ...


class JsonlCallback(BaseCallback):
    """metrics.jsonl in the run folder: the curve of a run started without the store.
    On resume, points after the checkpoint are dropped so the curve stays one line."""

    def __init__(self, path: Path, resume_step: int | None):
        self.path = path
        if resume_step is not None and path.exists():
            kept = [l for l in path.read_text().splitlines() if l and json.loads(l)["step"] <= resume_step]
            path.write_text("".join(l + "\n" for l in kept))
        elif resume_step is None:
            path.unlink(missing_ok=True)

    def _write(self, row: dict) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def on_step(self, info: StepInfo) -> None:
        self._write({"step": info.step, "train_loss": info.train_loss, "lr": info.learning_rate,
                     "tokens_per_second": info.tokens_per_second})

    def on_eval(self, info: EvalInfo) -> None:
        self._write({"step": info.step, "eval_train_loss": info.train_loss, "val_loss": info.val_loss,
                     "sample": info.sample})
