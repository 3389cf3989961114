"""Task inference that holds up on real inputs: answers confined to the context, long inputs cut
or chunked with a note, label scoring in bounded memory, prompts that pin the target language,
and the bundled bases' supply-chain checks."""
from __future__ import annotations

import hashlib
import json

import pytest
import torch

from core.lm import base, inference, metrics, registry, tasks
from core.lm.loader import load_model
from tests.demos_tiny import make_tiny_llama


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_llama(tmp_path_factory.mktemp("tiny-inf") / "tiny-llama", seed=3)


@pytest.fixture(scope="module")
def tiny(tiny_dir):
    return load_model(str(tiny_dir))


COMPANY = ("Acme Health builds software that turns doctors' notes into insurance forms. It was founded in 2019 "
           "in Shanghai and has 120 employees. In 2024 it raised a Series B of 40 million US dollars led by "
           "Sequoia China. Its product is used in 300 hospitals across 9 provinces.")


# ------------------------------------------------------------------ QA: extractive by construction
@pytest.mark.parametrize("question", ["How much did Acme Health raise in its Series B?", "Who led the round?",
                                      "Where was it founded?"])
def test_a_random_model_can_only_answer_with_words_of_the_context(tiny, question):
    answer = inference.answer_question(tiny, COMPANY, question)
    # an untrained model still cannot invent: the answer is a span of the context, or empty
    assert answer.text == "" or answer.start is not None
    if answer.text:
        assert COMPANY[answer.start:answer.end].casefold() == answer.text.casefold()


def test_the_span_chooser_takes_the_likeliest_token_that_stays_in_the_context(tiny):
    tok = tiny.tokenizer
    stop = {tok.eos_token_id}
    chooser = inference.SpanChooser(tok, "the cat sat", stop, k=5)
    vocab = len(tok)
    logits = torch.full((vocab,), -10.0)
    dog, cat = tok(" dog", add_special_tokens=False)["input_ids"][0], tok(" cat", add_special_tokens=False)["input_ids"][0]
    logits[dog], logits[cat], logits[tok.eos_token_id] = 5.0, 4.0, 6.0
    assert chooser(logits, []) == cat  # end of answer refused while empty; " dog" is not in the context
    assert chooser(logits, [cat]) == tok.eos_token_id  # once not empty, stopping is allowed


def test_a_long_context_is_cut_to_the_passage_that_matches_the_question(tiny):
    filler = " ".join(f"Paragraph {i} talks about weather, sports and cooking in town {i}." for i in range(400))
    context = filler + " The Zorblax prize was won by Marta Okonkwo in 2031. " + filler
    passage, note = inference.select_passage(tiny, context, "Who won the Zorblax prize?", max_tokens=200)
    assert "Marta Okonkwo" in passage and note
    assert len(tiny.tokenizer(passage, add_special_tokens=False)["input_ids"]) <= 200
    same, no_note = inference.select_passage(tiny, COMPANY, "Who led the round?")
    assert same == COMPANY and no_note == ""
    answer = inference.answer_question(tiny, context, "Who won the Zorblax prize?")
    assert answer.note  # the page shows it


# ------------------------------------------------------------------ sentiment: bounded memory
def _naive_label_logprobs(lm, prompt_ids, labels):
    rows = []
    for ids in prompt_ids:
        row = []
        for lab in labels:
            logp = lm.model(torch.tensor([ids + lab])).logits[0].float().log_softmax(-1)
            row.append(sum(float(logp[len(ids) - 1 + k, t]) for k, t in enumerate(lab)))
        rows.append(row)
    return torch.tensor(rows)


@pytest.mark.parametrize("labels", [None, [[17, 29], [301, 5, 88]]])
def test_label_scoring_in_small_batches_equals_scoring_every_full_sequence(tiny, labels, monkeypatch):
    monkeypatch.setenv("OPPLAB_MAX_BATCH_MB", "16")  # forces batches of one or two rows
    if labels is not None:  # multi-token labels continue from the prompt's cache
        monkeypatch.setattr(inference, "_label_token_ids", lambda tok: labels)
    prompts = [tiny.tokenizer(t, add_special_tokens=False)["input_ids"]
               for t in ("Great film, loved it", "Awful.", "It was fine I guess but long " * 20)]
    ours = inference._label_logprobs(tiny, prompts)
    want = _naive_label_logprobs(tiny, prompts, labels or inference._label_token_ids(tiny.tokenizer))
    torch.testing.assert_close(ours, want, atol=2e-4, rtol=1e-4)


