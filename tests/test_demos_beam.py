"""Beam search on the fast decoder (core/lm/beam.py): it finds what an exhaustive search finds,
its reordered KV caches give each hypothesis the log-probability a fresh decode gives, and it
keeps to the constraint and the bias it is given."""
from __future__ import annotations

import itertools
import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.lm import native
from core.lm.beam import beam_search, beam_steps
from core.lm.generate import FastDecoder
from tests.test_demos_native import odd_llama, odd_qwen2

needs_compiler = pytest.mark.skipif(native.compiler() is None, reason="no C compiler on this machine")
EOS = 7


def tiny_lm(arch: str = "llama", use_native: bool = True):
    model = (odd_llama if arch == "llama" else odd_qwen2)(seed=3)
    model.generation_config.eos_token_id = EOS
    model.config.eos_token_id = EOS
    tok = SimpleNamespace(eos_token_id=EOS, convert_tokens_to_ids=lambda t: None)
    return SimpleNamespace(model=model, fast=FastDecoder(model, native=use_native), lock=threading.Lock(),
                           tokenizer=tok, info=SimpleNamespace(id="tiny"))


def sequence_logprob(lm, prompt: list[int], ids: list[int], eos: bool, bias=None) -> float:
    """The log-probability of ids (then EOS when eos) after prompt, by a fresh greedy-free decode."""
    fast = lm.fast
    cache = fast.new_cache(len(prompt) + len(ids) + 1)
    logits = fast.prefill(prompt, cache)
    total, pos = 0.0, len(prompt)
    for t in ids + ([EOS] if eos else []):
        row = logits.double().numpy() + (bias if bias is not None else 0)
        row = row - (row.max() + np.log(np.exp(row - row.max()).sum()))
        total += float(row[t])
        if t != EOS:
            logits = fast.step(t, pos, cache)
            pos += 1
    return total


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_every_hypothesis_scores_what_a_fresh_decode_of_it_scores(arch):
    """Caches are handed to children and copied for siblings: a wrong copy would change the
    log-probability of the continuations that went through it."""
    lm = tiny_lm(arch)
    prompt = [5, 17, 42, 99, 3]
    hyps = beam_search(lm, prompt, 6, beams=4, alpha=0.0)
    assert len(hyps) >= 4
    for h in hyps:
        assert h.logprob == pytest.approx(sequence_logprob(lm, prompt, h.ids, h.finished), abs=1e-3)
    assert [h.logprob for h in hyps] == sorted((h.logprob for h in hyps), reverse=True)


def test_one_beam_is_greedy_decoding():
    lm = tiny_lm()
    prompt = [11, 12, 13]
    (best,) = beam_search(lm, prompt, 5, beams=1)[:1]
    cache = lm.fast.new_cache(10)
    logits = lm.fast.prefill(prompt, cache)
    greedy = []
    for pos in range(len(prompt), len(prompt) + 5):
        t = int(torch.argmax(logits))
        if t == EOS:
            break
        greedy.append(t)
        logits = lm.fast.step(t, pos, cache)
    assert best.ids == greedy


def test_wide_enough_beams_find_the_exhaustive_best_of_two_tokens():
    """With the vocabulary cut to 5 allowed tokens and 25 beams, the search over two-token
    continuations is exhaustive: its best is the brute-force best."""
    lm = tiny_lm()
    prompt = [21, 22]
    allowed = {30, 31, 32, 33, 34}
    hyps = beam_search(lm, prompt, 2, beams=25 if lm.fast.max_batch >= 25 else lm.fast.max_batch,
                       allow=lambda ids: ids[-1] in allowed, alpha=0.0, candidates_per_beam=301)
    beams = min(25, lm.fast.max_batch)
    if beams < 25:
        pytest.skip("the kernel's batch is smaller than 25")
    brute = max(itertools.product(sorted(allowed), repeat=2), key=lambda ids: sequence_logprob(lm, prompt, list(ids), False))
    live = [h for h in hyps if not h.finished and len(h.ids) == 2]
    assert live[0].ids == list(brute)


def test_the_constraint_and_the_bias_are_kept():
    lm = tiny_lm()
    allowed = set(range(100, 140))
    bias = np.zeros(301)
    bias[120:140] = -np.inf  # rules out half of the allowed tokens
    hyps = beam_search(lm, [1, 2, 3], 5, beams=3, allow=lambda ids: all(t in allowed for t in ids), bias=bias)
    assert hyps and all(set(h.ids) <= set(range(100, 120)) for h in hyps)
    assert all(len(h.ids) <= 5 for h in hyps)


def test_streamed_prefixes_grow_and_are_a_prefix_of_the_answer():
    lm = tiny_lm()
    steps, seen = beam_steps(lm, [4, 5, 6], 8, beams=3), []
    while True:
        try:
            seen.append(next(steps))
        except StopIteration as done:
            hyps = done.value
            break
    for a, b in zip(seen, seen[1:]):
        assert b[:len(a)] == a and len(b) > len(a)
    if seen:
        assert hyps[0].ids[:len(seen[-1])] == seen[-1]


def test_stop_ends_the_search_early_and_the_lock_is_free():
    lm = tiny_lm()
    calls = []
    hyps = beam_search(lm, [4, 5, 6], 20, beams=3, should_stop=lambda: calls.append(1) or len(calls) >= 2)
    assert len(calls) == 2 and all(len(h.ids) <= 2 for h in hyps)
    assert lm.lock.acquire(blocking=False)


