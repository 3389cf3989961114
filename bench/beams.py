#!/usr/bin/env python
"""What the beam search costs: wall time per answer, greedy vs beams, side by side.

    .venv/bin/python bench/beams.py [--beams 4] [--n 12] [--threads 1] [--json bench/results/beams.json]

The QA and translation demos of version-2 task models decode with OPPLAB_BEAMS beams (default 4;
quality chosen on dev sets by scripts/tune_decoding.py). This measures their price on the demos'
own path (`inference.answer_question`, `inference.translate`): for N development examples of each
task (dev_everyday.tsv sentences; squad_train.jsonl questions), the time to the whole answer with
1 beam (greedy) and with the configured beams, run alternately in one process with pinned threads
so that load from other processes hits both alike. Reports medians and their ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--beams", type=int, default=4)
    p.add_argument("--n", type=int, default=12)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    os.environ["OPPLAB_TORCH_THREADS"] = str(args.threads)

    from core.lm import inference
    from core.lm.loader import load_model
    from core.lm.tasks import load_task_examples

    qa_rows = [json.loads(line) for line in (ROOT / "data/tasks/qa/squad_train.jsonl").open()]
    random.Random(11).shuffle(qa_rows)
    tr_rows = load_task_examples("translation", ROOT / "data/tasks/translation/dev_everyday.tsv")
    random.Random(11).shuffle(tr_rows)
    jobs = {
        "qa": (load_model("qa-qwen2.5-0.5b"), qa_rows[:args.n],
               lambda lm, e: inference.answer_question(lm, e["context"], e["question"]).text),
        "translation": (load_model("translation-qwen2.5-0.5b"), tr_rows[:args.n],
                        lambda lm, e: inference.translate(lm, e["source"], e["src_lang"], e["tgt_lang"])),
    }
    out: dict = {"beams": args.beams, "threads": args.threads, "n": args.n}
    for task, (lm, rows, run) in jobs.items():
        run(lm, rows[0])  # warm-up: thread tuner, script-bias tables
        times: dict[int, list[float]] = {1: [], args.beams: []}
        for e in rows:
            for beams in (1, args.beams):
                os.environ["OPPLAB_BEAMS"] = str(beams)
                t0 = time.perf_counter()
                run(lm, e)
                times[beams].append(time.perf_counter() - t0)
        greedy, beam = statistics.median(times[1]), statistics.median(times[args.beams])
        out[task] = {"greedy_s": round(greedy, 2), "beams_s": round(beam, 2), "ratio": round(beam / greedy, 2)}
        print(f"{task}: greedy {greedy:.2f} s, {args.beams} beams {beam:.2f} s per answer (x{beam / greedy:.2f}), median of {len(rows)}",
              flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
