"""Beam search on the fast decoder: the few best whole continuations of a prompt.

Greedy decoding commits to the most likely next token even when it leads to a poor whole answer
(a QA span that starts on the wrong word, a translation that opens with a clumsy phrase). Beam
search keeps the `beams` best partial continuations by total log-probability and extends all of
them with one batched decode step (`FastDecoder.step_batch`: the weights are read once per step
for every beam, so 4 beams cost far less than 4 greedy runs). Each beam has its own KV cache; when
a beam has several surviving children its cache is copied into the buffer of a beam that died.

`allow(ids)` restricts continuations (QA: the answer must stay a span of the context); `bias` is
added to the logits before the log-softmax (translation: keep the target script). Hypotheses are
ranked by log-probability / length**alpha. `beam_steps` yields the prefix that every live and
finished hypothesis shares each time it grows, so a page can stream a beam search's settled text
(`BeamGeneration` does, with the same interface as `generate.Generation`).

Hand-written rather than transformers' `generate(num_beams=...)`: the demos decode on the int8
native kernel and its per-sequence caches, not on the fp32 HF forward (3.5x slower here).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterator

import numpy as np

from core.lm.generate import GenerationError, GenerationResult, eos_ids, prompt_ids


@dataclass
class Hypothesis:
    ids: list[int]
    logprob: float
    finished: bool = False

    def score(self, alpha: float) -> float:
        return self.logprob / (max(1, len(self.ids)) ** alpha)


def _log_softmax(row: np.ndarray) -> np.ndarray:
    m = row.max()
    return row - (m + np.log(np.exp(row - m).sum()))


def _common_prefix(seqs: list[list[int]]) -> list[int]:
    if not seqs:
        return []
    n = min(len(s) for s in seqs)
    out = []
    for i in range(n):
        t = seqs[0][i]
        if any(s[i] != t for s in seqs[1:]):
            break
        out.append(t)
    return out


def beam_steps(lm: Any, prompt_ids: list[int], max_new_tokens: int, beams: int = 4,
               allow: Callable[[list[int]], bool] | None = None, bias: np.ndarray | None = None,
               alpha: float = 1.0, candidates_per_beam: int = 40,
               should_stop: Callable[[], bool] | None = None) -> Generator[list[int], None, list[Hypothesis]]:
    """Yields the settled prefix (shared by every hypothesis) each time it grows; returns the
    hypotheses found, best first (finished ones, and the live ones when the token budget ran out).
    Needs the model's fast decoder; holds the model's lock one step at a time, so it interleaves
    with the other sessions' decoding."""
    fast = getattr(lm, "fast", None)
    if fast is None:
        raise GenerationError("beam search needs the fast decoder")
    beams = max(1, min(int(beams), fast.max_batch if fast.native else 8))
    stop_ids = eos_ids(lm)
    length = len(prompt_ids) + max_new_tokens
    cache0 = fast.new_cache(length)
    with lm.lock:
        logits = fast.prefill(list(prompt_ids), cache0)[None]
    alive: list[Hypothesis] = [Hypothesis([], 0.0)]
    caches = [cache0]
    finished: list[Hypothesis] = []
    pos = len(prompt_ids)
    shown: list[int] = []
    for _ in range(max_new_tokens):
        rows = logits.detach().float().numpy()
        pool: list[tuple[float, int, int]] = []  # (logprob, parent, token)
        for b, (hyp, row) in enumerate(zip(alive, rows)):
            if bias is not None:
                row = row + bias[:row.size]
            lp = _log_softmax(row.astype(np.float64))
            k = min(candidates_per_beam if allow is not None else 2 * beams, lp.size)
            top = np.argpartition(-lp, k - 1)[:k]
            taken = 0
            for t in top[np.argsort(-lp[top], kind="stable")].tolist():
                if t in stop_ids:
                    if hyp.ids:
                        finished.append(Hypothesis(list(hyp.ids), hyp.logprob + float(lp[t]), True))
                    continue
                if allow is not None and not allow(hyp.ids + [t]):
                    continue
                pool.append((hyp.logprob + float(lp[t]), b, t))
                taken += 1
                if taken >= beams:
                    break
        pool.sort(key=lambda c: -c[0])
        pool = pool[:beams]
        finished.sort(key=lambda h: -h.score(alpha))
        finished = finished[:beams]
        if not pool:
            break
        best_alive = max((lp_ / (len(alive[b].ids) + 1) ** alpha for lp_, b, _ in pool))
        if len(finished) >= beams and best_alive < finished[-1].score(alpha):
            break
        # new beams and their caches: a parent's cache goes to its first child, copies to the others
        used = {b for _, b, _ in pool}
        spare = [caches[b] for b in range(len(alive)) if b not in used]
        taken_parent: set[int] = set()
        new_alive, new_caches = [], []
        for lp_, b, t in pool:
            if b not in taken_parent:
                taken_parent.add(b)
                cache = caches[b]
            else:
                cache = spare.pop() if spare else fast.new_cache(length)
                for (kd, vd), (ks, vs) in zip(cache, caches[b]):
                    kd[:, :, :pos].copy_(ks[:, :, :pos])
                    vd[:, :, :pos].copy_(vs[:, :, :pos])
            new_alive.append(Hypothesis(alive[b].ids + [t], lp_))
            new_caches.append(cache)
        # the copies read their parents' caches before any step writes to them: done above
        alive, caches = new_alive, new_caches
        prefix = _common_prefix([h.ids for h in alive] + [h.ids for h in finished])
        if len(prefix) > len(shown):
            shown = prefix
            yield list(prefix)
        if should_stop is not None and should_stop():
            break
        if len(alive[0].ids) >= max_new_tokens:
            break
        with lm.lock:
            logits = fast.step_batch([h.ids[-1] for h in alive], [pos] * len(alive), caches)
        pos += 1
    out = finished + [h for h in alive if h.ids]
    out.sort(key=lambda h: -h.score(alpha))
    return out


