"""Pitch pack export time, live demo and charts included (issue goals: a cold `core pitch` <= 10 s,
a warm export <= 5 s).

    .venv/bin/python bench/pitch_export.py [--use-case ID ...] [--lang en zh] [--runs 3] [--json PATH]

Two measurements per use case and language, on a temporary state directory:
- **cold CLI**: `python -m core pitch --use-case ID --lang L --pptx … --pdf …` in a fresh process,
  timed from the shell (imports, model load, live demo, content, deck and brief); its own
  `timings` (--json) say where the time went.
- **warm export**: what the Pitch page does with its model already loaded (the page's
  cached_model): run the live demo, build the pitch, write the deck and the brief. The first warm
  export starts the browsers (Kaleido's and the PDF's Chromium); the median of the next --runs is
  reported.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(tempfile.mkdtemp(prefix="opplab-bench-"))
os.environ.setdefault("OPPLAB_BASE_MODEL_DIR", str(ROOT / ".state" / "base" / "SmolLM2-135M-Instruct"))
os.environ["OPPLAB_STATE_DIR"] = str(STATE)
os.environ["DATABASE_URL"] = f"sqlite:///{STATE / 'opplab.db'}"
sys.path.insert(0, str(ROOT))


def cold_cli(use_case: str, lang: str) -> dict:
    out = STATE / f"cold-{use_case}-{lang}"
    cmd = [sys.executable, "-m", "core", "pitch", "--use-case", use_case, "--lang", lang,
           "--pptx", str(out / "deck.pptx"), "--pdf", str(out / "brief.pdf"), "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=os.environ.copy())
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-500:]}
    body = json.loads(proc.stdout)
    tr = (body.get("demo") or {}).get("transcript") or {}
    return {"wall_s": round(wall, 2), "timings": body.get("timings"), "model": tr.get("model_id"),
            "answer": (tr.get("answer") or "")[:160]}


def warm_exports(use_case: str, lang: str, runs: int, models: dict) -> dict:
    from core.lm.loader import load_model
    from core.pitch import demo
    from core.pitch.content import build_pitch
    from core.pitch.exports import EXPORTS

    row_task = None
    section = None
    times: list[dict] = []
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        from core.pitch.content import find_use_case

        row_task = str(find_use_case(use_case)["task"])
        section = demo.demo_section(row_task, use_case, lang)
        phase = {}
        if section.available:
            if section.model_id not in models:  # the page's cached_model: loaded once per server
                t1 = time.perf_counter()
                models[section.model_id] = load_model(section.model_id)
                phase["model_load_s"] = round(time.perf_counter() - t1, 3)
            prompt, context = demo.demo_input(use_case, lang)
            t1 = time.perf_counter()
            section.transcript = demo.run_demo(models[section.model_id], section.task, prompt, context, lang)
            phase["demo_s"] = round(time.perf_counter() - t1, 3)
        t1 = time.perf_counter()
        pitch = build_pitch(use_case, lang=lang, demo=section)
        phase["content_s"] = round(time.perf_counter() - t1, 3)
        for fmt in EXPORTS:
            t1 = time.perf_counter()
            fmt.build(pitch)
            phase[f"{fmt.key}_s"] = round(time.perf_counter() - t1, 3)
        phase["total_s"] = round(time.perf_counter() - t0 - phase.get("model_load_s", 0.0), 3)
        times.append(phase)
    warm = times[1:]
    return {"first": times[0], "median_total_s": round(statistics.median(p["total_s"] for p in warm), 3),
            "median": {k: round(statistics.median(p.get(k, 0.0) for p in warm), 3) for k in warm[0]},
            "model": section.model_id if section else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-case", nargs="+", default=["ai-writing-assistant", "enterprise-knowledge-qa"])
    parser.add_argument("--lang", nargs="+", default=["en", "zh"], choices=("en", "zh"))
    parser.add_argument("--runs", type=int, default=3, help="timed warm exports after the first (default 3)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)

    result: dict = {"date": time.strftime("%Y-%m-%d"), "cpu": _cpu(), "runs": args.runs,
                    "load_average_start": [round(x, 2) for x in os.getloadavg()], "cases": []}
    models: dict = {}
    for uc in args.use_case:
        for lang in args.lang:
            cold = cold_cli(uc, lang)
            warm = warm_exports(uc, lang, args.runs, models)
            result["cases"].append({"use_case": uc, "lang": lang, "cold_cli": cold, "warm_export": warm})
            c = cold.get("wall_s", float("nan"))
            print(f"{uc} ({lang}) model {warm['model']}: cold CLI {c:.2f} s {cold.get('timings')} · "
                  f"warm export median {warm['median_total_s']:.2f} s {warm['median']}", flush=True)
    result["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


if __name__ == "__main__":
    sys.exit(main())
