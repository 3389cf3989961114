"""Why the engine has its own loop: per-step time of transformers.Trainer vs core.lm.train.Trainer
on the nanoGPT CPU model (GPT-2 4L/4H/128d, batch 12 x 64, AdamW, clipping, no evaluation).

Both run eager, the same model and batch shapes, same torch threads, alternating rounds in one
process; the median step time after warm-up is reported. HF's Trainer gets the same settings
(adamw_torch_fused, cosine schedule with warmup, max_grad_norm 1, no logging/saving/eval).

  .venv/bin/python bench/trainer_overhead.py [--steps 60] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.lm.train import Trainer, TrainConfig  # noqa: E402

DATA = Path("/work/shared/data/tinyshakespeare.txt")


class BlockDataset(torch.utils.data.Dataset):
    def __init__(self, ids: torch.Tensor, block: int, n: int):
        gen = torch.Generator().manual_seed(0)
        self.starts = torch.randint(len(ids) - block - 1, (n,), generator=gen)
        self.ids, self.block = ids, block

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i):
        s = int(self.starts[i])
        chunk = self.ids[s:s + self.block]
        return {"input_ids": chunk, "labels": chunk.clone()}


def hf_step_times(model, dataset, steps: int, threads: int) -> list[float]:
    from transformers import Trainer as HFTrainer, TrainerCallback, TrainingArguments

    times: list[float] = []

    class Clock(TrainerCallback):
        """Time between consecutive step ends: everything a step costs (data, hooks, optimizer)."""

        last: float | None = None

        def on_step_end(self, args, state, control, **kw):
            now = time.perf_counter()
            if self.last is not None:
                times.append(now - self.last)
            self.last = now

    args = TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=12, max_steps=steps,
                             learning_rate=1e-3, lr_scheduler_type="cosine", warmup_steps=10, weight_decay=0.1,
                             adam_beta2=0.99, max_grad_norm=1.0, optim="adamw_torch_fused", logging_strategy="no",
                             save_strategy="no", eval_strategy="no", report_to=[], use_cpu=True,
                             dataloader_num_workers=0, disable_tqdm=True)
    torch.set_num_threads(threads)
    HFTrainer(model=model, args=args, train_dataset=dataset, callbacks=[Clock()]).train()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    config = TrainConfig(corpus=str(DATA), n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12,
                         max_iters=args.steps * args.rounds + 1, eval_interval=10 ** 9, eval_iters=1,
                         log_interval=10 ** 9, threads=args.threads, out=str(out / "engine"))
    engine = Trainer(config)
    from core.lm.gpt import GPTConfig, build_gpt
    from core.lm.tokenizer import encode_corpus

    ids = torch.tensor(encode_corpus(engine.data.tokenizer, DATA.read_text(encoding="utf-8")))
    dataset = BlockDataset(ids, 64, 12 * args.steps)
    warm = 5
    ours, theirs = [], []
    for _ in range(args.rounds):
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            engine.train_step()
            times.append(time.perf_counter() - t0)
        ours += times[warm:]
        torch.manual_seed(0)
        model = build_gpt(GPTConfig(vocab_size=len(engine.data.tokenizer)))
        theirs += hf_step_times(model, dataset, args.steps, args.threads)[warm:]
    result = {"threads": args.threads, "steps_measured_each": len(ours),
              "engine_ms_per_step": round(1000 * statistics.median(ours), 1),
              "hf_trainer_ms_per_step": round(1000 * statistics.median(theirs), 1),
              "hf_over_engine": round(statistics.median(theirs) / statistics.median(ours), 2)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
