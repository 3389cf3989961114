"""python -m core pitch: one use case's pitch pack without the UI (as the Pitch page).

    python -m core pitch --use-case ID [--scenario NAME] [--lang en|zh] [--pptx PATH] [--pdf PATH] [--json]
                         [--model ID] [--prompt TEXT] [--no-demo]
                         [--train-accelerator ID] [--train-count K] [--mfu F] [--serve-accelerator ID]
                         [--users N] [--requests N] [--prompt-tokens N] [--output-tokens N] [--batch N]

The demo is run live with the task's best registered model (or --model) on the default prompt (or
--prompt) and captured into the exports; --no-demo skips it. --json prints the pitch content, the
files written and how long each took. Bad input exits with code 2 and one message on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m core pitch", description=__doc__.split("\n")[0])
    p.add_argument("--use-case", required=True, help="use case id (see python -m core explore)")
    p.add_argument("--scenario", help="saved scenario name: its weights and edited assumptions")
    p.add_argument("--lang", default="en", help="en or zh")
    p.add_argument("--pptx", type=Path, help="write the PowerPoint deck here")
    p.add_argument("--pdf", type=Path, help="write the one-page PDF brief here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--model", help="demo model id or directory (default: the task's best registered model)")
    p.add_argument("--prompt", help="demo prompt (default: the task's pitch prompt)")
    p.add_argument("--no-demo", action="store_true", help="do not run the live demo")
    p.add_argument("--train-accelerator", default="h100_sxm")
    p.add_argument("--train-count", type=int, default=8)
    p.add_argument("--mfu", type=float, default=0.4)
    p.add_argument("--serve-accelerator", help="default: the cheapest per token that fits")
    p.add_argument("--users", type=int, default=1000, help="users per day")
    p.add_argument("--requests", type=float, default=5.0, help="requests per user per day")
    p.add_argument("--prompt-tokens", type=int, default=512)
    p.add_argument("--output-tokens", type=int, default=256)
    p.add_argument("--batch", type=int, default=8, help="serving batch")
    return p


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _quietly(fn, *args) -> None:
    """Run fn in a helper thread; a failure shows up again, with its message, in the export itself."""
    try:
        fn(*args)
    except Exception:  # noqa: BLE001
        pass


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code in (0, None) else 2
    from core.estimate import catalogue
    from core.estimate.inputs import InputError, parse
    from core.explore import scenarios
    from core.i18n import LANGUAGES
    from core.pitch import content, demo, types
    from core.pitch.exports import EXPORTS

    if args.lang not in LANGUAGES:
        return _fail(f"unknown language {args.lang!r}; use en or zh")
    try:
        settings = parse(types.PitchSettings, {
            "train_accelerator": args.train_accelerator, "train_count": args.train_count, "mfu": args.mfu,
            "serve_accelerator": args.serve_accelerator, "users_per_day": args.users, "requests_per_user": args.requests,
            "prompt_tokens": args.prompt_tokens, "output_tokens": args.output_tokens, "batch": args.batch})
        for acc in filter(None, (settings.train_accelerator, settings.serve_accelerator)):
            catalogue.accelerator(acc)
        row = content.find_use_case(args.use_case)
    except InputError as exc:
        return _fail("; ".join(f"{k}: {v}" for k, v in exc.errors.items()))
    except KeyError as exc:
        return _fail(exc.args[0])
    except types.PitchError:
        return _fail(f"unknown use case {args.use_case!r} (see python -m core explore --top 100)")
    record = None
    if args.scenario is not None:
        record = scenarios.find(args.scenario)
        if record is None:
            return _fail(f"no scenario named {args.scenario!r} (see python -m core explore --list-scenarios)")

    timings: dict[str, float] = {}
    section = demo.demo_section(str(row["task"]), str(row["use_case_id"]), args.lang, args.model)
    t0 = time.perf_counter()
    pitch = content.build_pitch(str(row["use_case_id"]), record, args.lang, settings, demo=section)
    timings["content_s"] = time.perf_counter() - t0
    charts = None
    if args.pptx or args.pdf:
        import threading

        from core.pitch.exports import prerender
        from core.pitch.render import warm_up

        warm_up()  # the PDF's browser starts and the charts are drawn while the demo model loads and runs
        charts = threading.Thread(target=_quietly, args=(prerender, pitch), name="pitch-charts", daemon=True)
        charts.start()
    if section.available and not args.no_demo:
        from core.lm.loader import ModelLoadError, load_model

        t0 = time.perf_counter()
        try:
            lm = load_model(args.model or section.model_id)
        except ModelLoadError as exc:
            return _fail(str(exc))
        default, context = demo.demo_input(str(row["use_case_id"]), args.lang)
        try:
            section.transcript = demo.run_demo(lm, section.task, args.prompt or default, context, args.lang)
        except demo.DemoError as exc:
            return _fail(f"demo: {exc.code}")
        section.model_id = lm.info.id  # the pitch holds this section: its demo slide gets the run
        timings["demo_s"] = time.perf_counter() - t0
    if charts is not None:
        t0 = time.perf_counter()
        charts.join()
        timings["charts_wait_s"] = time.perf_counter() - t0
    written = {}
    for fmt in EXPORTS:
        path = getattr(args, fmt.key)
        if path is None:
            continue
        t0 = time.perf_counter()
        data = fmt.build(pitch)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        timings[f"{fmt.key}_s"] = time.perf_counter() - t0
        written[fmt.key] = str(path)
    if args.json:
        body = asdict(pitch) | {"settings": pitch.settings.model_dump(), "files": written, "timings": {k: round(v, 3) for k, v in timings.items()}}
        print(json.dumps(body, ensure_ascii=False, default=str))
    else:
        print(f"{pitch.name}: score {pitch.why.score.text}, rank {pitch.why.rank.text}, market {pitch.why.market.text}")
        for line in (pitch.cost.finetune, pitch.cost.scratch):
            print(f"  {line.label}: {line.cost_usd.text}, {line.days.text}")
        for key, path in written.items():
            print(f"  {key}: {path} ({timings[key + '_s']:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
