"""python -m core models: the model registry (bundled base, shipped task models, studio models)."""
from __future__ import annotations

import json
import sys

from core.cli import CliParser


def main(argv: list[str]) -> int:
    parser = CliParser(prog="python -m core models", description=__doc__)
    parser.add_argument("--task", choices=["generation", "qa", "translation", "sentiment"], help="only models for this task")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    args = parser.parse_args(argv)
    from core.lm.registry import list_models

    models = list_models(args.task)
    if args.json:
        print(json.dumps([{k: v for k, v in m.to_dict().items() if k in ("id", "task", "base", "path", "metrics", "run_id")}
                          for m in models]))
        return 0
    for m in models:
        metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in m.metrics.items() if isinstance(v, (int, float, str)))
        print(f"{m.id:<32} {m.task:<11} base={m.base or '-':<24} {metrics}  {m.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
