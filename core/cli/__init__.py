"""One module per `python -m core <command>`; each exposes main(argv) -> int.

Every command parses its flags with `CliParser`: a refused argument is one line on stderr
("error: ...") and exit code 2, never a usage dump or a traceback."""
from __future__ import annotations

import argparse
import sys


class CliParser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own refusals (unknown flag, bad int, missing value)
        print(f"error: {' '.join(message.split())} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _escape(ch: str) -> str:
    return ch.encode("unicode_escape").decode("ascii")


# Control characters a user typed (ESC sequences, NEL, line/paragraph separators) are echoed as
# escapes, so a message stays one line and cannot drive the terminal; newline and tab stay
# (the commands turn transformers' progress bars off).
_CONTROL = {cp: _escape(chr(cp)) for cp in [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
            if chr(cp) not in "\n\t"}


class EscapedStream:
    """A text stream (stderr) that writes control characters as escapes."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(text.translate(_CONTROL))
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)
