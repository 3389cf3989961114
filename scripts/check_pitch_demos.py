"""Run every pitch demo input (data/pitch_demos.csv) through the shipped task models and print the
answers; QA rows say whether the answer is (or contains) the expected span of the description.

    .venv/bin/python scripts/check_pitch_demos.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    from core import catalog
    from core.explore import data as explorer_data
    from core.lm.loader import load_model
    from core.lm.registry import models_for_task
    from core.pitch import demo

    tasks = explorer_data.catalogue().set_index("use_case_id")["task"]
    loaded: dict = {}
    good = total = 0
    for r in catalog.query("SELECT * FROM pitch_demos ORDER BY use_case_id, lang").itertuples():
        task = str(tasks[r.use_case_id])
        model_id = models_for_task(task)[0].id
        lm = loaded.get(model_id) or loaded.setdefault(model_id, load_model(model_id))
        prompt, context = demo.demo_input(r.use_case_id, r.lang)
        t0 = time.perf_counter()
        answer = demo.run_demo(lm, task, prompt, context, r.lang).answer
        verdict = ""
        if task == "qa":
            expected = str(r.expected)
            ok = expected in answer or (bool(answer) and answer in expected)
            good, total, verdict = good + ok, total + 1, "ok" if ok else "MISS"
        print(f"{r.use_case_id} [{r.lang}] {model_id} {time.perf_counter() - t0:.1f} s {verdict}\n"
              f"  Q: {prompt}\n  A: {answer}", flush=True)
    print(f"QA: {good} of {total} answers are the expected span or contain it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
