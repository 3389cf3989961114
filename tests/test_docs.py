"""The documentation stays walkable: a short README over docs/, links that resolve, and each timing
figure stated once (docs/benchmarks.md), so two files cannot drift apart."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
# a measured figure: a decimal number (or a number with a thousands separator) with a unit of time,
# speed, memory or a ratio, e.g. "12.6 tok/s", "1,274 s", "0.63 GB", "4.23×"
FIGURE = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+\.\d+)\s?(ms|s|tok/s|tokens/s|GB|GiB|MB|MiB|×)(?![\w/])")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return [m.group(1) for m in LINK.finditer(text)]


def test_the_readme_is_short():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= 150, f"README.md has {n} lines; details belong in docs/"


def test_every_relative_link_in_the_readme_and_docs_resolves():
    broken = []
    for doc in DOCS:
        for target in _links(doc):
            if re.match(r"[a-z]+:", target):  # http(s), mailto: not checked offline
                continue
            file, _, anchor = target.partition("#")
            dest = (doc.parent / file).resolve() if file else doc
            if not dest.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_link_checker_sees_a_broken_link(tmp_path):
    doc = tmp_path / "a.md"
    doc.write_text("# Title\n\n[ok](#title) [bad](#nope) [file](b.md)\n")
    assert _links(doc) == ["#title", "#nope", "b.md"]
    assert _anchors(doc) == {"title"}


def test_no_timing_figure_appears_in_two_documentation_files():
    where: dict[str, set[str]] = defaultdict(set)
    for doc in DOCS:
        for m in FIGURE.finditer(doc.read_text()):
            where[f"{m.group(1)} {m.group(2)}"].add(doc.name)
    twice = {fig: sorted(files) for fig, files in where.items() if len(files) > 1}
    assert not twice, f"figures stated in more than one file (keep each in one place): {twice}"


def test_the_figure_pattern_catches_measurements_and_not_counts():
    text = "12.6 tok/s, 1,274 s, 0.63 GB, 4.23×, 2 cores, 49 use cases, v0.3.36"
    assert [m.group(0) for m in FIGURE.finditer(text)] == ["12.6 tok/s", "1,274 s", "0.63 GB", "4.23×"]
