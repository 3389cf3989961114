"""The demos' core: task formats, fast generation, metrics, inference, evaluation, loader, cards."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
import torch

from core.lm import cards, generate, inference, metrics, tasks
from core.lm.attention import AttentionInputError, attention_map
from core.lm.evaluate import evaluate
from core.lm.generate import Generation, GenerationError, GenerationParams
from core.lm.loader import ModelLoadError, load_model
from core.lm.scheduler import scheduler_for
from core.lm.registry import BASE_MODEL_ID, list_models
from tests.conftest import ROOT
from tests.demos_tiny import make_tiny_llama


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-llama")


@pytest.fixture(scope="module")
def tiny(tiny_dir):
    return load_model(str(tiny_dir))


# ------------------------------------------------------------------ task formats and prompts
def test_each_task_file_format_parses():
    s = tasks.load_task_examples("sentiment", b"text,label,lang\nGreat film,pos,en\n\xe5\xa5\xbd,negative,zh\n")
    assert s == [{"text": "Great film", "label": "positive", "lang": "en"}, {"text": "好", "label": "negative", "lang": "zh"}]
    q = tasks.load_task_examples("qa", b'{"context": "Paris is in France.", "question": "Where is Paris?", "answers": ["France"]}\n')
    assert q[0]["answers"] == ["France"]
    t = tasks.load_task_examples("translation", "source\ttarget\tsrc_lang\ttgt_lang\nHello\tBonjour\ten\tfr\n".encode())
    assert t == [{"source": "Hello", "target": "Bonjour", "src_lang": "en", "tgt_lang": "fr"}]
    g = tasks.load_task_examples("generation", b"one paragraph\n\nanother one\n")
    assert [e["text"] for e in g] == ["one paragraph", "another one"]


@pytest.mark.parametrize("task,raw,message", [
    ("sentiment", b"text,label\nfine,maybe\n", "unknown sentiment label"),
    ("sentiment", b"review\nfine\n", "`text` column"),
    ("qa", b"{not json}\n", "not valid JSON"),
    ("qa", b'{"context": 1, "question": "q"}\n', "string fields"),
    ("translation", b"only one column\n", "expected source"),
    ("translation", b"a\tb\ten\tklingon\n", "unknown language"),
    ("generation", b"\xff\xfe\x00bad", "not UTF-8"),
    ("generation", b"   \n\n  ", "no examples"),
])
def test_bad_task_files_are_rejected_with_a_clear_message(task, raw, message):
    with pytest.raises(tasks.TaskDataError, match=message):
        tasks.load_task_examples(task, raw)


def test_prompts_use_the_chat_template_and_training_targets_end_the_turn(tiny):
    example = {"text": "Great film", "label": "positive"}
    prompt, target = tasks.build_training_pair("sentiment", example, tiny.tokenizer)
    assert prompt == tasks.build_prompt("sentiment", example, tiny.tokenizer)
    assert prompt.startswith("<|im_start|>system") and prompt.endswith("<|im_start|>assistant\n")
    assert "Great film" in prompt and target == "positive<|im_end|>"


# ------------------------------------------------------------------ fast generation
def test_fast_prefill_matches_the_transformers_forward(tiny):
    ids = tiny.tokenizer("The quick brown fox jumps over the lazy dog", add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        reference = tiny.model(torch.tensor([ids])).logits[0, -1]
        cache = tiny.fast.new_cache(len(ids) + 4)
        ours = tiny.fast.prefill(ids, cache)
    torch.testing.assert_close(ours, reference, atol=1e-4, rtol=1e-4)


def test_int8_decode_step_stays_close_to_fp32(tiny):
    ids = tiny.tokenizer("Attention is all you need", add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        reference = tiny.model(torch.tensor([ids + [42]])).logits[0, -1]
        cache = tiny.fast.new_cache(len(ids) + 4)
        tiny.fast.prefill(ids, cache)
        ours = tiny.fast.step(42, len(ids), cache)
    assert torch.nn.functional.cosine_similarity(ours, reference, dim=0) > 0.999


def test_generation_streams_pieces_that_add_up_to_the_text_and_reports_speed(tiny):
    gen = Generation(tiny, "Hello", GenerationParams(max_new_tokens=12, greedy=True, ignore_eos=True))
    pieces = list(gen)
    assert "".join(pieces) == gen.result.text
    assert gen.result.n_new_tokens == 12 and gen.result.finish_reason == "length"
    assert gen.result.tokens_per_second > 0 and gen.result.ttft_ms > 0
    assert gen.result.decoder == ("fast-int8-native" if tiny.fast.native else "fast-int8-torch")


def test_same_seed_same_text_and_plain_path_works(tiny):
    params = GenerationParams(max_new_tokens=10, temperature=1.0, seed=7, ignore_eos=True)
    a = generate.generate(tiny, "Once", params).token_ids
    b = generate.generate(tiny, "Once", params).token_ids
    assert a == b
    plain = generate.generate(tiny, "Once", params, use_fast=False)
    assert plain.decoder == "plain" and plain.n_new_tokens == 10


def _wait(predicate, timeout: float = 10.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_stop_callback_ends_generation_and_closing_leaves_the_batch(tiny):
    calls = []
    gen = Generation(tiny, "Hi", GenerationParams(max_new_tokens=400, ignore_eos=True),
                     should_stop=lambda: len(calls.append(1) or calls) >= 3)
    gen.piece_interval_s = 0  # the tiny model decodes 400 tokens within the pages' 80 ms gap
    list(gen)
    # the reader checks after each delivery; tokens decoded meanwhile arrive together
    assert gen.result.finish_reason == "stopped" and 3 <= gen.result.n_new_tokens < 400
    early = iter(Generation(tiny, "Hi", GenerationParams(max_new_tokens=400, ignore_eos=True)))
    next(early)
    early.close()  # a browser session that goes away mid-answer
    sched = scheduler_for(tiny)
    assert _wait(lambda: sched.load == (0, 0))  # its slot is free at the next step
    assert _wait(lambda: not tiny.lock.locked())
    plain = iter(Generation(tiny, "Hi", GenerationParams(max_new_tokens=50, ignore_eos=True), use_fast=False))
    next(plain)
    plain.close()
    assert not tiny.lock.locked()


def test_concurrent_sessions_are_decoded_together_and_get_what_they_get_alone(tiny):
    """Continuous batching: four sessions at once (threads, as Streamlit runs them) get the tokens
    each gets alone with the same seed, and the scheduler ran steps with more than one sequence."""
    prompts = ["Once", "Hello there", "A long time ago in", "x"]
    params = [GenerationParams(max_new_tokens=24, temperature=0.9, seed=i + 1, ignore_eos=True) for i in range(4)]
    alone = [generate.generate(tiny, p, q).token_ids for p, q in zip(prompts, params)]
    sched = scheduler_for(tiny)
    before = len(sched.batch_sizes)
    results: list = [None] * 4
    start = threading.Barrier(4)

    def session(i):
        start.wait()
        results[i] = generate.generate(tiny, prompts[i], params[i]).token_ids
    threads = [threading.Thread(target=session, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == alone
    assert max(sched.batch_sizes[before:]) > 1


def test_beyond_the_batch_limit_requests_wait_in_a_visible_queue_and_stop_frees_the_slot(tiny_dir, monkeypatch):
    monkeypatch.setenv("OPPLAB_MAX_DECODE_BATCH", "1")
    lm = load_model(str(tiny_dir))  # a fresh model: its scheduler reads the limit
    long = GenerationParams(max_new_tokens=400, ignore_eos=True)
    gate = threading.Event()

    def slow(logits, new):  # the first session's decoding waits here after its first token
        if new:
            gate.wait(30)
        return int(torch.argmax(logits))
    first = iter(Generation(lm, "Hi", long, chooser=slow))
    next(first)  # decoding: holds the one slot
    second, third = Generation(lm, "Hello", long), Generation(lm, "Hey", GenerationParams(max_new_tokens=5, ignore_eos=True))
    second.submit()
    third.submit()
    assert (second.ahead(), third.ahead()) == (0, 1)
    second.close()  # leaves the queue before it started
    assert third.ahead() == 0
    first.close()  # Stop: the slot goes to the next one at once
    gate.set()
    assert "".join(third) and third.result.n_new_tokens == 5 and third.ahead() == -1


@pytest.mark.parametrize("field,value,message", [
    ("max_new_tokens", 0, "max new tokens"), ("temperature", float("nan"), "temperature"),
    ("top_p", 0.0, "top-p"), ("repetition_penalty", 9.0, "repetition penalty"), ("seed", -1, "seed"),
])
def test_bad_sampling_settings_are_refused(field, value, message):
    with pytest.raises(GenerationError, match=message):
        GenerationParams(**{field: value}).validate()


def test_concurrent_sessions_all_finish(tiny):
    results, errors = [], []

    def worker(i):
        try:
            results.append(generate.generate(tiny, f"Session {i}", GenerationParams(max_new_tokens=8, seed=i, ignore_eos=True)))
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 4 and all(r.n_new_tokens == 8 for r in results)


# ------------------------------------------------------------------ metrics
def test_squad_exact_match_and_f1():
    assert metrics.exact_match("The Eiffel Tower!", ["eiffel tower"]) == 1.0
    assert metrics.f1("tower in Paris", ["Eiffel tower"]) == pytest.approx(0.4)
    assert metrics.qa_scores(["a", "b"], [["a"], ["c"]]) == {"exact_match": 50.0, "f1": 50.0}


def test_translation_scores_per_direction_with_chinese_tokenisation():
    s = metrics.translation_scores(["the cat sat on the mat", "我爱北京天安门"], ["the cat sat on the mat", "我爱北京天安门"],
                                   ["en", "zh"], ["fr", "en"])
    assert s["bleu"] == pytest.approx(100.0) and s["chrf"] == pytest.approx(100.0)
    assert set(s["by_direction"]) == {"fr-en", "en-zh"}
    assert metrics.translation_scores(["xyz"], ["the cat"])["bleu"] < 5


def test_accuracy_and_perplexity():
    assert metrics.accuracy(["positive", "negative"], ["positive", "positive"]) == 50.0
    assert metrics.perplexity(0.0, 10) == 1.0


# ------------------------------------------------------------------ inference and evaluation
def test_sentiment_gives_a_label_and_a_probability(tiny):
    preds = inference.predict_sentiment(tiny, ["Great!", "Awful."], calibrate=True)
    assert [p.label in tasks.SENTIMENT_LABELS for p in preds] == [True, True]
    assert all(0.5 <= p.probability <= 1.0 and 0.0 <= p.positive <= 1.0 for p in preds)


def test_a_mixed_chinese_review_is_also_scored_on_its_last_contrast_clause(tiny):
    """The clause after the last contrast marker carries a mixed review's verdict; only cards
    that set contrast_weight use it, and a review without a marker is scored whole."""
    assert inference.contrast_tail("有点老旧，卫生间小。其它方面还行。早餐非常好") == "其它方面还行。早餐非常好"
    assert inference.contrast_tail("房间干净，服务很好") == ""
    assert inference.contrast_tail("但是") == ""  # nothing after it
    assert inference.contrast_tail("Nice room, but the breakfast was bad") == ""  # Chinese markers only
    text = ["位置不错，但是房间太吵了，晚上睡不着"]
    plain = inference.predict_sentiment(tiny, text, calibrate=False)[0].positive
    card = dict(tiny.info.card or {})
    try:
        tiny.info.card = {**card, "contrast_weight": 1.0}
        tail_only = inference.predict_sentiment(tiny, text, calibrate=False)[0].positive
        alone = inference.predict_sentiment(tiny, ["但是房间太吵了，晚上睡不着"], calibrate=False)[0].positive
        assert abs(tail_only - alone) < 1e-5 and abs(tail_only - plain) > 1e-7
        tiny.info.card = {**card, "positive_bias": 2.0}
        assert inference.predict_sentiment(tiny, text, calibrate=False)[0].positive > plain
    finally:
        tiny.info.card = card


def test_answers_are_located_in_the_context_for_highlighting():
    a = inference.locate("paris", "I live in Paris, France.")
    assert (a.text, a.start, a.end) == ("Paris", 10, 15)
    assert inference.highlight_parts("I live in Paris, France.", a) == ("I live in ", "Paris", ", France.")
    assert inference.locate("London", "I live in Paris.").start is None


def test_batch_upload_lines_are_checked():
    assert inference.batch_lines("source\nHello\n\nWorld\tx\n".encode(), 1000) == ["Hello", "World"]
    with pytest.raises(tasks.TaskDataError, match="not UTF-8"):
        inference.batch_lines(b"\xff\xfe", 1000)
    with pytest.raises(tasks.TaskDataError, match="larger than"):
        inference.batch_lines(b"x" * 2_000_000, 1_000_000)
    with pytest.raises(tasks.TaskDataError, match="batch limit"):
        inference.batch_lines(("a\n" * 60).encode(), 1000)


@pytest.mark.parametrize("task,examples,keys", [
    ("sentiment", [{"text": "Nice", "label": "positive", "lang": "en"}, {"text": "差", "label": "negative", "lang": "zh"}],
     {"accuracy", "accuracy_en", "accuracy_zh"}),
    ("qa", [{"context": "Paris is in France.", "question": "Where is Paris?", "answers": ["France"]}], {"exact_match", "f1"}),
    ("translation", [{"source": "Hello", "target": "Bonjour", "src_lang": "en", "tgt_lang": "fr"}], {"bleu", "chrf"}),
    ("generation", [{"text": "The cat sat on the mat and looked at the dog."}], {"perplexity"}),
])
def test_evaluate_reports_the_task_metric(tiny, task, examples, keys):
    result = evaluate(tiny, task, examples)
    assert keys <= set(result) and result["n"] == len(examples)


def test_fast_and_batched_evaluation_agree_on_a_tiny_model(tiny):
    examples = [{"context": "Paris is in France.", "question": "Where is Paris?", "answers": ["France"]}] * 2
    assert evaluate(tiny, "qa", examples, fast=True)["n"] == 2


def test_attention_rows_are_causal_distributions(tiny):
    amap = attention_map(tiny, "Money follows attention")
    L, H, T, _ = amap.weights.shape
    assert (L, H) == (2, 4) and len(amap.tokens) == T
    torch.testing.assert_close(amap.weights.sum(-1), torch.ones(L, H, T), atol=1e-4, rtol=0)
    assert float(amap.weights[0, 0].triu(1).abs().max()) == 0.0
    with pytest.raises(AttentionInputError):
        attention_map(tiny, "   ")


# ------------------------------------------------------------------ loader
def test_loader_refuses_pickled_weights_and_unknown_ids(tmp_path, tiny_dir):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text((tiny_dir / "config.json").read_text())
    (pickled / "pytorch_model.bin").write_bytes(b"not really")
    with pytest.raises(ModelLoadError, match="only safetensors"):
        load_model(str(pickled))
    with pytest.raises(ModelLoadError, match="unknown model"):
        load_model("no-such-model")
    with pytest.raises(ModelLoadError, match="no such model directory"):
        load_model("/no/such/dir")


def test_a_lora_adapter_loads_merged_onto_its_base(tmp_path, tiny_dir, tiny):
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(load_model(str(tiny_dir), for_training=True).model,
                                LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(str(adapter))
    (adapter / "model_card.json").write_text(json.dumps({"task": "qa", "base": str(tiny_dir)}))
    merged = load_model(str(adapter))
    assert merged.info.task == "qa" and merged.fast is not None
    x = torch.tensor([[5, 6, 7]])
    with torch.inference_mode():
        assert not torch.allclose(merged.model(x).logits, tiny.model(x).logits)


# ------------------------------------------------------------------ shipped models and cards
def test_every_shipped_task_model_has_a_complete_card_with_held_out_metrics():
    shipped = [m for m in list_models() if m.id != BASE_MODEL_ID and (m.path / "adapter_config.json").exists()]
    assert {m.task for m in shipped} >= {"sentiment", "qa", "translation"}
    for m in shipped:
        card = cards.describe(m, m.task)
        assert card.metrics, m.id
        assert card.steps and card.data and card.licence and card.command.startswith("python -m core train")
        assert (ROOT / card.test_data).is_file()
        assert m.card["split"]["test"] > 0


def test_the_base_card_shows_its_prompted_metrics_per_task():
    base = next((m for m in list_models() if m.id == BASE_MODEL_ID), None)
    if base is None:
        pytest.skip("bundled base not prepared")
    card = cards.describe(base, "sentiment")
    assert "prompted" in card.note
    # a base shows task numbers only when a shipped card measured it on that card's own test set;
    # the old split's base numbers were dropped with the move to the realistic sets
    sources = [m for m in list_models("sentiment") if m.base == BASE_MODEL_ID and m.card.get("base_metrics")]
    if sources:
        assert "accuracy" in card.metrics and card.test_data == sources[0].card["test_data"]
    else:
        assert card.metrics == {} and card.test_data == ""


# ------------------------------------------------------------------ CLI
def test_cli_generate_and_eval_print_json(tiny_dir, tmp_path):
    r = subprocess.run([sys.executable, "-m", "core", "generate", "--model", str(tiny_dir), "--prompt", "Hi",
                        "--max-new-tokens", "5", "--greedy", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"text", "tokens_per_second", "ttft_ms"} <= set(out)
    data = tmp_path / "s.csv"
    data.write_text("text,label\nGood,positive\nBad,negative\n")
    r = subprocess.run([sys.executable, "-m", "core", "eval", "--model", str(tiny_dir), "--task", "sentiment",
                        "--data", str(data), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["n"] == 2
    r = subprocess.run([sys.executable, "-m", "core", "eval", "--model", str(tiny_dir), "--task", "sentiment",
                        "--data", str(data), "--predictions"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    shown = r.stdout.split("predictions:\n", 1)[1].splitlines()  # one line per review, numbered
    assert [line.split("\t")[0] for line in shown] == ["1", "2"]
    assert all(line.split("\t")[1].split()[0] in tasks.SENTIMENT_LABELS and "p(positive)=" in line for line in shown)
    bad = subprocess.run([sys.executable, "-m", "core", "eval", "--model", str(tiny_dir), "--task", "qa",
                          "--data", str(data)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "error:" in bad.stderr