def test_rows_per_batch_follows_the_memory_budget(tiny, monkeypatch):
    monkeypatch.setenv("OPPLAB_MAX_BATCH_MB", "64")
    small = inference.rows_per_batch(tiny, 1000)
    monkeypatch.setenv("OPPLAB_MAX_BATCH_MB", "4096")
    assert inference.rows_per_batch(tiny, 1000) > small >= 1
    assert inference.rows_per_batch(tiny, 10**9) == 1


def test_long_reviews_keep_head_and_tail_and_say_so(tiny):
    ids = list(range(5000))
    cut, was_cut = inference.head_and_tail(ids, 1024)
    assert was_cut and len(cut) == 1024 and cut[0] == 0 and cut[-1] == 4999
    assert inference.head_and_tail(ids[:10], 1024) == (ids[:10], False)
    review = "The plot drags. " * 2000 + "Overall a wonderful film."
    pred = inference.predict_sentiment(tiny, [review, "Short and sweet."])
    assert pred[0].truncated and not pred[1].truncated
    assert 0.0 <= pred[0].positive <= 1.0


def test_batch_scoring_reports_progress_batch_by_batch_up_to_every_text(tiny, tiny_dir, monkeypatch):
    monkeypatch.setenv("OPPLAB_MAX_BATCH_MB", "16")  # several batches
    texts = ["Great film, loved it", "Awful.", "The plot drags. " * 300, "Fine.", "好看极了，强烈推荐这部电影。"]
    seen, locked = [], []

    def progress(done, total):
        seen.append((done, total))
        locked.append(tiny.lock.locked())  # between batches other sessions may decode on these weights
    preds = inference.predict_sentiment(tiny, texts, progress=progress)
    assert len(preds) == 5 and seen[0] == (0, 5) and seen[-1] == (5, 5) and len(seen) > 2
    assert not any(locked)
    assert all(b[0] >= a[0] and b[1] == 5 for a, b in zip(seen, seen[1:]))
    # a routed model counts across its languages' groups
    from core.lm.loader import RoutedModel
    routed = RoutedModel(info=registry.ModelInfo(id="routed", task="sentiment", base="", path=tiny_dir),
                         routes={"default": tiny, "zh": tiny})
    seen.clear()
    routed_preds = inference.predict_sentiment(routed, texts, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (5, 5) and all(b[0] >= a[0] for a, b in zip(seen, seen[1:]))
    assert [p.label for p in routed_preds] == [p.label for p in preds]


def test_close_label_probabilities_are_flagged_mixed():
    assert inference.SentimentPrediction("positive", 0.55, 0.55).mixed
    assert not inference.SentimentPrediction("negative", 0.9, 0.1).mixed


# ------------------------------------------------------------------ translation
def test_prompt_version_2_pins_the_target_language_in_a_system_turn(tiny):
    example = {"source": "Our product cuts paperwork by half.", "src_lang": "en", "tgt_lang": "zh"}
    v2 = tasks.build_prompt("translation", example, tiny.tokenizer, version=2)
    assert "Simplified Chinese" in v2 and "translation only" in v2 and v2.index("system") < v2.index(example["source"])
    assert "Simplified Chinese" not in tasks.build_prompt("translation", example, tiny.tokenizer, version=1)
    with pytest.raises(tasks.TaskDataError):
        tasks.build_prompt("translation", example, tiny.tokenizer, version=7)


def test_long_texts_are_translated_in_chunks_of_whole_sentences(tiny):
    text = "\n".join(" ".join(f"Sentence {p}.{i} is about our product." for i in range(30)) for p in range(3))
    chunks, cut = inference.translation_chunks(tiny, text)
    assert not cut and len(chunks) > 3
    assert all(len(tiny.tokenizer(c, add_special_tokens=False)["input_ids"]) <= inference.CHUNK_TOKENS + 20 for c, _ in chunks)
    assert [sep for _, sep in chunks].count("\n") == 2  # paragraph breaks survive
    assert " ".join(c for c, _ in chunks).replace("\n", " ").split() == text.replace("\n", " ").split()
    _, cut = inference.translation_chunks(tiny, "word " * 2_000)
    assert cut and inference.translation_is_cut("word " * 2_000)
    assert not inference.translation_is_cut("  " + "x" * inference.MAX_TRANSLATION_CHARS + "\n")


def test_four_direction_chrf_is_the_mean_of_out_of_and_into_english():
    refs = ["我们的产品", "Our product", "Notre produit", "Unser Produkt"]
    out = metrics.translation_scores(refs, refs, ["zh", "en", "fr", "de"], ["en", "zh", "en", "en"])
    assert out["chrf_4dir"] == pytest.approx(100.0)
    assert set(k for k in out if k.startswith("chrf_")) >= {"chrf_en-zh", "chrf_zh-en", "chrf_en-fr", "chrf_en-de"}


# ------------------------------------------------------------------ the bundled bases
def test_an_assembled_base_with_the_wrong_hash_is_refused(tmp_path):
    parts = [tmp_path / "a.bin", tmp_path / "b.bin"]
    parts[0].write_bytes(b"GGUF part one")
    parts[1].write_bytes(b" and two")
    good = hashlib.sha256(b"GGUF part one and two").hexdigest()
    spec = base.BundledBase(id="x", name="x", dirname="x", parts=(("a", "a"), ("b", "b")), version="1",
                            sha256=good, licence="-", publisher="-", upstream="-")
    out = base._assemble(spec, parts, tmp_path)
    assert out.read_bytes() == b"GGUF part one and two"
    bad = base.BundledBase(**{**spec.__dict__, "sha256": "0" * 64})
    with pytest.raises(base.BaseModelMissing, match="refusing"):
        base._assemble(bad, parts, tmp_path)


def test_every_base_is_pinned_in_the_hash_checked_requirements():
    from tests.conftest import ROOT

    pinned = (ROOT / "requirements-models.txt").read_text()
    for b in base.BASES:
        for dist, _ in b.parts:
            assert f"{dist}=={b.version} --hash=sha256:" in pinned


def test_a_prompted_task_model_loads_its_base_with_its_own_card(tmp_path, tiny_dir, monkeypatch):
    data = tmp_path / "data"
    (data / "models" / "qa-prompted").mkdir(parents=True)
    (data / "models" / "qa-prompted" / "model_card.json").write_text(json.dumps(
        {"task": "qa", "base": str(tiny_dir), "prompt_version": 2, "default": True}))
    monkeypatch.setenv("OPPLAB_DATA_DIR", str(data))
    lm = load_model("qa-prompted")
    assert lm.info.id == "qa-prompted" and inference.prompt_version(lm) == 2
    assert "system" in inference.build_prompt(lm, "qa", {"context": "c", "question": "q"})
    order = registry.demo_order(registry.list_models("qa"), "qa")
    assert order[0].id == "qa-prompted"


# ------------------------------------------------------------------ shared bases, routed models
def _card(data, model_id: str, card: dict) -> None:
    (data / "models" / model_id).mkdir(parents=True)
    (data / "models" / model_id / "model_card.json").write_text(json.dumps(card))


def test_prompted_task_models_on_one_base_share_its_weights_and_lock(tmp_path, tiny_dir, monkeypatch):
    data = tmp_path / "data"
    _card(data, "qa-p", {"task": "qa", "base": str(tiny_dir), "prompt_version": 2})
    _card(data, "translation-p", {"task": "translation", "base": str(tiny_dir), "prompt_version": 2})
    monkeypatch.setenv("OPPLAB_DATA_DIR", str(data))
    a, b = load_model("qa-p"), load_model("translation-p")
    assert a.model is b.model and a.lock is b.lock and a.fast is b.fast
    assert (a.info.id, b.info.id) == ("qa-p", "translation-p")


def test_a_routed_sentiment_model_sends_each_text_to_its_languages_model(tmp_path, tiny_dir, monkeypatch):
    other = make_tiny_llama(tmp_path / "other-tiny", seed=11)
    data = tmp_path / "data"
    _card(data, "sent-zh", {"task": "sentiment", "base": str(other), "prompt_version": 2})
    _card(data, "sent-en", {"task": "sentiment", "base": str(tiny_dir)})
    _card(data, "sent-routed", {"task": "sentiment", "route": {"default": "sent-en", "zh": "sent-zh"}})
    monkeypatch.setenv("OPPLAB_DATA_DIR", str(data))
    routed = load_model("sent-routed")
    texts = ["外卖等了一个半小时，饭菜全凉了。", "Great film.", "这部电影很好看 but too long"]
    assert [inference.text_language(t) for t in texts] == ["zh", "en", "zh"]
    got = inference.predict_sentiment(routed, texts)
    zh = inference.predict_sentiment(load_model("sent-zh"), [texts[0], texts[2]])
    en = inference.predict_sentiment(load_model("sent-en"), [texts[1]])
    assert [p.positive for p in got] == pytest.approx([zh[0].positive, en[0].positive, zh[1].positive])
    # a classifier routed by language is offered on its task's page, not as a text generator
    assert "sent-routed" in [m.id for m in registry.models_for_task("sentiment")]
    assert "sent-routed" not in [m.id for m in registry.models_for_task("generation")]
