"""Pitch pack export time: the PowerPoint deck and the PDF brief, charts included (goal < 5 s each).

    .venv/bin/python bench/pitch_export.py [--use-case ID] [--lang en|zh] [--runs 5] [--json]

Runs on a temporary state directory. The pitch content is built once (with a demo transcript, so the
demo slide is filled as at export time; the demo run itself is not timed). Each export is timed as
the page and the CLI run it: rendering its Plotly charts to PNG with Kaleido (system Chromium) and
writing the file (python-pptx; Chromium print-to-PDF through Playwright). "cold" is the first export
in a fresh process (Kaleido's browser starts); "warm" is the median of the next --runs exports.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
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

from core.pitch.content import build_pitch  # noqa: E402
from core.pitch.types import DemoTranscript  # noqa: E402
from core.pitch.exports import EXPORTS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-case", default="enterprise-knowledge-qa")
    parser.add_argument("--lang", default="en", choices=("en", "zh"))
    parser.add_argument("--runs", type=int, default=5, help="timed warm exports per format (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    pitch = build_pitch(args.use_case, lang=args.lang)
    content_s = time.perf_counter() - t0
    if pitch.demo.available:
        pitch.demo.transcript = DemoTranscript(pitch.demo.model_id or "", "What is it built on?",
                                               "a large language model", 48.0, 410.0, "fast-int8-native")
    result: dict = {"use_case": args.use_case, "lang": args.lang, "runs": args.runs, "content_s": round(content_s, 3),
                    "load_average": [round(x, 2) for x in os.getloadavg()], "formats": {}}
    for fmt in EXPORTS:
        times, size = [], 0
        for _ in range(args.runs + 1):
            t0 = time.perf_counter()
            size = len(fmt.build(pitch))
            times.append(time.perf_counter() - t0)
        result["formats"][fmt.key] = {"cold_s": round(times[0], 3), "warm_median_s": round(statistics.median(times[1:]), 3),
                                      "warm_min_s": round(min(times[1:]), 3), "bytes": size}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.use_case} ({args.lang}), content built in {content_s:.2f} s, load average {result['load_average']}")
        for key, r in result["formats"].items():
            print(f"  {key:<5} cold {r['cold_s']:.2f} s · warm median {r['warm_median_s']:.2f} s "
                  f"(min {r['warm_min_s']:.2f} s, {args.runs} runs) · {r['bytes'] / 1e3:,.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
