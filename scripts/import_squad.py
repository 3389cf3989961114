"""Import the SQuAD 2.0 material into data/tasks/qa/, split by article (never by question).

    python scripts/import_squad.py [--source ../shared/data/squad2_dev_9articles.jsonl]

Source: 1,775 answerable SQuAD 2.0 dev questions from 9 Wikipedia articles (Rajpurkar et al.
2018, CC BY-SA 4.0; CS224n's half of the official dev set). Writes
- data/tasks/qa/squad_train.jsonl: every question of the six training articles (for fine-tuning);
- data/tasks/qa/squad_test.jsonl: QUESTIONS_PER_TEST_ARTICLE questions of each of the three test
  articles, drawn with a fixed seed;
- data/tasks/qa/test_realistic.jsonl: those, then the hand-written company and news paragraphs of
  data/tasks/qa/company_test.jsonl (the QA card's test set; see data/cards/task_qa.md).
The product itself never reads ../shared; only this script does.
"""
from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_ARTICLES = ("Harvard_University", "French_and_Indian_War", "Immune_system")
QUESTIONS_PER_TEST_ARTICLE = 40
SEED = 20261129


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "squad2_dev_9articles.jsonl"))
    args = ap.parse_args()
    by_title: dict[str, list[dict]] = defaultdict(list)
    for line in Path(args.source).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            by_title[row["title"]].append({"context": row["context"], "question": row["question"],
                                           "answers": row["answers"], "title": row["title"]})
    missing = [t for t in TEST_ARTICLES if t not in by_title]
    if missing:
        raise SystemExit(f"test articles missing from the source: {missing}")
    rng = random.Random(SEED)
    train = [r for t in sorted(by_title) if t not in TEST_ARTICLES for r in by_title[t]]
    test = [r for t in TEST_ARTICLES for r in rng.sample(by_title[t], QUESTIONS_PER_TEST_ARTICLE)]
    out = ROOT / "data" / "tasks" / "qa"
    for name, rows in (("squad_train.jsonl", train), ("squad_test.jsonl", test)):
        (out / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"{name}: {len(rows)} questions from {len({r['title'] for r in rows})} articles")
    company = [json.loads(line) for line in (out / "company_test.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    realistic = test + company
    (out / "test_realistic.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in realistic), encoding="utf-8")
    print(f"test_realistic.jsonl: {len(realistic)} questions ({len(test)} SQuAD, {len(company)} company/news)")


if __name__ == "__main__":
    main()
