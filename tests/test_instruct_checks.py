"""The verifiable instruction checks (core.lm.instruct_checks) and the instruction file format."""
from __future__ import annotations

import pytest

from core.lm import instruct_checks as ic
from core.lm import tasks

EN = {"instruction": "In two sentences, pitch our AI writing assistant.", "lang": "en",
      "topic": ["writ", "draft"], "sentences": 2, "plain": True}
ZH = {"instruction": "用两句话介绍我们的AI写作助手。", "lang": "zh", "topic": ["写作"], "sentences": 2, "plain": True}


def test_a_good_answer_passes_every_check():
    assert all(ic.check("Our assistant drafts reports in minutes. Teams ship twice the content.", EN).values())
    assert all(ic.check("我们的AI写作助手几分钟就能写出初稿。团队的写作效率因此翻倍。", ZH).values())


@pytest.mark.parametrize("answer, record, failed", [
    ("我们的写作助手很好用。它能节省时间。", EN, "language"),  # Chinese answer to an English prompt
    ("Here's a sample of the Japanese version: プシン is great. It writes.", ZH, "language"),
    ("The weather is nice today. We like parks.", EN, "on_topic"),
    ("Our assistant drafts reports in minutes.", EN, "sentences"),
    ("Our assistant drafts reports. It is fast. It is cheap.", EN, "sentences"),
    ("**Drafts** reports in minutes. It writes well.", EN, "plain"),
    ("- It drafts reports.\n- It writes fast.", EN, "plain"),
    ("It drafts and drafts and drafts and drafts and drafts and drafts and drafts and drafts.", EN, "no_loop"),
    ("Our assistant drafts reports in minutes. Teams ship twice the", EN, "complete"),
    ("", EN, "complete"),
])
def test_each_check_catches_what_it_names(answer, record, failed):
    assert ic.check(answer, record)[failed] is False


def test_sentences_are_counted_in_both_scripts_and_numbers_do_not_split_them():
    assert ic.sentence_count("It costs 2.5 dollars. Buy it!") == 2
    assert ic.sentence_count("第一句。第二句！第三句？") == 3


def test_the_score_is_the_share_of_checks_and_of_answers_passing_all():
    s = ic.score([{"a": True, "b": True}, {"a": True, "b": False}])
    assert s == {"checks_passed": 75.0, "all_passed": 50.0}


def test_an_instruction_file_parses_and_bad_lines_are_refused():
    rows = tasks.parse_task_text("generation", '{"instruction": "Say hi.", "lang": "en"}\n\n{"instruction": "你好", "lang": "zh"}\n')
    assert [r["lang"] for r in rows] == ["en", "zh"]
    with pytest.raises(tasks.TaskDataError, match="line 2"):
        tasks.parse_task_text("generation", '{"instruction": "Say hi."}\n{"lang": "zh"}\n')
    assert tasks.parse_task_text("generation", "A paragraph.\n\nAnother.") == [{"text": "A paragraph."}, {"text": "Another."}]


def test_the_shipped_instruction_set_is_balanced_and_checkable():
    from tests.conftest import ROOT

    rows = tasks.load_task_examples("generation", ROOT / "data/tasks/generation/instructions_test.jsonl")
    langs = [r["lang"] for r in rows]
    assert langs.count("en") == langs.count("zh") >= 12
    assert all(r["topic"] and r.get("sentences") for r in rows)