# ------------------------------------------------------------------ the demos' QA and translation paths
from core.lm import inference  # noqa: E402
from core.lm.beam import BeamGeneration, Hypothesis  # noqa: E402
from core.lm.loader import load_model  # noqa: E402
from tests.demos_tiny import make_tiny_llama  # noqa: E402

COMPANY = ("Acme Health builds software that turns doctors' notes into insurance forms. It was founded in 2019 "
           "in Shanghai and has 120 employees. In 2024 it raised a Series B of 40 million US dollars led by "
           "Sequoia China.")


@pytest.fixture(scope="module")
def tiny_v2(tmp_path_factory):
    """The tiny Llama loaded as a version-2 task model (what the shipped Qwen task models are)."""
    lm = load_model(str(make_tiny_llama(tmp_path_factory.mktemp("tiny-beam") / "tiny", seed=5)))
    lm.info.card = {**(getattr(lm.info, "card", {}) or {}), "prompt_version": 2}
    return lm


def test_version_2_models_decode_with_the_configured_beams_and_version_1_greedily(tiny_v2, monkeypatch):
    assert inference.beams_for(tiny_v2) == 4
    monkeypatch.setenv("OPPLAB_BEAMS", "1")
    assert inference.beams_for(tiny_v2) == 1
    v1 = SimpleNamespace(fast=tiny_v2.fast, info=SimpleNamespace(card={"prompt_version": 1}))
    monkeypatch.setenv("OPPLAB_BEAMS", "6")
    assert inference.beams_for(v1) == 1
    assert inference.beams_for(SimpleNamespace(fast=None, info=tiny_v2.info)) == 1


@pytest.mark.parametrize("question", ["How much did Acme Health raise?", "Who led the round?"])
def test_a_beam_searched_answer_is_still_a_span_of_the_context(tiny_v2, question):
    gen = inference.qa_generation(tiny_v2, COMPANY, question)
    assert isinstance(gen, BeamGeneration)
    answer = inference.answer_question(tiny_v2, COMPANY, question)
    assert answer.text == "" or COMPANY[answer.start:answer.end].casefold() == answer.text.casefold()


def test_a_streamed_translation_is_the_chosen_hypothesis(tiny_v2):
    gen = inference.translation_generation(tiny_v2, "We doubled our revenue this year.", "en", "fr")
    assert isinstance(gen, BeamGeneration)
    pieces = list(gen)
    assert "".join(pieces) == gen.result.text
    assert gen.result.token_ids == gen.hypotheses[0].ids
    assert gen.result.n_new_tokens <= inference.translation_budget(tiny_v2, "We doubled our revenue this year.")
    assert "4 beams" in gen.result.decoder
    # into French the script bias rules out Chinese characters in every hypothesis
    assert not any(inference._HAN.search(tiny_v2.tokenizer.decode(h.ids)) for h in gen.hypotheses)


def test_the_question_echo_counts_content_words_the_question_already_has():
    q = "What is one of the largest oncological institutions in Europe?"
    assert inference.question_echo("the largest oncological institutions in Europe", q) == 1.0
    assert inference.question_echo("Maria Skłodowska-Curie Institute of Oncology", q) == 0.0
    assert inference.question_echo("the", q) == 0.0  # no content word
    assert 0.0 < inference.question_echo("oncological institute Warsaw", q) < 1.0
    assert inference.question_echo("上海", "公司在哪里成立？上海还是北京？") == 0.0  # Chinese is left out


def test_the_best_span_prefers_a_finished_answer_that_does_not_repeat_the_question():
    tok = SimpleNamespace(decode=lambda ids, skip_special_tokens=True: {1: "the largest institutions in Europe",
                                                                        2: "Curie Institute", 3: "Curie"}[ids[0]])
    q = "What is one of the largest institutions in Europe?"
    echo = Hypothesis([1], -0.5, True)
    right = Hypothesis([2], -2.0, True)
    unfinished = Hypothesis([3], -0.1, False)
    assert inference.best_span([echo, right, unfinished], q, tok) is right
    assert inference.best_span([unfinished], q, tok) is unfinished


def test_the_source_copy_guard_refuses_four_copied_words_but_allows_names_and_numbers():
    words = {1: "Nos", 2: " produits", 3: " cut", 4: " the", 5: " time", 6: " doctors", 7: " Acme", 8: " 2024"}
    tok = SimpleNamespace(decode=lambda ids, skip_special_tokens=True: "".join(words[i] for i in ids))
    guard = inference.SourceCopyGuard(tok, "Our product cuts the time doctors spend on paperwork. Acme 2024")
    assert guard([1, 2, 3, 4, 5, 6])  # "cut the time doctors": the source says "cuts"
    assert guard([1, 2, 4, 5, 6])  # "the time doctors": three copied words only
    assert guard([1, 2, 7, 8])  # a name and a year
    strict = inference.SourceCopyGuard(tok, "They cut the time doctors spend")
    assert strict([1, 3, 4, 5])  # three words so far
    assert not strict([1, 3, 4, 5, 6])  # "cut the time doctors" (any case): four in a row
    assert strict([3, 4, 5, 6, 7][:3] + [7])  # the last four words decide: "cut the acme" is not copied
    assert inference.SourceCopyGuard(tok, "")([3, 4, 5, 6])  # nothing to copy from


def test_a_translation_between_latin_languages_never_copies_four_source_words(tiny_v2):
    source = "the the the the the the the the"  # a random model repeats what it reads; the guard stops it
    gen = inference.translation_generation(tiny_v2, source, "en", "fr")
    list(gen)
    guard = inference.SourceCopyGuard(tiny_v2.tokenizer, source)
    for h in gen.hypotheses:
        for i in range(1, len(h.ids) + 1):
            assert guard(h.ids[:i])
