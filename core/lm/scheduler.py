"""Continuous batching: every generation request on one fast decoder shares one decode loop.

Browser sessions that press "Generate" at the same time each submit a `Request`. One thread per
FastDecoder runs the loop: it admits waiting requests while fewer than OPPLAB_MAX_DECODE_BATCH
are active (their prompts are prefilled one by one), then runs one batched decode step for every
active sequence (`FastDecoder.step_batch`: the weights are read once per step, not once per
session), samples each sequence's next token with its own settings and hands the token to the
request's queue. A finished, stopped or abandoned request leaves the batch at the next step and
its slot goes to the next waiting one; while all slots are taken a request knows how many are
ahead of it (`Scheduler.position`).

The sessions' threads only read their queues, so a slow consumer (a browser, Streamlit's
re-rendering) never slows the decoder or the other sessions. Each step holds the model's lock, so
other users of the same weights (sentiment scoring, attention maps) interleave with decoding.
The loop thread exits after IDLE_EXIT_S without work and is started again by the next request.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

IDLE_EXIT_S = 30.0


@dataclass
class Event:
    kind: str  # token | done | error
    value: Any
    at: float  # time.perf_counter() when the decoder produced it


@dataclass
class Request:
    """One generation: its prompt, settings, and the queue its tokens arrive on."""

    prompt_ids: list[int]
    max_new_tokens: int
    pick: Callable[[torch.Tensor, list[int]], int]  # (logits, new ids so far) -> next id
    stop_ids: set[int]
    events: "queue.SimpleQueue[Event]" = field(default_factory=queue.SimpleQueue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    admitted: threading.Event = field(default_factory=threading.Event)
    new: list[int] = field(default_factory=list)
    cache: Any = None
    pos: int = 0
    last: int = 0

    def cancel(self) -> None:
        self.cancelled.set()


class Scheduler:
    def __init__(self, fast: Any, lock: threading.Lock, max_active: int):
        self.fast, self.lock = fast, lock
        self.max_active = max(1, min(int(max_active), fast.max_batch if fast.native else 1 << 10))
        self._cv = threading.Condition()
        self._waiting: deque[Request] = deque()
        self._active: list[Request] = []
        self._thread: threading.Thread | None = None
        self.steps = 0  # batched decode steps run (benchmarks read it)
        self.batch_sizes: list[int] = []  # the size of each of the last 1,000 steps

    # ---------------------------------------------------------------- the sessions' side
    def submit(self, request: Request) -> None:
        with self._cv:
            self._waiting.append(request)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="opplab-decode", daemon=True)
                self._thread.start()
            self._cv.notify()

    def position(self, request: Request) -> int:
        """Requests waiting ahead of this one (0: next to start); -1 once it is admitted or gone."""
        with self._cv:
            live = [r for r in self._waiting if not r.cancelled.is_set()]
            return live.index(request) if request in live else -1

    @property
    def load(self) -> tuple[int, int]:
        """(active, waiting) requests now."""
        with self._cv:
            return len(self._active), sum(1 for r in self._waiting if not r.cancelled.is_set())

    # ---------------------------------------------------------------- the decode loop
    def _loop(self) -> None:
        try:
            while True:
                with self._cv:
                    self._waiting = deque(r for r in self._waiting if not r.cancelled.is_set())
                    if not self._waiting and not self._active:
                        self._cv.wait(IDLE_EXIT_S)
                        self._waiting = deque(r for r in self._waiting if not r.cancelled.is_set())
                        if not self._waiting and not self._active:
                            self._thread = None
                            return
                    admit = []
                    while self._waiting and len(self._active) + len(admit) < self.max_active:
                        admit.append(self._waiting.popleft())
                for request in admit:
                    self._start(request)
                self._step()
        except BaseException as exc:  # never leave a session waiting on a dead loop
            with self._cv:
                stranded = list(self._active) + list(self._waiting)
                self._active, self._waiting, self._thread = [], deque(), None
            for request in stranded:
                request.events.put(Event("error", f"the decoder stopped: {exc}", time.perf_counter()))
            raise

    def _start(self, request: Request) -> None:
        """Prefill the prompt and take the first token; the request joins the batch if not done."""
        request.admitted.set()
        try:
            request.cache = self.fast.new_cache(len(request.prompt_ids) + request.max_new_tokens)
            with self.lock:
                logits = self.fast.prefill(request.prompt_ids, request.cache)
            request.pos = len(request.prompt_ids)
            if self._advance(request, logits):
                with self._cv:
                    self._active.append(request)
        except Exception as exc:  # noqa: BLE001  (a bad request fails alone)
            request.events.put(Event("error", str(exc), time.perf_counter()))
            request.cache = None

    def _step(self) -> None:
        with self._cv:
            for request in [r for r in self._active if r.cancelled.is_set()]:
                self._finish(request, "stopped")
            batch = list(self._active)
        if not batch:
            return
        try:
            with self.lock:
                logits = self.fast.step_batch([r.last for r in batch], [r.pos for r in batch], [r.cache for r in batch])
        except Exception as exc:  # noqa: BLE001
            for request in batch:
                request.events.put(Event("error", str(exc), time.perf_counter()))
                self._finish(request, None)
            return
        self.steps += 1
        self.batch_sizes = (self.batch_sizes + [len(batch)])[-1000:]
        for request, row in zip(batch, logits):
            request.pos += 1
            try:
                keep = self._advance(request, row)
            except Exception as exc:  # noqa: BLE001
                request.events.put(Event("error", str(exc), time.perf_counter()))
                keep = False
            if not keep:
                self._finish(request, None)

    def _advance(self, request: Request, logits: torch.Tensor) -> bool:
        """Pick the next token; False when the request is finished (its done event is sent)."""
        if request.cancelled.is_set():
            request.events.put(Event("done", "stopped", time.perf_counter()))
            return False
        token = int(request.pick(logits, request.new))
        if token in request.stop_ids:
            request.events.put(Event("done", "eos", time.perf_counter()))
            return False
        request.new.append(token)
        request.last = token
        request.events.put(Event("token", token, time.perf_counter()))
        if len(request.new) >= request.max_new_tokens:
            request.events.put(Event("done", "length", time.perf_counter()))
            return False
        return True

    def _finish(self, request: Request, reason: str | None) -> None:
        if reason:
            request.events.put(Event("done", reason, time.perf_counter()))
        request.cache = None  # the KV cache is freed with the slot
        with self._cv:
            if request in self._active:
                self._active.remove(request)


_schedulers_lock = threading.Lock()


def scheduler_for(lm: Any) -> Scheduler:
    """The one scheduler of this model's fast decoder (task models that share a base share it);
    kept on the decoder, so it goes when the model is dropped from the cache."""
    from core.config import get_settings

    with _schedulers_lock:
        sched = getattr(lm.fast, "_scheduler", None)
        if sched is None:
            sched = lm.fast._scheduler = Scheduler(lm.fast, lm.lock, get_settings().max_decode_batch)
        return sched
