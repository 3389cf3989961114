#!/usr/bin/env python
"""Choose the demos' decoding settings on development sets, never on a test file.

    python scripts/tune_decoding.py --task translation   # data/tasks/translation/dev_everyday.tsv
    python scripts/tune_decoding.py --task qa [--n 200]  # a sample of data/tasks/qa/squad_train.jsonl

Runs the task's shipped version-2 model greedily and with a beam search (all hypotheses kept),
then prints the dev metric for each ranking setting: translation, length-normalisation alpha;
QA, alpha and the question-echo penalty (core.lm.inference.best_span). The constants in
core/lm/inference.py (TRANSLATION_ALPHA, QA_ALPHA, QA_ECHO_PENALTY) quote this output.
Dev sets: 60 everyday sentence pairs written for this project (en->zh, zh->en, en->fr, en->de,
15 each; none in test_everyday.tsv); 200 questions (seed 7) from the six SQuAD training articles,
which share no article with the QA test set.
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
    p.add_argument("--task", choices=["qa", "translation"], required=True)
    p.add_argument("--n", type=int, default=200, help="QA: questions sampled from squad_train.jsonl")
    p.add_argument("--beams", type=int, default=4)
    args = p.parse_args(argv)

    import core.lm.inference as inf
    from core.lm import metrics
    from core.lm.beam import beam_search
    from core.lm.loader import load_model
    from core.lm.tasks import load_task_examples

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


if __name__ == "__main__":
    sys.exit(main())
