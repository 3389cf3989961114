#!/usr/bin/env python
"""Peak memory of the demos' heaviest inputs, measured in one process after the model is loaded.

    .venv/bin/python bench/memory_bounds.py [--model ID] [--qa-model ID] [--translation-model ID]
                                            [--reviews 1000] [--words 5000]
                                            [--qa-kb 100] [--translate-kb 50] [--json PATH]
                                            [--workloads sentiment,qa,translation]

The models default to what the pages use: each task's default model (its card's "default": true,
core.lm.registry.models_for_task), e.g. sentiment-routed-en-zh, which sends the (English) reviews
to its SmolLM2 LoRA; each result names the model (and, for a routed one, the route) it measured.

Three workloads, each what a page does with an upload or a paste (the same core calls):
- batch sentiment on N reviews of W words each (`inference.predict_sentiment`: reviews cut to
  their head and tail, batches sized by OPPLAB_MAX_BATCH_MB, logits at the last position only);
- QA on a context of K kB (`inference.answer_question`: the most relevant passage is used);
- translation of a K kB text (`inference.translate`: chunks of whole sentences, the text cut at
  inference.MAX_TRANSLATION_CHARS).
For each: wall time and peak RSS above the loaded models' RSS (sampled every 20 ms by a thread;
goal: <= 3 GB above idle). Freed heap is handed back (gc, malloc_trim) before each workload and its
starting RSS is reported too (start_above_idle_gb): what an earlier workload left behind. Reviews and texts are generated from a fixed vocabulary (seed 0), so
runs are comparable.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import random
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ("the service was slow but the food good staff friendly room clean noisy price fair would come back "
         "never again terrible excellent plot acting boring wonderful app crashes battery lasts update support "
         "refund delivery late quality great awful recommend disappointed happy").split()


def rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakRSS:
    def __init__(self):
        self.peak, self._stop = 0, threading.Event()

    def __enter__(self):
        self.peak = rss_bytes()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def text_of(n_words: int, rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(n_words)]
    return " ".join(w + ("." if i % 17 == 16 else "") for i, w in enumerate(words))


def trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def measure(name: str, model: str, fn, idle: int) -> dict:
    trim()
    start = rss_bytes()
    t0 = time.perf_counter()
    with PeakRSS() as peak:
        detail = fn()
    out = {"workload": name, "model": model, "seconds": round(time.perf_counter() - t0, 1),
           "peak_above_idle_gb": round((peak.peak - idle) / 1e9, 3), "peak_rss_gb": round(peak.peak / 1e9, 3),
           "start_above_idle_gb": round((start - idle) / 1e9, 3), **detail}
    print(json.dumps(out), flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="sentiment model (default: the page's default)")
    p.add_argument("--qa-model", default=None, help="QA model (default: the page's default)")
    p.add_argument("--translation-model", default=None, help="translation model (default: the page's default)")
    p.add_argument("--reviews", type=int, default=1000)
    p.add_argument("--words", type=int, default=5000)
    p.add_argument("--qa-kb", type=int, default=100)
    p.add_argument("--translate-kb", type=int, default=50)
    p.add_argument("--json", default=None)
    p.add_argument("--workloads", default="sentiment,qa,translation", help="comma-separated subset to run")
    args = p.parse_args()

    from core.config import get_settings
    from core.lm import inference
    from core.lm.loader import load_model
    from core.lm.registry import models_for_task

    args.model = args.model or models_for_task("sentiment")[0].id
    args.qa_model = args.qa_model or models_for_task("qa")[0].id
    args.translation_model = args.translation_model or models_for_task("translation")[0].id
    rng = random.Random(0)
    results = []
    # loaded once, as a server holds them (prompted models on one base share its weights)
    lm, qa, tr = load_model(args.model), load_model(args.qa_model), load_model(args.translation_model)
    trim()
    idle = rss_bytes()
    reviews = [text_of(args.words, rng) for _ in range(args.reviews)]
    sentiment_model = args.model
    if hasattr(lm, "routes") and reviews:
        sentiment_model += f" (route {inference.text_language(reviews[0])}: {lm.for_lang(inference.text_language(reviews[0])).info.id})"
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        spent = time.perf_counter() - t0
        eta = f", about {spent / done * (total - done) / 60:.0f} min left" if done else ""
        print(f"sentiment: {done}/{total} scored after {spent:.0f} s{eta}", file=sys.stderr, flush=True)

    wanted = {w.strip() for w in args.workloads.split(",")}
    if "sentiment" in wanted:
        results.append(measure(f"sentiment: {args.reviews} reviews x {args.words} words", sentiment_model, lambda: {
            "truncated": sum(p.truncated for p in inference.predict_sentiment(lm, reviews, progress=progress))}, idle))
    context = text_of(args.qa_kb * 1024 // 6, rng) + " The launch was led by Dana Whitfield in Oslo."
    if "qa" in wanted:
        results.append(measure(f"qa: {len(context) // 1024} kB context", args.qa_model, lambda: (lambda a: {
            "answer": a.text, "note": bool(a.note)})(inference.answer_question(qa, context, "Who led the launch?")), idle))
    text = text_of(args.translate_kb * 1024 // 6, rng)
    if "translation" in wanted:
        results.append(measure(f"translation: {len(text) // 1024} kB text en->fr", args.translation_model, lambda: (lambda chunks: {
            "chunks": len(chunks[0]), "cut": chunks[1], "output_chars": len(inference.translate(tr, text, "en", "fr"))})(
            inference.translation_chunks(tr, text)), idle))
    settings = get_settings()
    summary = {"model": args.model, "qa_model": args.qa_model, "translation_model": args.translation_model,
               "torch_threads": settings.torch_threads, "max_batch_mb": settings.max_batch_mb,
               "idle_rss_gb": round(idle / 1e9, 3), "goal_gb_above_idle": 3.0,
               "within_goal": all(r["peak_above_idle_gb"] <= 3.0 for r in results), "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
