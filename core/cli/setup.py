"""python -m core setup: everything the app needs on first start, idempotent."""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from core import catalog


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m core setup", description=__doc__)
    parser.add_argument("--skip-model", action="store_true", help="do not prepare the bundled base model")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report: dict[str, object] = {"catalog": str(catalog.ensure_built())}
    if not args.skip_model:
        # core.lm.base prepares the bundled SmolLM2 (GGUF -> safetensors once); absent until the
        # engine lands, so setup still works on a tree without it.
        try:
            base = importlib.import_module("core.lm.base")
        except ModuleNotFoundError:
            report["base_model"] = "engine not installed"
        else:
            report["base_model"] = str(base.ensure_base_model())
    print(json.dumps(report) if args.json else "\n".join(f"{k}: {v}" for k, v in report.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
