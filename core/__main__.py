"""Command line: python -m core <command> [options]. Each command lives in core/cli/<command>.py
and exposes main(argv) -> exit code; it is imported only when asked for (torch is slow to import).
Errors go to stderr with exit code 2."""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "setup": "build the DuckDB catalogue and prepare the bundled base model",
    "explore": "rank the AI use-case catalogue with weights and filters (as the Explorer page)",
    "estimate": "training / memory / inference / accelerators / validate estimates",
    "train": "train a GPT from scratch or fine-tune a base model",
    "models": "list registered models",
    "eval": "evaluate a model on a task file",
    "generate": "generate text with a model",
    "pitch": "export one use case's pitch pack: PowerPoint deck and one-page PDF brief",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in COMMANDS:
        out = sys.stdout if argv and argv[0] in {"-h", "--help"} else sys.stderr
        print("usage: python -m core <command> [options]\n\ncommands:", file=out)
        for name, text in COMMANDS.items():
            print(f"  {name:<10} {text}", file=out)
        if argv and argv[0] not in {"-h", "--help"}:
            print(f"\nerror: unknown command {argv[0]!r}", file=sys.stderr)
        return 0 if out is sys.stdout else 2
    module = importlib.import_module(f"core.cli.{argv[0]}")
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
