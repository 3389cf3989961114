"""The training studio page in AppTest: the form, its estimate and command, uploads, a run's live
view (from rows in the store), registering a model, and comparing runs."""
from __future__ import annotations

import uuid

import pytest
from streamlit.testing.v1 import AppTest

from core import store
from core.lm import registry
from tests.conftest import ROOT


def open_studio(lang: str = "en", run: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = lang
    if run:
        at.query_params["run"] = run
    at.run()
    at.switch_page("pages/studio.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def command(at: AppTest) -> str:
    return at.code[0].value


def fake_run(status: str = "finished", n_layer: int = 2, lr: float = 1e-3) -> str:
    """A run as its training process would have left it in the store and on disk."""
    from core.config import get_settings

    run_id = f"run-test-{uuid.uuid4().hex[:6]}"
    out = get_settings().runs_dir / run_id
    (out / "model").mkdir(parents=True)
    (out / "model" / "training.json").write_text("{}")
    config = {"corpus": "shakespeare", "n_layer": n_layer, "n_head": 2, "n_embd": 32, "block_size": 32,
              "max_iters": 40, "lr": lr, "out": str(out), "nproc": 1}
    with store.session() as s:
        s.add(store.TrainingRun(id=run_id, status=status, config=store.dumps(config), out_dir=str(out), step=40,
                                max_steps=40))
        for step in range(10, 41, 10):
            s.add(store.RunMetric(run_id=run_id, step=step, train_loss=4 - step / 20, tokens_per_second=9000.0,
                                  wall_seconds=step / 10))
            if step % 20 == 0:
                s.add(store.RunMetric(run_id=run_id, step=step, val_loss=4.1 - step / 20, sample=f"O Romeo {step}"))
    return run_id


def test_the_form_shows_an_estimate_and_the_equivalent_command_that_follows_the_settings():
    at = open_studio()
    assert command(at).startswith("python -m core train --out runs/my-run --corpus shakespeare")
    assert [m.label for m in at.metric][:4] == ["Parameters", "Training memory", "Training tokens", "Estimated time"]
    at.number_input(key="studio_n_layer").set_value(6).run()
    assert "--n-layer 6" in command(at)
    at.number_input(key="studio_nproc").set_value(2).run()
    assert command(at).startswith("torchrun --standalone --nproc_per_node=2 -m core train")


def test_settings_that_cannot_run_show_a_message_and_no_start_button():
    at = open_studio()
    at.number_input(key="studio_n_embd").set_value(48).run()
    at.number_input(key="studio_n_head").set_value(5).run()
    assert any("divisible" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "studio_start"]


def test_a_rejected_upload_says_why_and_a_good_one_becomes_a_corpus():
    at = open_studio()
    at.file_uploader(key="studio_corpus_upload").upload("bad.txt", "café".encode("latin-1") * 500).run()
    assert any("not UTF-8" in e.value for e in at.error)
    at = open_studio()
    at.file_uploader(key="studio_corpus_upload").upload("poems.txt", ("the moon over the river\n" * 80).encode()).run()
    name = at.selectbox(key="studio_corpus").value
    assert name.startswith("upload-") and any(name in s.value for s in at.success)
    assert f"--corpus {name}" in command(at)


def test_fine_tune_mode_offers_the_bundled_base_and_task_files():
    at = open_studio()
    at.radio(key="studio_mode").set_value("finetune").run()
    assert registry.BASE_MODEL_ID in at.selectbox(key="studio_base").options
    cmd = command(at)
    assert "--base smollm2-135m-instruct" in cmd and "--task sentiment" in cmd and "--lora" in cmd
    assert "--data data/tasks/sentiment/train.csv" in cmd and "--val-data data/tasks/sentiment/validation.csv" in cmd


def test_a_run_in_the_url_shows_its_curves_metrics_samples_and_can_be_registered():
    run_id = fake_run()
    at = open_studio(run=run_id)
    assert any(run_id in h.value for h in at.subheader)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Train loss"] == "2.000" and metrics["Validation loss"] == "2.100"
    assert any("O Romeo 40" in t.value for t in at.text)
    at.text_input(key=f"studio_mid_{run_id}").set_value("page-test-model").run()
    at.button(key="studio_register").click().run()
    assert any("page-test-model" in s.value for s in at.success)
    assert registry.get_model("page-test-model").metrics["val_loss"] == pytest.approx(2.1)
    registry.unregister_model("page-test-model")


def test_an_unknown_run_in_the_url_is_a_warning_not_a_crash():
    at = open_studio(run="run-does-not-exist")
    assert any("no training run" in w.value for w in at.warning)


def test_runs_tab_overlays_curves_and_diffs_the_settings_of_two_runs():
    a, b = fake_run(n_layer=2), fake_run(n_layer=4, lr=3e-3)
    at = open_studio()
    at.multiselect(key="studio_compare").set_value([a, b]).run()
    diff = at.dataframe[-1].value
    assert set(diff.iloc[:, 0]) == {"lr", "n_layer"}


def test_the_page_speaks_chinese():
    at = open_studio("zh")
    assert at.title[0].value == "训练工作室"
