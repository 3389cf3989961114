"""The native int8 decode step (core/lm/native/decode.c) computes what transformers computes with
the same int8-rounded weights, and the torch fallback takes over when it is unavailable."""
from __future__ import annotations

import copy

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from core.lm import native
from core.lm.generate import FastDecoder, Generation, GenerationError, GenerationParams, _int8_rows
from core.lm.loader import load_model
from tests.demos_tiny import make_tiny_llama

needs_compiler = pytest.mark.skipif(native.compiler() is None, reason="no C compiler on this machine")


def odd_llama(seed: int = 0, hidden: int = 108, ffn: int = 100) -> LlamaForCausalLM:
    """By default widths that are not multiples of the kernel's 32- and 8-wide blocks (108, 100,
    head 18), grouped-query attention (6 heads over 2 kv heads), untied lm_head."""
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=301, hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=3,
                         num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=64,
                         tie_word_embeddings=False, rms_norm_eps=1e-5)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # random init is N(0, 0.02); give the norms some spread too
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    return model


def odd_qwen2(seed: int = 0, hidden: int = 108, ffn: int = 100) -> Qwen2ForCausalLM:
    """The same odd widths as a Qwen2 model: biases on q, k and v (non-zero here), rope theta 1e6."""
    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=301, hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=3,
                         num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=64,
                         tie_word_embeddings=False, rms_norm_eps=1e-6, rope_theta=1e6)
    model = Qwen2ForCausalLM(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
            elif name.endswith("bias"):
                p.normal_(0.0, 0.5)
    return model


ARCHS = {"llama": odd_llama, "qwen2": odd_qwen2}


def block_rounded(x: torch.Tensor, block: int = 32) -> torch.Tensor:
    """x rounded as the kernel rounds a linear layer's input: int8 per block of 32, scale amax/127."""
    n = x.shape[-1]
    blocks = torch.nn.functional.pad(x, (0, -n % block)).unflatten(-1, (-1, block))
    scale = blocks.abs().amax(-1, keepdim=True) / 127.0
    q = torch.where(scale > 0, torch.round(blocks / scale), torch.zeros_like(blocks))
    return (q * scale).flatten(-2)[..., :n]


def rounded_reference(model: LlamaForCausalLM) -> LlamaForCausalLM:
    """The model computing what the kernel computes, in transformers: every linear weight replaced
    by its int8 rounding and every linear input rounded to int8 blocks (embeddings stay fp32)."""
    ref = copy.deepcopy(model)
    with torch.no_grad():
        linears = [m for name, m in ref.named_modules() if isinstance(m, torch.nn.Linear)]
        if ref.config.tie_word_embeddings:
            ref.lm_head.weight = torch.nn.Parameter(ref.lm_head.weight.detach().clone())
        for lin in linears:
            q, scale = _int8_rows(lin.weight)
            lin.weight.copy_(q.float() * scale.float()[:, None])
            lin.register_forward_pre_hook(lambda module, args: (block_rounded(args[0]),))
    return ref


@needs_compiler
def test_native_library_builds_and_is_used_by_default():
    decoder = FastDecoder(odd_llama())
    assert decoder.native, native.last_error()
    assert native.library_path().exists()


@needs_compiler
@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_native_steps_equal_transformers_with_the_same_int8_rounding(arch):
    model = ARCHS[arch]()
    assert FastDecoder.supports(model)
    decoder = FastDecoder(model)
    ref = rounded_reference(model)
    tokens = [5, 17, 300, 0, 42, 42, 7, 123]
    cache = decoder.new_cache(len(tokens))
    with torch.inference_mode():
        ours = torch.stack([decoder.step(t, pos, cache) for pos, t in enumerate(tokens)])
        expected = ref(torch.tensor([tokens])).logits[0]
    torch.testing.assert_close(ours, expected, atol=2e-5, rtol=1e-4)
    # and the rounding is small: the same steps in fp32 differ by well under 1 %
    with torch.inference_mode():
        fp32 = model(torch.tensor([tokens])).logits[0]
    assert torch.nn.functional.cosine_similarity(ours, fp32, dim=-1).min() > 0.999


def test_block_rounding_is_exact_for_values_on_the_grid_and_zero_blocks():
    x = torch.tensor([[0.0] * 32 + [127.0, -64.0, 1.0] + [0.0] * 29 + [5.0]])
    torch.testing.assert_close(block_rounded(x), x)


@needs_compiler
@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_native_and_torch_fallback_agree_after_an_fp32_prefill(arch):
    model = ARCHS[arch](seed=1, hidden=96, ffn=160)  # widths torch's int8 kernel handles (multiples of 32)
    fast, fallback = FastDecoder(model), FastDecoder(model, native=False)
    assert fast.native and not fallback.native
    prompt = [3, 1, 4, 1, 5, 9, 2, 6]
    outs = []
    for decoder in (fast, fallback):
        cache = decoder.new_cache(len(prompt) + 3)
        with torch.inference_mode():
            decoder.prefill(prompt, cache)
            outs.append(torch.stack([decoder.step(t, len(prompt) + i, cache) for i, t in enumerate((8, 9, 10))]))
    # the kernel rounds linear inputs to int8 blocks, the fallback to bf16: they agree closely
    assert torch.nn.functional.cosine_similarity(outs[0], outs[1], dim=-1).min() > 0.999
    torch.testing.assert_close(outs[0], outs[1], atol=1e-2, rtol=2e-2)


@needs_compiler
@pytest.mark.parametrize("token,pos", [(301, 0), (-1, 0), (1, 4), (1, -1)])
def test_native_step_refuses_tokens_or_positions_outside_the_model_or_cache(token, pos):
    decoder = FastDecoder(odd_llama())
    with pytest.raises(GenerationError, match="outside the model or its cache"):
        decoder.step(token, pos, decoder.new_cache(4))


@needs_compiler
def test_a_long_cache_grows_the_rotary_tables_and_scratch():
    model = odd_llama()
    model.config.max_position_embeddings = 5000
    decoder = FastDecoder(model)
    assert decoder._table_len == FastDecoder.TABLE_STEP
    cache = decoder.new_cache(1500)
    assert decoder._table_len == 2048
    with torch.inference_mode():
        decoder.prefill(list(range(1, 200)) * 7, cache)  # 1393 positions
        logits = decoder.step(3, 1393, cache)
    assert torch.isfinite(logits).all()


def test_native_decoding_can_be_switched_off(monkeypatch, tmp_path):
    monkeypatch.setenv("OPPLAB_NATIVE_DECODE", "0")
    lm = load_model(str(make_tiny_llama(tmp_path / "tiny")))
    assert not lm.fast.native and "OPPLAB_NATIVE_DECODE" in native.last_error()
    gen = Generation(lm, "Hello", GenerationParams(max_new_tokens=4, greedy=True, ignore_eos=True))
    list(gen)
    assert gen.result.decoder == "fast-int8-torch" and gen.result.n_new_tokens == 4


def test_a_missing_compiler_falls_back_with_a_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("OPPLAB_STATE_DIR", str(tmp_path))  # nothing built there yet
    monkeypatch.setattr(native, "compiler", lambda: None)
    monkeypatch.setattr(native, "_loaded", {})
    assert native.library() is None
    assert "no C compiler" in native.last_error()
    assert not FastDecoder(odd_llama()).native


def test_the_torch_fallback_is_only_offered_for_widths_its_kernel_handles():
    # torch's _weight_int8pack_mm returns wrong numbers for some widths (e.g. 100); the loader
    # then uses the plain transformers path instead of a wrong fast one
    assert FastDecoder.torch_kernel_fits(odd_llama(hidden=96, ffn=160).config)
    assert not FastDecoder.torch_kernel_fits(odd_llama().config)


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_fp32_prefill_equals_transformers_forward(arch):
    model = ARCHS[arch]()
    decoder = FastDecoder(model, native=False)
    prompt = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    with torch.inference_mode():
        ours = decoder.prefill(prompt, decoder.new_cache(len(prompt)))
        expected = model(torch.tensor([prompt])).logits[0, -1]
    torch.testing.assert_close(ours, expected, atol=1e-4, rtol=1e-4)


def test_models_with_biases_the_kernel_does_not_add_are_not_claimed():
    model = odd_qwen2()
    model.model.layers[0].self_attn.o_proj.bias = torch.nn.Parameter(torch.zeros(108))
    assert not FastDecoder.supports(model)


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_bf16_prefill_stays_close_to_fp32(arch, monkeypatch):
    from core.lm import precision

    model = ARCHS[arch]()
    decoder = FastDecoder(model, native=False)
    prompt = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    monkeypatch.setattr(precision, "_choice", [(torch.bfloat16, 0)])
    with torch.inference_mode():
        ours = decoder.prefill(prompt, decoder.new_cache(len(prompt)))
        expected = model(torch.tensor([prompt])).logits[0, -1]
    assert ours.dtype == torch.float32
    assert torch.nn.functional.cosine_similarity(ours, expected, dim=0) > 0.999


@needs_compiler
@pytest.mark.parametrize("arch", sorted(ARCHS))
@pytest.mark.parametrize("batch", [2, 5, 9])
def test_a_batched_step_gives_each_sequence_exactly_its_own_logits(arch, batch):
    """Continuous batching: sequences at different positions, with caches of different lengths,
    stepped together give bit for bit what each gives stepped alone (5 and 9 cover the 4-wide inner
    block and its remainder)."""
    model = ARCHS[arch](seed=2)
    alone, together = FastDecoder(model), FastDecoder(model)
    g = torch.Generator().manual_seed(0)
    prompts = [torch.randint(0, 301, (int(n),), generator=g).tolist()
               for n in torch.randint(1, 12, (batch,), generator=g)]
    steps = [[int(t) for t in torch.randint(0, 301, (3,), generator=g)] for _ in range(batch)]
    expected, caches = [], []
    for prompt, toks in zip(prompts, steps):
        cache = alone.new_cache(len(prompt) + 3 + len(caches))  # caches of different lengths
        alone.prefill(prompt, cache)
        expected.append(torch.stack([alone.step(t, len(prompt) + i, cache) for i, t in enumerate(toks)]))
        cache2 = together.new_cache(cache.length)
        together.prefill(prompt, cache2)
        caches.append(cache2)
    got = torch.stack([together.step_batch([s[i] for s in steps], [len(p) + i for p in prompts], caches)
                       for i in range(3)], dim=1)
    assert torch.equal(got, torch.stack(expected))


@needs_compiler
def test_a_batched_step_refuses_a_bad_token_and_writes_nothing():
    decoder = FastDecoder(odd_llama())
    caches = [decoder.new_cache(4), decoder.new_cache(4)]
    with pytest.raises(GenerationError, match="outside the model or its cache"):
        decoder.step_batch([1, 301], [0, 0], caches)
    assert all(float(k.abs().sum()) == 0 for cache in caches for k, _ in cache)


def test_short_prompts_stay_in_fp32_where_bf16_only_pays_off_for_long_ones(monkeypatch):
    """Autocast casts every weight to bf16 on each call: below the measured prompt length the
    cast costs more than bf16 saves, so those prefills run in fp32."""
    from core.lm import precision

    monkeypatch.setattr(precision, "_choice", [(torch.bfloat16, 100)])
    assert precision.prefill_dtype(10) == torch.float32
    assert precision.prefill_dtype(100) == torch.bfloat16
    assert precision.prefill_dtype(None) == torch.bfloat16  # a large batch
    monkeypatch.setattr(precision, "_choice", [(torch.float32, 0)])
    assert precision.prefill_dtype(5000) == torch.float32
    monkeypatch.setattr(precision, "_choice", [])
    monkeypatch.setenv("OPPLAB_PREFILL_DTYPE", "bf16")
    assert precision.prefill_dtype(1) == torch.bfloat16


def test_the_prefill_measurement_is_made_once_per_machine_and_kept_in_the_state_dir(monkeypatch, tmp_path):
    """A new process (a CLI call, a server start) reads the kept measurement instead of timing bf16
    again; another machine's entry, or a damaged file, is measured anew."""
    import json

    from core.lm import precision

    monkeypatch.setenv("OPPLAB_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("OPPLAB_PREFILL_DTYPE", raising=False)
    calls = []
    monkeypatch.setattr(precision, "_measure", lambda: calls.append(1) or (torch.bfloat16, 37))
    monkeypatch.setattr(precision, "_choice", [])
    assert precision.prefill_dtype(40) == torch.bfloat16 and calls == [1]
    saved = json.loads((tmp_path / "calibration.json").read_text())["prefill"][precision.machine_key()]
    assert saved["dtype"] == "bf16" and saved["min_tokens"] == 37
    monkeypatch.setattr(precision, "_choice", [])  # a new process on the same machine
    assert precision.prefill_dtype(36) == torch.float32 and calls == [1]
    monkeypatch.setattr(precision, "machine_key", lambda: "another-machine")
    monkeypatch.setattr(precision, "_choice", [])
    assert precision.prefill_dtype(40) == torch.bfloat16 and calls == [1, 1]
    assert len(json.loads((tmp_path / "calibration.json").read_text())["prefill"]) == 2
    (tmp_path / "calibration.json").write_text("{not json")
    monkeypatch.setattr(precision, "_choice", [])
    assert precision.prefill_dtype(40) == torch.bfloat16 and calls == [1, 1, 1]


def test_the_streamlit_server_does_not_run_a_full_gc_after_every_script_run():
    """Every `streamlit run app.py` reads .streamlit/config.toml: Streamlit's default full
    collection after each run held the GIL 260-280 ms per rerun with the models loaded."""
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
