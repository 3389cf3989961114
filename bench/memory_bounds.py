#!/usr/bin/env python
"""Peak memory of the demos' heaviest inputs, measured in one process after the model is loaded.

    .venv/bin/python bench/memory_bounds.py [--model ID] [--reviews 1000] [--words 5000]
                                            [--qa-kb 100] [--translate-kb 50] [--json PATH]

Three workloads, each what a page does with an upload or a paste (the same core calls):
- batch sentiment on N reviews of W words each (`inference.predict_sentiment`: reviews cut to
  their head and tail, batches sized by OPPLAB_MAX_BATCH_MB, logits at the last position only);
- QA on a context of K kB (`inference.answer_question`: the most relevant passage is used);
- translation of a K kB text (`inference.translate`: chunks of whole sentences, the text cut at
  inference.MAX_TRANSLATION_CHARS).
For each: wall time and peak RSS above the loaded model's RSS (sampled every 20 ms by a thread;
goal: <= 3 GB above idle). Reviews and texts are generated from a fixed vocabulary (seed 0), so
runs are comparable.
"""
from __future__ import annotations

import argparse
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


def measure(name: str, fn, idle: int) -> dict:
    t0 = time.perf_counter()
    with PeakRSS() as peak:
        detail = fn()
    out = {"workload": name, "seconds": round(time.perf_counter() - t0, 1),
           "peak_above_idle_gb": round((peak.peak - idle) / 1e9, 3), "peak_rss_gb": round(peak.peak / 1e9, 3), **detail}
    print(json.dumps(out), flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="sentiment-qwen2.5-0.5b")
    p.add_argument("--qa-model", default="qa-qwen2.5-0.5b")
    p.add_argument("--translation-model", default="translation-qwen2.5-0.5b")
    p.add_argument("--reviews", type=int, default=1000)
    p.add_argument("--words", type=int, default=5000)
    p.add_argument("--qa-kb", type=int, default=100)
    p.add_argument("--translate-kb", type=int, default=50)
    p.add_argument("--json", default=None)
    args = p.parse_args()

    from core.lm import inference
    from core.lm.loader import load_model

    rng = random.Random(0)
    results = []
    lm = load_model(args.model)
    for m in {args.qa_model, args.translation_model} - {args.model}:
        load_model(m)  # prompted task models share the base's weights only within one LoadedModel
    idle = rss_bytes()
    reviews = [text_of(args.words, rng) for _ in range(args.reviews)]
    results.append(measure(f"sentiment: {args.reviews} reviews x {args.words} words", lambda: {
        "truncated": sum(p.truncated for p in inference.predict_sentiment(lm, reviews))}, idle))
    qa = load_model(args.qa_model)
    context = text_of(args.qa_kb * 1024 // 6, rng) + " The launch was led by Dana Whitfield in Oslo."
    results.append(measure(f"qa: {len(context) // 1024} kB context", lambda: (lambda a: {
        "answer": a.text, "note": bool(a.note)})(inference.answer_question(qa, context, "Who led the launch?")), idle))
    tr = load_model(args.translation_model)
    text = text_of(args.translate_kb * 1024 // 6, rng)
    results.append(measure(f"translation: {len(text) // 1024} kB text en->fr", lambda: (lambda chunks: {
        "chunks": len(chunks[0]), "cut": chunks[1], "output_chars": len(inference.translate(tr, text, "en", "fr"))})(
        inference.translation_chunks(tr, text)), idle))
    summary = {"model": args.model, "idle_rss_gb": round(idle / 1e9, 3), "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
