"""The GPT's architecture options: bias-free like nanoGPT (every bias frozen at zero: not trained,
not in the optimizer, still zero after steps, a checkpoint resume and a save/load), GPT-2's trainable
biases on request, exact or tanh GELU, and old checkpoints resuming with the architecture they
trained."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from transformers import GPT2LMHeadModel

from core.lm.gpt import GPTConfig, bias_parameters, build_gpt, parameter_count
from core.lm.train import Trainer, TrainConfig, _merge_resumed_config
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "plays.txt"
    path.write_text((ROOT / "data" / "corpora" / "shakespeare.txt").read_text(encoding="utf-8")[:60_000],
                    encoding="utf-8")
    return path


def tiny(corpus, out, **kw) -> TrainConfig:
    base = dict(corpus=str(corpus), out=str(out), n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=8,
                max_iters=6, lr=3e-3, warmup_iters=1, eval_interval=3, eval_iters=1, sample_tokens=5, threads=1)
    return TrainConfig(**{**base, **kw})


def biases(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in bias_parameters(model)}


def test_the_default_gpt_is_bias_free_with_exact_gelu_like_nanogpt():
    model = build_gpt(GPTConfig(vocab_size=65))
    found = biases(model)
    # Per block: ln_1, c_attn, attn c_proj, ln_2, c_fc, mlp c_proj; then ln_f.
    assert len(found) == 4 * 6 + 1
    assert all(not p.requires_grad for _, p in bias_parameters(model))
    assert all(torch.count_nonzero(t) == 0 for t in found.values())
    assert model.config.activation_function == "gelu" and model.config.bias is False
    frozen = sum(t.numel() for t in found.values())
    assert parameter_count(model, trainable_only=True) == parameter_count(model) - frozen


def test_bias_true_gives_gpt2s_trainable_biases_and_tanh_gelu_on_request():
    model = build_gpt(GPTConfig(vocab_size=65, bias=True, activation="gelu_new"))
    assert all(p.requires_grad for _, p in bias_parameters(model))
    assert model.config.activation_function == "gelu_new"
    with pytest.raises(ValueError, match="activation"):
        GPTConfig(activation="relu")


def test_bias_free_biases_stay_zero_through_training_resume_and_save(corpus, tmp_path):
    out = tmp_path / "run"
    trainer = Trainer(tiny(corpus, out, max_iters=6, checkpoint_interval=3))
    model = trainer.raw_model
    in_optimizer = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert not any(id(p) in in_optimizer for _, p in bias_parameters(model))
    weight_before = model.transformer.h[0].mlp.c_fc.weight.detach().clone()
    trainer.run()
    result = trainer.finish()
    assert result["steps"] == 6 and result["trainable_parameters"] < result["parameters"]
    assert not torch.equal(model.transformer.h[0].mlp.c_fc.weight, weight_before)  # the rest did train
    assert all(torch.count_nonzero(t) == 0 for t in biases(model).values())
    saved = load_file(out / "checkpoint" / "weights.safetensors")
    bias_keys = [k for k in saved if k.endswith(".bias")]
    assert bias_keys and all(torch.count_nonzero(saved[k]) == 0 for k in bias_keys)

    resumed = Trainer(tiny(corpus, out, max_iters=9, resume=True))
    assert resumed.step == 6 and resumed.config.bias is False
    resumed.run()
    resumed.finish()
    assert all(not p.requires_grad for _, p in bias_parameters(resumed.raw_model))
    assert all(torch.count_nonzero(t) == 0 for t in biases(resumed.raw_model).values())

    loaded = GPT2LMHeadModel.from_pretrained(out / "model")  # an ordinary GPT-2 checkpoint with zero biases
    assert loaded.config.bias is False
    assert all(torch.count_nonzero(t) == 0 for t in biases(loaded).values())


def test_with_bias_the_biases_train(corpus, tmp_path):
    trainer = Trainer(tiny(corpus, tmp_path / "run", max_iters=3, bias=True, activation="gelu_new"))
    trainer.run()
    assert any(torch.count_nonzero(t) > 0 for t in biases(trainer.raw_model).values())


def test_a_checkpoint_from_before_the_option_resumes_with_gpt2s_architecture():
    old = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "dropout": 0.0, "tokenizer": "char"}
    merged = _merge_resumed_config(TrainConfig(corpus="shakespeare"), old)
    assert merged.bias is True and merged.activation == "gelu_new"
    new = {**old, "bias": False, "activation": "gelu"}
    merged = _merge_resumed_config(TrainConfig(corpus="shakespeare", bias=True), new)
    assert merged.bias is False and merged.activation == "gelu"
