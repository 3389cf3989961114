"""Fine-tuning through the same CLI: a tiny random Llama with the bundled base's tokenizer (chat
template included) stands in for the base, so the test takes seconds."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.lm.base import base_model_dir
from core.lm.train import TrainConfig, train
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if not (base_model_dir() / "tokenizer.json").is_file():
        pytest.fail("the bundled base model is missing: run ./scripts/setup")
    tok = AutoTokenizer.from_pretrained(str(base_model_dir()))
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                                         max_position_embeddings=256, bos_token_id=tok.bos_token_id,
                                         eos_token_id=tok.eos_token_id, tie_word_embeddings=True))
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(str(path), safe_serialization=True)
    tok.save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def sentiment_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("task") / "train.csv"
    rows = ["text,label"] + [f"a wonderful film number {i},positive" for i in range(12)] + \
        [f"a dreadful film number {i},negative" for i in range(12)]
    path.write_text("\n".join(rows) + "\n")
    return path


def finetune(base: Path, data: Path, out: Path, **overrides) -> dict:
    settings = dict(base=str(base), task="sentiment", data=str(data), batch_size=4, block_size=96, max_iters=6,
                    lr=5e-3, eval_interval=3, eval_iters=2, out=str(out), threads=1)
    return train(TrainConfig(**{**settings, **overrides}))


@pytest.mark.parametrize("lora", [True, False], ids=["lora", "full"])
def test_finetune_saves_a_model_with_the_base_chat_template_pinned(tiny_base, sentiment_csv, tmp_path, lora):
    result = finetune(tiny_base, sentiment_csv, tmp_path / "ft", lora=lora)
    assert result["kind"] == "finetune" and result["steps"] == 6 and result["val_loss"] is not None
    model_dir = tmp_path / "ft" / "model"
    if lora:
        assert (model_dir / "adapter_model.safetensors").is_file()
        assert result["trainable_parameters"] < result["parameters"] / 2
    else:
        assert (model_dir / "model.safetensors").is_file()
    from transformers import AutoTokenizer

    saved = AutoTokenizer.from_pretrained(str(model_dir))
    base = AutoTokenizer.from_pretrained(str(tiny_base))
    assert saved.chat_template and saved.chat_template == base.chat_template
    meta = json.loads((model_dir / "training.json").read_text())
    assert meta["task"] == "sentiment" and meta["lora"] is lora


def test_finetune_resume_continues_the_lora_run(tiny_base, sentiment_csv, tmp_path):
    first = finetune(tiny_base, sentiment_csv, tmp_path / "ft", lora=True, max_iters=2, eval_interval=2)
    assert first["steps"] == 2
    again = finetune(tiny_base, sentiment_csv, tmp_path / "ft", lora=True, max_iters=4, eval_interval=2, resume=True)
    assert again["steps"] == 4
    rows = [json.loads(line) for line in (tmp_path / "ft" / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows if "train_loss" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 4


def test_the_cli_prints_the_final_json_for_a_fine_tune(tiny_base, sentiment_csv, tmp_path):
    r = subprocess.run([sys.executable, "-m", "core", "train", "--base", str(tiny_base), "--task", "sentiment",
                        "--data", str(sentiment_csv), "--lora", "--batch-size", "2", "--block-size", "96",
                        "--max-iters", "2", "--eval-interval", "2", "--eval-iters", "1", "--out", str(tmp_path / "o"),
                        "--json", "--quiet", "--threads", "1"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"train_loss", "val_loss", "tokens_per_second", "wall_seconds", "steps"} <= set(result)


def test_bad_task_data_is_a_clear_error(tiny_base, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("review,stars\nnice,5\n")
    r = subprocess.run([sys.executable, "-m", "core", "train", "--base", str(tiny_base), "--task", "sentiment",
                        "--data", str(bad), "--out", str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2
    assert "text" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("version", [1, 2])
def test_the_prompt_version_reaches_the_training_pairs_the_command_and_the_saved_model(tiny_base, sentiment_csv, tmp_path, version):
    """A task model is used with the prompts it was trained on: version 2 (system turn, as the Qwen
    task models are prompted) goes into the training pairs, the reproducible command and training.json."""
    from core.lm.train_setup import setup_finetune

    config = TrainConfig(base=str(tiny_base), task="sentiment", data=str(sentiment_csv), prompt_version=version,
                         block_size=96, out=str(tmp_path / "ft"))
    prompt = setup_finetune(config).sample_prompt
    system = "You classify the overall sentiment"
    assert (system in prompt) is (version == 2)
    assert ("--prompt-version" in config.to_argv()) is (version == 2)
    result = finetune(tiny_base, sentiment_csv, tmp_path / "ft", lora=True, max_iters=2, eval_interval=2, prompt_version=version)
    assert result["steps"] == 2
    meta = json.loads((tmp_path / "ft" / "model" / "training.json").read_text())
    assert meta["config"]["prompt_version"] == version


def test_a_bad_prompt_version_is_refused():
    with pytest.raises(ValueError, match="prompt_version|prompt-version"):
        TrainConfig(base="x", task="qa", data="d.jsonl", prompt_version=3).validate()