def beam_search(lm: Any, prompt_ids: list[int], max_new_tokens: int, beams: int = 4, **kw: Any) -> list[Hypothesis]:
    """`beam_steps` run to the end: the hypotheses, best first."""
    steps = beam_steps(lm, prompt_ids, max_new_tokens, beams, **kw)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


class BeamGeneration:
    """A beam search with `generate.Generation`'s interface: iterate for text pieces (the settled
    prefix as it grows, then the rest of the chosen hypothesis); `result` is final when exhausted.
    `choose(hypotheses, decode)` picks the answer (default: the best by length-normalised score)."""

    def __init__(self, lm: Any, prompt: str, max_new_tokens: int, beams: int = 4,
                 allow: Callable[[list[int]], bool] | None = None, bias: np.ndarray | None = None,
                 alpha: float = 1.0, should_stop: Callable[[], bool] | None = None,
                 choose: Callable[[list[Hypothesis]], Hypothesis] | None = None):
        self.lm, self.beams, self.allow, self.bias, self.alpha = lm, beams, allow, bias, alpha
        self.should_stop, self.choose = should_stop, choose
        self.prompt_ids, self.max_new_tokens = prompt_ids(lm, prompt, max_new_tokens), max_new_tokens
        self.hypotheses: list[Hypothesis] = []
        self.result = GenerationResult(n_prompt_tokens=len(self.prompt_ids),
                                       decoder=f"{'fast-int8-native' if lm.fast.native else 'fast-int8-torch'}, {beams} beams")

    def __iter__(self) -> Iterator[str]:
        tok, res = self.lm.tokenizer, self.result
        t0 = time.perf_counter()
        shown, t_first = "", None
        steps = beam_steps(self.lm, self.prompt_ids, self.max_new_tokens, self.beams, allow=self.allow,
                           bias=self.bias, alpha=self.alpha, should_stop=self.should_stop)
        while True:
            try:
                prefix = next(steps)
            except StopIteration as done:
                self.hypotheses = done.value
                break
            t_first = t_first or time.perf_counter()
            text = tok.decode(prefix, skip_special_tokens=True)
            if not text.endswith("\ufffd") and len(text) > len(shown) and text.startswith(shown):
                piece, shown = text[len(shown):], text
                res.text = shown
                yield piece
        best = (self.choose(self.hypotheses) if self.choose else self.hypotheses[0]) if self.hypotheses else None
        t_end = time.perf_counter()
        new = best.ids if best else []
        res.token_ids, res.n_new_tokens = list(new), len(new)
        res.finish_reason = "stopped" if self.should_stop and self.should_stop() else ("eos" if best and best.finished else "length")
        res.text = tok.decode(new, skip_special_tokens=True)
        if res.text.startswith(shown) and len(res.text) > len(shown):
            yield res.text[len(shown):]
        res.ttft_ms = ((t_first or t_end) - t0) * 1000
        res.total_s = t_end - t0
        if len(new) > 1 and res.total_s > 0:
            res.tokens_per_second = len(new) / res.total_s
