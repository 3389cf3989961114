"""Tokenizers, corpora and uploads, the model registry and its CLI."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.lm import corpora, registry
from core.lm.data import PairDataset, TokenStream, split_pairs
from core.lm.tokenizer import encode_corpus, load_tokenizer, train_tokenizer
from tests.conftest import ROOT

TEXT = "To be, or not to be: that is the question.\n" * 40 + "床前明月光，疑是地上霜。\n" * 20


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_tokenizers_round_trip_english_and_chinese(kind, tmp_path):
    tok = train_tokenizer(TEXT, kind, vocab_size=300)
    ids = encode_corpus(tok, TEXT)
    assert tok.decode(ids) == TEXT
    tok.save_pretrained(str(tmp_path))
    again = load_tokenizer(tmp_path)
    assert again.decode(again("明月 question\n", add_special_tokens=False)["input_ids"]) == "明月 question\n"
    assert again.eos_token_id == tok.eos_token_id


def test_char_tokenizer_has_one_token_per_distinct_character():
    tok = train_tokenizer(TEXT, "char")
    assert len(tok) == len(set(TEXT)) + 2  # plus <|endoftext|> and <unk>
    assert len(encode_corpus(tok, TEXT)) == len(TEXT)


def test_token_stream_batches_are_shifted_by_one_and_split_train_val():
    stream = TokenStream(list(range(1000)), block_size=8)
    import torch

    b = stream.batch("val", 4, torch.Generator().manual_seed(0))
    assert b.x.shape == (4, 8) and (b.y == b.x + 1).all()
    assert b.x.min() >= 900  # the validation split is the last 10%
    with pytest.raises(ValueError, match="too short"):
        TokenStream(list(range(50)), block_size=8)


def test_pair_dataset_puts_the_loss_on_the_target_only():
    tok = train_tokenizer(TEXT, "char")
    ds = PairDataset([("To be", " or not"), ("that", " is")], tok, max_length=32)
    batch = ds.collate(ds.examples)
    first_target = batch.y[0][batch.y[0] != -100]
    assert tok.decode(first_target.tolist()).startswith(" or not")
    assert batch.mask[1].sum() < batch.mask[0].sum()  # the shorter row is padded, not attended
    train, val = split_pairs(list(range(20)))
    assert len(val) == 2 and not set(train) & set(val)


def test_bundled_corpora_are_listed_with_their_cards():
    names = {c.name: c for c in corpora.list_corpora()}
    assert {"shakespeare", "sotu", "tang_poetry"} <= set(names)
    assert names["tang_poetry"].chars < names["tang_poetry"].path.stat().st_size  # characters, not bytes
    assert "public domain" in corpora.card_summary("shakespeare")["licence"]
    assert "Hamlet" in names["shakespeare"].preview().title()


@pytest.mark.parametrize("filename, raw, message", [
    ("notes.exe", b"x" * 2000, "unsupported file type"),
    ("latin1.txt", "café ".encode("latin-1") * 400, "not UTF-8"),
    ("short.txt", b"too short", "at least"),
    ("binary.txt", b"\x00" * 2000, "binary"),
    ("rows.jsonl", b'{"text": "ok"}\n{broken\n', "line 2"),
])
def test_bad_uploads_are_rejected_and_nothing_is_written(filename, raw, message):
    before = set(corpora.uploads_dir().glob("*")) if corpora.uploads_dir().exists() else set()
    with pytest.raises(corpora.CorpusError, match=message):
        corpora.save_upload(filename, raw)
    after = set(corpora.uploads_dir().glob("*")) if corpora.uploads_dir().exists() else set()
    assert after == before


def test_upload_size_limit(monkeypatch):
    monkeypatch.setenv("OPPLAB_MAX_UPLOAD_MB", "1")
    with pytest.raises(corpora.CorpusError, match="limit is 1 MB"):
        corpora.extract_text("big.txt", b"a" * (1024 * 1024 + 1))


def test_csv_and_jsonl_uploads_become_text_corpora():
    csv_text = "id,text\n" + "".join(f"{i},a line of prose number {i}\n" for i in range(100))
    corpus = corpora.save_upload("../../My Notes.csv", csv_text.encode())
    # named after the content, never after the client's file name
    assert corpus.name.startswith("upload-") and not corpus.bundled
    assert corpus.path.parent == corpora.uploads_dir()
    assert corpora.save_upload("other.csv", csv_text.encode()).path == corpus.path  # same content, one corpus
    assert "a line of prose number 7" in corpus.path.read_text() and ",7" not in corpus.path.read_text()
    jsonl = "".join(json.dumps({"text": f"sentence {i} " * 5}) + "\n" for i in range(60))
    assert "sentence 3" in corpora.extract_text("x.jsonl", jsonl.encode())
    assert corpora.resolve(corpus.name) == corpus.path


def test_registry_upserts_and_lists_the_base_and_shipped_models(tmp_path):
    registry.register_model("test-model", "sentiment", "smollm2-135m-instruct", tmp_path, {"accuracy": 0.5})
    registry.register_model("test-model", "sentiment", "smollm2-135m-instruct", tmp_path, {"accuracy": 0.9})
    got = registry.get_model("test-model")
    assert got.metrics == {"accuracy": 0.9} and got.task == "sentiment"
    assert "test-model" in [m.id for m in registry.list_models("sentiment")]
    assert "test-model" not in [m.id for m in registry.list_models("qa")]
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        registry.get_model("nope")
    r = subprocess.run([sys.executable, "-m", "core", "models", "--json"], cwd=ROOT, capture_output=True, text=True)
    listed = {m["id"]: m for m in json.loads(r.stdout)}
    assert listed["test-model"]["metrics"] == {"accuracy": 0.9}
    for base in registry._base_models():  # every bundled base whose converted copy is on disk
        assert base.id in listed
    registry.unregister_model("test-model")


def test_thread_tuner_keeps_the_fastest_count_and_checks_again_later():
    from core.lm.threads import ThreadTuner

    tuner = ThreadTuner(max_threads=2, every=5, trial=2)
    fake_seconds = {1: 0.03, 2: 0.09}  # a busy neighbour: two threads stall each other
    for _ in range(4):
        n = tuner.threads_for_next_step()
        tuner.record(n, fake_seconds[n])
    assert not tuner.exploring and tuner.best == 1
    for _ in range(5):
        tuner.record(tuner.threads_for_next_step(), 0.03)
    assert tuner.threads_for_next_step() in (1, 2) and tuner.exploring  # re-measures as load changes
    fake_seconds = {1: 0.05, 2: 0.03}  # the neighbour is gone
    for _ in range(4):
        n = tuner.threads_for_next_step()
        tuner.record(n, fake_seconds[n])
    assert tuner.best == 2
