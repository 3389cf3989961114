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
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in COMMANDS:
        if argv and argv[0] in {"-h", "--help"}:
            print("usage: python -m core <command> [options]\n\ncommands:")
            for name, text in COMMANDS.items():
                print(f"  {name:<10} {text}")
            return 0
        what = f"unknown command {argv[0][:40]!r}" if argv else "no command"
        print(f"error: {what}; use one of {', '.join(COMMANDS)} (see python -m core --help)", file=sys.stderr)
        return 2
    module = importlib.import_module(f"core.cli.{argv[0]}")
    from core.cli import EscapedStream
    from core.store import StoreUnavailable

    stderr, sys.stderr = sys.stderr, EscapedStream(sys.stderr)
    try:
        return int(module.main(argv[1:]) or 0)
    except SystemExit as exc:  # --help (0), or a refusal the parser has already printed (2)
        if isinstance(exc.code, int) or exc.code is None:
            return exc.code or 0
        print(f"error: {exc.code}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:  # the environment, not the arguments: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file the command was pointed at: missing, unreadable, a name too long
        name = f": {str(exc.filename)[:120]}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{name}", file=sys.stderr)
        return 2
    finally:
        sys.stderr = stderr


if __name__ == "__main__":
    sys.exit(main())
