"""The demo pages in AppTest, driven like a user would, on a tiny random model chosen in the
sidebar's local-directory field (the same code path as any local HF model)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.demos_tiny import make_tiny_llama

TASKS = {"generate": "generation", "qa": "qa", "translate": "translation", "sentiment": "sentiment",
         "attention": "generation"}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return make_tiny_llama(tmp_path_factory.mktemp("tiny-pages") / "tiny-llama")


def open_page(name: str, tiny_dir, lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["lang"] = lang
    at.session_state["lang"] = lang
    at.session_state[f"demos_dir_{TASKS[name]}"] = str(tiny_dir)
    at.run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_completion_streams_text_and_shows_speed(tiny_dir):
    at = open_page("generate", tiny_dir)
    at.radio(key="gen_mode").set_value("complete").run()
    at.text_area(key="gen_prompt").set_value("Once upon a time")
    at.slider(key="gen_max_new").set_value(8)
    at.button(key="gen_submit").click().run()
    assert not at.exception
    assert "tokens/s" in texts(at.caption) and "first token after" in texts(at.caption)


def test_empty_prompt_is_a_warning_not_a_generation(tiny_dir):
    at = open_page("generate", tiny_dir)
    at.radio(key="gen_mode").set_value("complete").run()
    at.button(key="gen_submit").click().run()
    assert "Enter a prompt first." in texts(at.warning)
    assert "tokens/s" not in texts(at.caption)


def test_chat_keeps_the_conversation(tiny_dir):
    at = open_page("generate", tiny_dir)
    at.slider(key="gen_max_new").set_value(6)
    at.chat_input(key="gen_chat_input").set_value("Hello there").run()
    assert not at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    at.chat_input(key="gen_chat_input").set_value("And again").run()
    assert len(at.session_state["gen_chat"]) == 4


def test_qa_answers_about_own_context_and_a_use_case(tiny_dir):
    at = open_page("qa", tiny_dir)
    at.radio(key="qa_source").set_value("own").run()
    at.text_area(key="qa_context").set_value("The H100 has 80 GB of memory.")
    at.text_input(key="qa_question").set_value("How much memory?")
    at.button(key="qa_submit").click().run()
    assert not at.exception and "Answer" in texts(at.subheader)
    at.radio(key="qa_source").set_value("use_case").run()
    assert at.selectbox(key="qa_use_case").options  # descriptions from the explorer's catalogue
    at.button(key="qa_submit").click().run()
    assert "Enter both a context and a question." not in texts(at.warning)


def test_qa_without_question_warns(tiny_dir):
    at = open_page("qa", tiny_dir)
    at.text_input(key="qa_question").set_value("")
    at.button(key="qa_submit").click().run()
    assert "Enter both a context and a question." in texts(at.warning)


def test_translation_streams_and_refuses_same_language(tiny_dir):
    at = open_page("translate", tiny_dir)
    at.text_area(key="tr_text").set_value("Good morning")
    at.button(key="tr_submit").click().run()
    assert not at.exception
    at.selectbox(key="tr_tgt").set_value("en").run()
    assert "Choose two different languages." in texts(at.error)
    assert at.button(key="tr_submit").disabled


def test_sentiment_shows_label_and_probability_in_chinese_ui(tiny_dir):
    at = open_page("sentiment", tiny_dir, lang="zh")
    at.text_area(key="se_text").set_value("这家酒店很好")
    at.button(key="se_submit").click().run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "情感" in labels and "概率" in labels


def test_attention_heatmap_for_the_sentence(tiny_dir):
    at = open_page("attention", tiny_dir)
    assert len(at.get("latex")) >= 2
    at.button(key="att_submit").click().run()
    assert not at.exception and at.get("plotly_chart")
    at.slider(key="att_layer").set_value(1).run()
    assert not at.exception


def test_each_task_page_shows_its_shipped_model_card_and_ignores_a_bad_directory(tmp_path):
    # (AppTest does not keep app.py's sidebar on page runs; the picker itself is driven in Chromium)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["demos_dir_sentiment"] = str(tmp_path / "missing")
    at.run()
    from core.lm.registry import demo_order, list_models

    for page, task, metric in (("sentiment", "sentiment", "Accuracy"), ("qa", "qa", "Exact match"),
                               ("translate", "translation", "chrF")):
        model = demo_order(list_models(task), task)[0].id  # the page's default: the card marked "default"
        assert model.startswith(task), model
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception
        assert metric in [m.label for m in at.metric], page
        assert model in texts(at.markdown), page


LONG_REVIEW = "The plot drags and the acting is wooden. " * 300 + "Still, a wonderful ending."


def test_sentiment_batch_shows_progress_and_says_long_reviews_were_cut(tiny_dir):
    at = open_page("sentiment", tiny_dir)
    raw = ("text,label\n" + f'"{LONG_REVIEW}",positive\n' + "Short and sweet.,positive\nAwful.,negative\n").encode()
    at.file_uploader(key="se_upload").upload("reviews.csv", raw).run()
    at.button(key="se_batch_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    bars = at.get("progress")
    assert bars and "Scored 3 of 3 texts" in str(bars[-1].proto.text)
    assert "1 of 3 reviews were long" in texts(at.info)
    assert list(at.session_state["se_batch_result"]["truncated"]) == [True, False, False]


def test_qa_says_when_a_long_context_was_cut_to_a_passage(tiny_dir):
    at = open_page("qa", tiny_dir)
    at.radio(key="qa_source").set_value("own").run()
    filler = " ".join(f"Paragraph {i} talks about weather, sports and cooking in town {i}." for i in range(300))
    at.text_area(key="qa_context").set_value(filler + " The launch was led by Dana Whitfield in Oslo. " + filler)
    at.text_input(key="qa_question").set_value("Who led the launch?")
    at.button(key="qa_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "the answer comes from the passage that shares most words with your question" in texts(at.info)


def test_translation_says_when_a_text_was_chunked_or_cut(tiny_dir, monkeypatch):
    from core.lm import inference

    monkeypatch.setattr(inference, "translation_budget", lambda lm, source: 2)  # the notes, not the decoding
    at = open_page("translate", tiny_dir)
    at.text_area(key="tr_text").set_value(" ".join(f"Sentence {i} is about our product." for i in range(60)))
    at.button(key="tr_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "translated in" in texts(at.info) and "parts of whole sentences" in texts(at.info)
    at.text_area(key="tr_text").set_value("Our product cuts paperwork by half. " * 200)
    at.button(key="tr_submit").click().run()
    assert "only the first 5,000 are translated" in texts(at.info)
    at.file_uploader(key="tr_upload").upload("lines.txt", ("Good morning.\n" + "word " * 1_500 + "\n").encode()).run()
    at.button(key="tr_batch_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "1 line(s) longer than 5,000 characters" in texts(at.info)
