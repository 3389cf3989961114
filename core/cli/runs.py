"""python -m core runs: the training runs the acting user may see (own, shared; admins: all).

  python -m core runs [--json]                 list them, newest first
  python -m core runs show RUN_ID [--json]     one run: status, step, owner, settings
  python -m core runs share RUN_ID [--off]     share a run of yours with the team (read-only)

Act as someone with `python -m core --user NAME runs ...`. A run you may not see is reported
exactly like an unknown one (exit code 2).
"""
from __future__ import annotations

import argparse
import json
import sys


def _summary(run) -> dict:
    return {"id": run.id, "owner": run.owner, "shared": run.shared, "kind": run.kind, "status": run.status,
            "step": run.step, "max_steps": run.max_steps, "created_at": run.created_at.isoformat()}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m core runs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", nargs="?", choices=["list", "show", "share"], default="list")
    p.add_argument("run_id", nargs="?", help="the run (show, share)")
    p.add_argument("--off", action="store_true", help="with share: stop sharing")
    p.add_argument("--json", action="store_true", help="print JSON")
    args = p.parse_args(argv)
    from core import runs as training_runs

    try:
        if args.action == "list":
            runs = [_summary(r) for r in training_runs.list_runs()]
            print(json.dumps(runs) if args.json else "\n".join(
                f"{r['id']:<28} {r['status']:<9} {r['step']:>6}/{r['max_steps']:<6} {r['owner']}"
                f"{' (shared)' if r['shared'] else ''}" for r in runs) or "no runs")
            return 0
        if not args.run_id:
            p.error(f"{args.action} needs a RUN_ID")
        run = training_runs.set_shared(args.run_id, not args.off) if args.action == "share" else training_runs.get_run(args.run_id)
    except training_runs.JobError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    info = {**_summary(run), "config": run.config, "error": run.error}
    print(json.dumps(info) if args.json else "\n".join(f"{k}: {v}" for k, v in info.items() if k != "config"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
