"""Training runs as separate OS processes, tracked in the store; one module per role:
model (RunStatus, JobError), callback (inside the training process), launcher (processes and the
queue), service (who may see and change what), registration (a run's model into the registry).


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
from core.runs.callback import StoreCallback
from core.runs.launcher import _children, cli_command, dispatch, new_run_id, queue_position, start_run, train_argv
from core.runs.model import ACTIVE, JobError, RunStatus
from core.runs.registration import register_run_model
from core.runs.service import (config_diff, get_run, kill_run, list_runs, request_stop, resume_run, run_metrics,
                               set_shared)

__all__ = ["ACTIVE", "JobError", "RunStatus", "StoreCallback", "_children", "cli_command", "config_diff", "dispatch",
           "get_run", "kill_run", "list_runs", "new_run_id", "queue_position", "register_run_model", "request_stop",
           "resume_run", "run_metrics", "set_shared", "start_run", "train_argv"]
