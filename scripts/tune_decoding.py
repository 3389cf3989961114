#!/usr/bin/env python
"""Choose the demos' decoding settings on development sets, never on a test file.

    python scripts/tune_decoding.py --task translation   # data/tasks/translation/dev_everyday.tsv
    python scripts/tune_decoding.py --task qa [--n 200]  # a sample of data/tasks/qa/squad_train.jsonl
    python scripts/tune_decoding.py --task sentiment     # data/tasks/sentiment/dev_zh_unseen.csv

Runs the task's shipped version-2 model greedily and with a beam search (all hypotheses kept),
then prints the dev metric for each ranking setting: translation, length-normalisation alpha;
QA, alpha and the question-echo penalty (core.lm.inference.best_span); sentiment, the log-odds
prior `positive_bias` of the Chinese route's card (core.lm.inference.positive_bias). The constants in
core/lm/inference.py (TRANSLATION_ALPHA, QA_ALPHA, QA_ECHO_PENALTY) quote this output.
Dev sets: 60 everyday sentence pairs written for this project (en->zh, zh->en, en->fr, en->de,
15 each; none in test_everyday.tsv); 200 questions (seed 7) from the six SQuAD training articles,
which share no article with the QA test set; 80 Chinese reviews of hotels, restaurants, apps,
courses, trips and services (40 / 40, many mixed), written for this project, none in a test file.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=["qa", "translation", "sentiment"], required=True)
    p.add_argument("--n", type=int, default=200, help="QA: questions sampled from squad_train.jsonl")
    p.add_argument("--beams", type=int, default=4)
    args = p.parse_args(argv)

    import core.lm.inference as inf
    from core.lm import metrics
    from core.lm.beam import beam_search
    from core.lm.loader import load_model
    from core.lm.tasks import load_task_examples

    if args.task == "sentiment":
        return _sentiment_bias()
    lm = load_model(f"{args.task}-qwen2.5-0.5b")
    tok = lm.tokenizer
    decode = lambda ids: tok.decode(ids, skip_special_tokens=True).strip()  # noqa: E731
    if args.task == "translation":
        rows = load_task_examples("translation", ROOT / "data" / "tasks" / "translation" / "dev_everyday.tsv")
        greedy, hyps = [], []
        for e in rows:
            prompt = inf.translation_prompt(lm, e["source"], e["src_lang"], e["tgt_lang"])
            ids = tok(prompt, add_special_tokens=False)["input_ids"]
            bias = inf.script_bias(lm, e["tgt_lang"]).numpy()
            budget = inf.translation_budget(lm, e["source"])
            greedy.append(decode(beam_search(lm, ids, budget, beams=1, bias=bias)[0].ids))
            hyps.append(beam_search(lm, ids, budget, beams=args.beams, bias=bias, alpha=1.0))
        score = lambda out: metrics.translation_scores(out, [e["target"] for e in rows], [e["tgt_lang"] for e in rows],  # noqa: E731
                                                       [e["src_lang"] for e in rows])["chrf_4dir"]
        print(f"greedy: chrF {score(greedy):.1f}")
        for alpha in (0.0, 0.5, 1.0, 1.5):
            out = [decode(max(h, key=lambda x: x.score(alpha)).ids) if h else "" for h in hyps]
            print(f"{args.beams} beams, alpha {alpha}: chrF {score(out):.1f}")
        return 0
    rows = [json.loads(line) for line in (ROOT / "data" / "tasks" / "qa" / "squad_train.jsonl").open()]
    random.Random(7).shuffle(rows)
    rows = rows[:args.n]
    golds = [e["answers"] for e in rows]
    greedy, hyps = [], []
    for e in rows:
        passage, _ = inf.select_passage(lm, e["context"], e["question"])
        ids = tok(inf.build_prompt(lm, "qa", {"context": passage, "question": e["question"]}), add_special_tokens=False)["input_ids"]
        spans = inf.SpanChooser(tok, passage, set())
        greedy.append(decode(beam_search(lm, ids, 32, beams=1, allow=spans.fits)[0].ids))
        hyps.append(beam_search(lm, ids, 32, beams=args.beams, allow=spans.fits, alpha=0.0))
    f1 = lambda preds: metrics.qa_scores(preds, golds)  # noqa: E731
    s = f1(greedy)
    print(f"greedy: EM {s['exact_match']:.1f} F1 {s['f1']:.1f}")
    for alpha in (0.0, 0.5, 1.0):
        for penalty in (0.0, 2.0, 4.0, 8.0):
            out = []
            for e, h in zip(rows, hyps):
                pool = [x for x in h if x.finished] or h
                best = max(pool, key=lambda x: x.score(alpha) - penalty * inf.question_echo(decode(x.ids), e["question"])) if pool else None
                out.append(decode(best.ids) if best else "")
            s = f1(out)
            print(f"{args.beams} beams, alpha {alpha}, echo penalty {penalty}: EM {s['exact_match']:.1f} F1 {s['f1']:.1f}")
    return 0


def _sentiment_bias() -> int:
    """Accuracy on the Chinese dev set for each log-odds shift toward "positive"; the model's
    scores are computed once (through the demo's path, int8 decoder) and the shifts applied offline."""
    import math

    import core.lm.inference as inf
    from core.lm.loader import load_model
    from core.lm.tasks import load_task_examples

    rows = load_task_examples("sentiment", ROOT / "data" / "tasks" / "sentiment" / "dev_zh_unseen.csv")
    lm = load_model("sentiment-qwen2.5-0.5b", fast=True, device="cpu")
    lm.info.card = {**lm.info.card, "positive_bias": 0.0, "contrast_weight": 0.0}  # raw scores, shifted below
    eps = 1e-9
    logit = lambda p: math.log(max(p, eps) / max(1 - p, eps))  # noqa: E731
    whole = [logit(p.positive) for p in inf.predict_sentiment(lm, [e["text"] for e in rows])]
    tails = [inf.contrast_tail(e["text"]) for e in rows]
    has = [i for i, t in enumerate(tails) if t]
    tail = dict(zip(has, (logit(p.positive) for p in inf.predict_sentiment(lm, [tails[i] for i in has]))))
    print(f"{len(has)} of {len(rows)} dev reviews have a contrast clause")
    gold = [e["label"] == "positive" for e in rows]
    best = None
    for weight in (0.0, 0.25, 0.5, 0.75, 1.0):
        # binary labels: mixing the two label log-probs mixes their log-odds the same way
        odds = [(1 - weight) * w + weight * tail[i] if i in tail else w for i, w in enumerate(whole)]
        for step in range(-8, 13):
            bias = step * 0.25
            acc = 100 * sum((o + bias > 0) == g for o, g in zip(odds, gold)) / len(rows)
            mixed = sum(abs(1 / (1 + math.exp(-(o + bias))) - 0.5) < inf.MIXED_MARGIN for o in odds)
            print(f"contrast_weight {weight:.2f} positive_bias {bias:+.2f}: dev accuracy {acc:.1f}% ({mixed} flagged mixed)")
            key = (acc, -abs(bias), -weight)
            if best is None or key > best[0]:
                best = (key, weight, bias)
    print(f"best on dev: contrast_weight {best[1]:.2f}, positive_bias {best[2]:+.2f} ({best[0][0]:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
