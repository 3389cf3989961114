"""The Training cost and Memory & inference pages, driven through their widgets (AppTest)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import catalog
from core.estimate import catalogue
from tests.conftest import ROOT
from tests.test_estimate_catalogue import estimate_data, user_items  # noqa: F401  (fixtures)

TRAINING = "pages/training-cost.py"
MEMORY = "pages/memory-inference.py"


def open_page(path: str, lang: str = "en", **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = lang
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_training_page_shows_metrics_that_follow_the_inputs():
    at = open_page(TRAINING)
    at.number_input(key="est_params_b").set_value(175.0)
    at.number_input(key="est_tokens_b").set_value(300.0).run()
    assert metric(at, "Training FLOPs") == "3.15e+23"
    assert metric(at, "Wall clock").endswith("days")
    assert not at.error


def test_training_page_prefills_from_a_use_case_in_the_url(estimate_data):
    at = open_page(TRAINING, use_case="support-bot")
    assert at.number_input(key="est_params_b").value == 8.0
    assert at.number_input(key="est_tokens_b").value == pytest.approx(0.02)
    at.selectbox(key="est_use_case").set_value("fraud").run()
    assert at.number_input(key="est_params_b").value == pytest.approx(0.005)


def test_training_page_warns_about_an_unknown_use_case(estimate_data):
    at = open_page(TRAINING, use_case="no-such-case")
    assert any("no-such-case" in w.value for w in at.warning)
    assert at.number_input(key="est_params_b").value == 7.0


def test_training_page_shows_the_validation_table_and_deadline_view():
    at = open_page(TRAINING)
    frames = [df.value for df in at.dataframe]
    validation = next(f for f in frames if "model" in f.columns and "hours_error_pct_own" in f.columns)
    assert "LLaMA-65B" in set(validation["model"]) and len(validation) >= 12
    deadline = next(f for f in frames if "accelerators_needed" in f.columns)
    assert (deadline["accelerators_needed"] >= 1).all()
    assert metric(at, "Median |error|, hours (own efficiency)").endswith("%")


def test_adding_an_accelerator_through_the_form(user_items):  # noqa: F811
    at = open_page(TRAINING)
    form_inputs = [n for n in at.number_input if n.label == "Dense bf16 TFLOP/s"]
    at.text_input[0].set_value("Page Chip")
    form_inputs[0].set_value(400.0)
    next(n for n in at.number_input if n.label == "Memory (GiB)").set_value(64.0)
    next(n for n in at.number_input if n.label == "Memory bandwidth (TB/s)").set_value(2.0)
    at.button[0].click().run()  # the accelerator form's Save
    user_items.append("user_page_chip")
    assert not at.exception
    accelerator_box = next(s for s in at.selectbox if s.label == "Accelerator")
    assert "Page Chip" in accelerator_box.options  # offered for estimates at once
    assert any("user_page_chip" in s.value for s in at.success)
    assert catalogue.accelerator("user_page_chip").bf16_tflops_dense == 400.0


def test_a_bad_accelerator_is_refused_next_to_the_form():
    at = open_page(TRAINING)
    at.text_input[0].set_value("Zero Chip")
    at.button[0].click().run()  # all numbers still 0
    assert any("Dense bf16 TFLOP/s" in e.value for e in at.error)
    assert "user_zero_chip" not in set(catalogue.accelerators()["accelerator_id"])


def test_input_errors_are_shown_in_the_chosen_language():
    at = open_page(TRAINING, lang="zh")
    at.text_input[0].set_value("Zero Chip")
    at.button[0].click().run()
    assert any("稠密 bf16 TFLOP/s：必须大于 0" in e.value for e in at.error)


def test_memory_page_says_whether_a_model_fits():
    at = open_page(MEMORY)
    at.selectbox[0].set_value("llama2_70b")
    at.selectbox[1].set_value("t4").run()
    assert metric(at, "Fits?") == "No"
    assert at.warning
    at.selectbox[1].set_value("mi300x").run()
    assert metric(at, "Fits?") == "Yes"
    dtypes = next(df.value for df in at.dataframe if "dtype" in df.value.columns)
    assert list(dtypes["dtype"]) == ["fp32", "bf16", "int8", "int4"]
    assert dtypes["weights_gib"].is_monotonic_decreasing


def test_memory_page_training_tab_counts_lora_adapters():
    at = open_page(MEMORY)
    at.selectbox[0].set_value("llama2_7b").run()
    method = next(s for s in at.selectbox if s.label == "Method")
    method.set_value("lora").run()
    assert metric(at, "Trainable parameters") == "16.8M"


def test_memory_page_sizes_the_model_of_a_linked_use_case(estimate_data):
    at = open_page(MEMORY, use_case="support-bot")
    assert at.selectbox[0].value == "use_case"
    assert any("8B" in c.value for c in at.caption)  # "8B parameters · …"


def test_memory_page_custom_architecture_refuses_bad_shapes():
    at = open_page(MEMORY)
    at.selectbox[0].set_value("custom").run()
    at.number_input(key="est_arch_heads").set_value(7).run()  # 4096 is not divisible by 7
    assert any("divisible" in e.value for e in at.error)


@pytest.mark.parametrize("path", [TRAINING, MEMORY])
def test_pages_render_in_chinese(path):
    at = open_page(path, lang="zh")
    assert any("加速器" in s.label for s in at.selectbox)


def teardown_module(_module):
    catalog.reset()
