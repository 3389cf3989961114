"""python -m core generate: generate text with a model (the demos' fast decoder) and report speed.

  python -m core generate --model smollm2-135m-instruct --prompt "Tell me about Paris" --max-new-tokens 64 --greedy --json

Options: --model ID|DIR (default: the measured generation default for --lang en|zh), --prompt TEXT (required), --chat (wrap the prompt in the model's chat
template), --max-new-tokens N, --greedy, --temperature, --top-k, --top-p,
--repetition-penalty, --seed, --plain (transformers' forward instead of the fast decoder),
--json (text, tokens_per_second, ttft_ms, ...). Text streams to stdout unless --json.
"""
from __future__ import annotations

import argparse
import json
import sys

from core.cli import CliParser


def main(argv: list[str]) -> int:
    p = CliParser(prog="python -m core generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="default: the generation default for --lang "
                   "(core.lm.registry.default_generation_model)")
    p.add_argument("--lang", default="en", choices=["en", "zh"], help="the language the default model is chosen for")
    p.add_argument("--prompt", required=True)
    p.add_argument("--chat", action="store_true", help="apply the model's chat template")
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--greedy", action="store_true")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-k", type=int, default=50)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--repetition-penalty", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--plain", action="store_true", help="transformers forward instead of the fast decoder")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    from transformers.utils import logging as hf_logging

    from core.lm.generate import Generation, GenerationError, GenerationParams
    from core.lm.loader import ModelLoadError, load_model
    from core.lm.tasks import chat_prompt

    hf_logging.disable_progress_bar()  # stderr carries the speed line or one error line, not bars
    try:
        params = GenerationParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                                  top_p=args.top_p, repetition_penalty=args.repetition_penalty, seed=args.seed,
                                  greedy=args.greedy).validate()
        from core.lm.registry import default_generation_model

        lm = load_model(args.model or default_generation_model(args.lang), fast=not args.plain)
        prompt = chat_prompt([{"role": "user", "content": args.prompt}], lm.tokenizer) if args.chat else args.prompt
        gen = Generation(lm, prompt, params, use_fast=not args.plain)
        for piece in gen:
            if not args.json:
                print(piece, end="", flush=True)
    except (GenerationError, ModelLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    r = gen.result
    if args.json:
        print(json.dumps({"model": lm.info.id, **r.to_dict()}, ensure_ascii=False))
    else:
        print(f"\n\n[{r.n_new_tokens} tokens, {r.tokens_per_second:.1f} tokens/s, first token {r.ttft_ms:.0f} ms, {r.decoder}]",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
