"""python -m core setup: everything the app needs on first start, idempotent."""
from __future__ import annotations

import argparse
import json
import sys

from core import catalog


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m core setup", description=__doc__)
    parser.add_argument("--skip-model", action="store_true", help="do not prepare the bundled base model")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    report: dict[str, object] = {"catalog": str(catalog.ensure_built())}
    # The user store at the newest schema revision (Alembic; a pre-migration database is kept).
    from core import store

    engine = store.get_engine()
    report["store"] = f"{engine.url.render_as_string(hide_password=True)} at revision {store.current_revision(engine)}"
    if not args.skip_model:
        # The bundled bases: GGUF -> safetensors once (imported lazily: torch is slow to import).
        from core.lm.base import BASES, ensure_base_model

        for b in BASES:
            report[f"base_model {b.id}"] = str(ensure_base_model(b.id))
        # The demos' native int8 decode step (a C compiler is optional: without one the torch path runs).
        from core.lm import native

        try:
            report["native_decoder"] = str(native.build())
        except RuntimeError as exc:
            report["native_decoder"] = f"not built ({exc})"
    print(json.dumps(report) if args.json else "\n".join(f"{k}: {v}" for k, v in report.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
