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
