"""Run every pitch demo input (data/pitch_demos.csv) through the shipped task models and print the answers;
QA rows say whether the answer is (or contains) the expected span of the description.

    .venv/bin/python scripts/check_pitch_demos.py
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import catalog  # noqa: E402
from core.pitch import demo
from core.lm.loader import load_model
from core.lm.registry import models_for_task
rows = catalog.query("SELECT * FROM pitch_demos ORDER BY use_case_id, lang")
from core.explore import data as ed
cat = ed.catalogue().set_index("use_case_id")
loaded = {}
for r in rows.itertuples():
    task = cat.loc[r.use_case_id, "task"]
    mid = models_for_task(task)[0].id
    lm = loaded.get(mid) or loaded.setdefault(mid, load_model(mid))
    prompt, ctx = demo.demo_input(r.use_case_id, r.lang)
    t = time.perf_counter()
    tr = demo.run_demo(lm, task, prompt, ctx, r.lang)
    ok = (str(r.expected) in ctx and (str(r.expected) in tr.answer or tr.answer in str(r.expected))) if task == "qa" else ""
    print(f"{r.use_case_id} {r.lang} {mid} {time.perf_counter()-t:.1f}s ok={ok} | Q: {prompt} | A: {tr.answer[:150]}", flush=True)
