"""What a run trains on: the model, tokenizer and batches for training from scratch (a corpus,
a tokenizer trained on it, a fresh GPT) or fine-tuning (a base from the loader, task pairs, LoRA),
and the sample shown at each evaluation."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.lm.data import PairDataset, TokenStream, split_pairs
from core.lm.train_config import TrainConfig


@torch.no_grad()
def sample_text(model, tokenizer, config: TrainConfig, prompt: str | None) -> str:
    """A sample for the eval log: from scratch, sampled char/BPE text with a sliding context
    (nanoGPT's generate); fine-tuned, a greedy answer to a held-out prompt. The global RNG is
    forked so sampling never changes the training stream."""
    model.eval()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            device = next(model.parameters()).device
            if config.kind == "scratch":
                start = tokenizer("\n", add_special_tokens=False)["input_ids"] or [tokenizer.eos_token_id]
                idx = torch.tensor([start[-1:]], device=device)
                for _ in range(config.sample_tokens):
                    logits = model(input_ids=idx[:, -config.block_size:]).logits[:, -1, :] / 0.8
                    top = torch.topk(logits, min(50, logits.size(-1)))
                    logits[logits < top.values[:, [-1]]] = -float("inf")
                    idx = torch.cat([idx, torch.multinomial(torch.softmax(logits, -1), 1)], dim=1)
                return tokenizer.decode(idx[0, 1:].tolist())
            ids = tokenizer(prompt or "", return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
            positions = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", None)
            if positions:
                ids = ids[:, -max(1, positions - 32):]  # room for the answer inside the position table
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=32,
                                 do_sample=False, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
            return tokenizer.decode(out[0, ids.size(1):], skip_special_tokens=True)
    finally:
        model.train()


# ------------------------------------------------------------------ the run
@dataclass
class RunData:
    model: torch.nn.Module
    tokenizer: Any
    train_batch: Any  # callable(batch_size, generator) -> Batch
    eval_batches: Any  # callable(split, generator) -> iterator of Batch
    sample_prompt: str | None
    info: dict = field(default_factory=dict)


def setup_scratch(config: TrainConfig, out: Path, resuming: bool) -> RunData:
    from core.lm import corpora
    from core.lm.gpt import GPTConfig, build_gpt, parameter_count
    from core.lm.tokenizer import encode_corpus, load_tokenizer, train_tokenizer

    text = corpora.read_corpus(config.corpus)
    tok_dir = out / "tokenizer"
    if resuming and (tok_dir / "tokenizer.json").is_file():
        tokenizer = load_tokenizer(tok_dir)
    else:
        tokenizer = train_tokenizer(text, config.tokenizer, config.vocab_size)
        tokenizer.save_pretrained(str(tok_dir))
    stream = TokenStream(encode_corpus(tokenizer, text), config.block_size)
    gpt = GPTConfig(n_layer=config.n_layer, n_head=config.n_head, n_embd=config.n_embd,
                    block_size=config.block_size, vocab_size=len(tokenizer), dropout=config.dropout,
                    bias=config.bias, activation=config.activation, bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                    pad_token_id=None)  # no padding from scratch (and no HF padding warning)
    model = build_gpt(gpt)

    def eval_batches(split, generator):
        return (stream.batch(split, config.batch_size, generator) for _ in range(config.eval_iters))

    return RunData(model=model, tokenizer=tokenizer,
                  train_batch=lambda bs, g: stream.batch("train", bs, g), eval_batches=eval_batches,
                  sample_prompt=None,
                  info={"parameters": parameter_count(model),
                        "trainable_parameters": parameter_count(model, trainable_only=True), "vocab_size": len(tokenizer),
                        "train_tokens": len(stream.splits["train"]), "val_tokens": len(stream.splits["val"])})


def setup_finetune(config: TrainConfig) -> RunData:
    from core.lm import tasks
    from core.lm.loader import load_model

    from core.lm.gpt import freeze_biases_if_bias_free

    loaded = load_model(config.base, for_training=True)
    model, tokenizer = loaded.model, loaded.tokenizer
    freeze_biases_if_bias_free(model)  # a bias-free studio GPT stays bias-free when fine-tuned
    examples = tasks.load_task_examples(config.task, Path(config.data))
    pairs = [tasks.build_training_pair(config.task, ex, tokenizer, config.prompt_version) for ex in examples]
    if config.val_data:
        val_pairs = [tasks.build_training_pair(config.task, ex, tokenizer, config.prompt_version)
                     for ex in tasks.load_task_examples(config.task, Path(config.val_data))]
        train_pairs = pairs
    else:
        train_pairs, val_pairs = split_pairs(pairs, seed=config.seed)
    # A sequence cannot be longer than the base's position table (a small GPT from the studio).
    positions = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", None)
    max_length = min(config.block_size, positions) if positions else config.block_size
    train_set = PairDataset(train_pairs, tokenizer, max_length)
    val_set = PairDataset(val_pairs, tokenizer, max_length)
    if config.lora:
        from peft import LoraConfig, get_peft_model

        names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
        targets = [n for n in ("q_proj", "k_proj", "v_proj", "o_proj", "c_attn", "c_proj") if n in names]
        model = get_peft_model(model, LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                                                 lora_dropout=0.05, target_modules=targets or "all-linear",
                                                 task_type="CAUSAL_LM"))
    model.train()

    def eval_batches(split, generator):
        if split == "val":
            return val_set.batches_in_order(config.batch_size, limit=config.eval_iters)
        return (train_set.batch(config.batch_size, generator) for _ in range(config.eval_iters))

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return RunData(model=model, tokenizer=tokenizer, train_batch=train_set.batch, eval_batches=eval_batches,
                  sample_prompt=val_pairs[0][0],
                  info={"parameters": sum(p.numel() for p in model.parameters()), "trainable_parameters": trainable,
                        "train_examples": len(train_set), "val_examples": len(val_set)})


