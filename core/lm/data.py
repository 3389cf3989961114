"""Datasets for language modelling: a token stream cut into random blocks (from scratch), and
prompt/target pairs with the loss on the target only (fine-tuning). Both yield (x, y, mask) with
y already shifted, so one loss function serves both: cross-entropy over y != -100."""
from __future__ import annotations

from dataclasses import dataclass

import torch

IGNORE = -100


@dataclass
class Batch:
    x: torch.Tensor  # (B, T) input ids
    y: torch.Tensor  # (B, T) next-token targets, IGNORE where no loss
    mask: torch.Tensor | None  # (B, T) attention mask, None when every position is real

    @property
    def tokens(self) -> int:
        return int(self.mask.sum()) if self.mask is not None else self.x.numel()


class TokenStream:
    """A 1-D token tensor split into train (first part) and validation (last part)."""

    def __init__(self, ids: list[int] | torch.Tensor, block_size: int, val_fraction: float = 0.1):
        data = torch.as_tensor(ids, dtype=torch.long)
        n_val = int(len(data) * val_fraction)
        if len(data) - n_val <= block_size + 1 or n_val <= block_size + 1:
            raise ValueError(
                f"the corpus is too short for block size {block_size}: {len(data)} tokens; it needs "
                f"more than {int((block_size + 2) / min(val_fraction, 1 - val_fraction))} tokens, "
                "or a smaller block size")
        self.block_size = block_size
        self.splits = {"train": data[: len(data) - n_val], "val": data[len(data) - n_val:]}
        self._offsets = torch.arange(block_size + 1)

    def batch(self, split: str, batch_size: int, generator: torch.Generator) -> Batch:
        data = self.splits[split]
        start = torch.randint(len(data) - self.block_size - 1, (batch_size,), generator=generator)
        chunk = data[start[:, None] + self._offsets]  # (B, T+1) by one gather, no Python loop
        return Batch(x=chunk[:, :-1], y=chunk[:, 1:], mask=None)


class PairDataset:
    """(prompt, target) pairs tokenised once; batches are right-padded, loss on the target only."""

    def __init__(self, pairs: list[tuple[str, str]], tokenizer, max_length: int):
        if not pairs:
            raise ValueError("no training examples")
        eos = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
        self.examples: list[tuple[list[int], list[int]]] = []
        for prompt, target in pairs:
            p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            t = tokenizer(target, add_special_tokens=False)["input_ids"]
            if eos is not None and (not t or t[-1] != eos):  # tasks.build_training_pair usually adds it
                t.append(eos)
            t = t[: max_length]
            p = p[-(max_length + 1 - len(t)):] if len(p) + len(t) > max_length + 1 else p  # keep the prompt's end
            ids = p + t
            labels = [IGNORE] * len(p) + t
            self.examples.append((ids, labels))

    def __len__(self) -> int:
        return len(self.examples)

    def collate(self, rows: list[tuple[list[int], list[int]]]) -> Batch:
        width = max(len(ids) for ids, _ in rows) - 1
        x = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        y = torch.full((len(rows), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (ids, labels) in enumerate(rows):
            n = len(ids) - 1
            x[i, :n] = torch.tensor(ids[:-1])
            y[i, :n] = torch.tensor(labels[1:])
            mask[i, :n] = 1
        return Batch(x=x, y=y, mask=mask)

    def batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        idx = torch.randint(len(self.examples), (batch_size,), generator=generator).tolist()
        return self.collate([self.examples[i] for i in idx])

    def batches_in_order(self, batch_size: int, limit: int | None = None):
        """Deterministic pass over the examples (evaluation)."""
        for n, i in enumerate(range(0, len(self.examples), batch_size)):
            if limit is not None and n >= limit:
                return
            yield self.collate(self.examples[i:i + batch_size])


def split_pairs(pairs: list, val_fraction: float = 0.1, seed: int = 0) -> tuple[list, list]:
    """A fixed shuffled split; at least one example on each side when there are two or more."""
    if len(pairs) < 2:
        raise ValueError("at least two examples are needed to hold one out for evaluation")
    order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(seed)).tolist()
    n_val = min(max(1, int(len(pairs) * val_fraction)), len(pairs) - 1)
    return [pairs[i] for i in order[n_val:]], [pairs[i] for i in order[:n_val]]
