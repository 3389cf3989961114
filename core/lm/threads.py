"""Choose torch's intra-op thread count by measurement while training.

On a CPU shared with other busy processes, more threads can be slower: an OpenMP region waits for
its slowest thread, and a thread that lost its core stalls every step (this machine: decode at
2 threads 4.6-5.0 tok/s vs 1 thread 12-13 tok/s with another process busy; docs/data-sources.md). So the
trainer times a few real steps at each candidate count, keeps the fastest, and checks again every
`every` steps as the machine's load changes. No step is wasted: the trial steps are training steps.
"""
from __future__ import annotations

import statistics

import torch


class ThreadTuner:
    def __init__(self, max_threads: int, every: int = 200, trial: int = 6):
        self.candidates = sorted({1, max(1, max_threads // 2), max_threads})
        self.every, self.trial = every, trial
        self.best = max_threads
        self._times: dict[int, list[float]] = {}
        self._queue: list[int] = []
        self._since = 0
        self._start_trials()

    def _start_trials(self) -> None:
        self._times = {c: [] for c in self.candidates}
        self._queue = [c for c in self.candidates for _ in range(self.trial)]
        self._since = 0

    @property
    def exploring(self) -> bool:
        return bool(self._queue)

    def threads_for_next_step(self) -> int:
        if len(self.candidates) == 1:
            return self.best
        if not self._queue and self._since >= self.every:
            self._start_trials()
        return self._queue[0] if self._queue else self.best

    def record(self, threads: int, seconds: float) -> None:
        if self._queue and self._queue[0] == threads:
            self._queue.pop(0)
            self._times[threads].append(seconds)
            if not self._queue:  # trials done: keep the fastest (median of its steps)
                self.best = min(self._times, key=lambda c: statistics.median(self._times[c] or [float("inf")]))
        else:
            self._since += 1

    def apply(self) -> int:
        n = self.threads_for_next_step()
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
        return n
