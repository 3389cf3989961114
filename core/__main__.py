"""Command line: python -m core [--user NAME] <command> [options]. Each command lives in
core/cli/<command>.py and exposes main(argv) -> exit code; it is imported only when asked for
(torch is slow to import). Errors go to stderr with exit code 2.

`--user NAME` (anywhere on the line; default $OPPLAB_USER, else "local") is the acting user for
every command: it sees and changes only what that user may (core/owner.py)."""
from __future__ import annotations

import importlib
import os
import sys

COMMANDS = {
    "setup": "build the DuckDB catalogue and prepare the bundled base model",
    "explore": "rank the AI use-case catalogue with weights and filters (as the Explorer page)",
    "estimate": "training / memory / inference / accelerators / validate estimates",
    "train": "train a GPT from scratch or fine-tune a base model",
    "models": "list registered models",
    "eval": "evaluate a model on a task file",
    "generate": "generate text with a model",
    "runs": "list, show and share training runs",
    "db": "database schema: current revision, upgrade, downgrade",
    "pitch": "export one use case's pitch pack: PowerPoint deck and one-page PDF brief",
}


def _take_user(argv: list[str]) -> list[str]:
    """Remove `--user NAME` / `--user=NAME` from argv and make NAME the acting user (OPPLAB_USER)."""
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--user" or arg.startswith("--user="):
            value = arg.partition("=")[2] if "=" in arg else (argv[i + 1] if i + 1 < len(argv) else "")
            i += 1 if "=" in arg else 2
            from core.owner import clean_user

            os.environ["OPPLAB_USER"] = clean_user(value)  # also the user of any process this command starts
            continue
        out.append(arg)
        i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv = _take_user(argv)
    except ValueError as exc:
        print(f"error: --user: {exc}", file=sys.stderr)
        return 2
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in COMMANDS:
        if argv and argv[0] in {"-h", "--help"}:
            print("usage: python -m core [--user NAME] <command> [options]\n\ncommands:")
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
