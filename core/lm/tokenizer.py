"""Tokenizers trained with `tokenizers` on the corpus: char-level (every character one token,
for small corpora) or byte-level BPE, saved and loaded as a transformers PreTrainedTokenizerFast
inside the model directory."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Literal

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

EOS = "<|endoftext|>"
UNK = "<unk>"
Kind = Literal["char", "bpe"]


def _chunks(text: str, size: int = 1 << 16) -> Iterable[str]:
    for i in range(0, len(text), size):
        yield text[i:i + size]


def train_char_tokenizer(text: str) -> Tokenizer:
    """One token per distinct character in the corpus, plus <|endoftext|> and <unk>."""
    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    # Split "[\s\S]" (not "."): newlines are characters too.
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    trainer = trainers.WordLevelTrainer(vocab_size=1 << 20, min_frequency=1, special_tokens=[EOS, UNK])
    tok.train_from_iterator(_chunks(text), trainer=trainer)
    return tok


def train_bpe_tokenizer(text: str, vocab_size: int = 4096) -> Tokenizer:
    """GPT-2 style byte-level BPE: any text encodes, nothing is ever unknown."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), min_frequency=2)
    tok.train_from_iterator(text.splitlines(keepends=True), trainer=trainer)
    return tok


def train_tokenizer(text: str, kind: Kind = "char", vocab_size: int = 4096) -> PreTrainedTokenizerFast:
    if not text:
        raise ValueError("cannot train a tokenizer on an empty corpus")
    if kind == "char":
        raw = train_char_tokenizer(text)
        extra = {"unk_token": UNK}
    elif kind == "bpe":
        raw = train_bpe_tokenizer(text, vocab_size)
        extra = {}
    else:
        raise ValueError(f"tokenizer must be 'char' or 'bpe', got {kind!r}")
    return PreTrainedTokenizerFast(tokenizer_object=raw, bos_token=EOS, eos_token=EOS, pad_token=EOS, **extra)


def encode_corpus(tokenizer: PreTrainedTokenizerFast, text: str) -> list[int]:
    """Encode a whole corpus in batches (byte-level BPE on line boundaries, char-level anywhere)."""
    backend = tokenizer.backend_tokenizer
    pieces = text.splitlines(keepends=True) if _is_bpe(tokenizer) else list(_chunks(text))
    ids: list[int] = []
    for enc in backend.encode_batch(pieces, add_special_tokens=False):
        ids.extend(enc.ids)
    return ids


def _is_bpe(tokenizer: PreTrainedTokenizerFast) -> bool:
    return isinstance(tokenizer.backend_tokenizer.model, models.BPE)


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, directory: Path | str) -> None:
    tokenizer.save_pretrained(str(directory))


def load_tokenizer(directory: Path | str) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast.from_pretrained(str(directory))
