"""The estimator formulas, pinned to published numbers (pure functions, no I/O)."""
from __future__ import annotations

import math

import pytest

from core.estimate.architecture import Architecture, params_from_architecture, shape_from_params
from core.estimate.inference import estimate_inference, kv_cache_bytes, kv_cache_bytes_for, weights_bytes
from core.estimate.inputs import InputError, TrainingInputs, UserAcceleratorInput, UserRunInput, messages, parse
from core.estimate.memory import (QLORA_BYTES_PER_PARAM, activation_bytes_per_layer, lora_trainable_params,
                                  training_memory, training_memory_gib)
from core.estimate.training import (CHINCHILLA_TABLE3, accelerator_hours, accelerator_hours_from_throughput,
                                    accelerators_for_deadline, chinchilla_optimal_tokens, energy_kwh,
                                    estimate_training, mfu_from_throughput, training_flops,
                                    training_time_seconds)
from core.estimate.units import GIB, human, parse_count

LLAMA2_7B = Architecture("Llama-2-7B", layers=32, hidden=4096, heads=32, kv_heads=32, ffn_hidden=11008,
                         vocab=32000, context=4096)
LLAMA2_70B = Architecture("Llama-2-70B", layers=80, hidden=8192, heads=64, kv_heads=8, ffn_hidden=28672,
                          vocab=32000, context=4096)


# ---------------------------------------------------------------- training compute
def test_gpt3_six_n_d_matches_the_reported_3_14e23_flops():
    # Brown et al. 2020, Table D.1: 175B parameters, 300B tokens, 3.14e23 FLOPs.
    assert training_flops(175e9, 300e9) == pytest.approx(3.14e23, rel=0.01)


def test_recomputation_adds_one_forward_pass():
    assert training_flops(1e9, 1e9, recompute=True) / training_flops(1e9, 1e9) == pytest.approx(8 / 6)


def test_llama_65b_at_380_tokens_per_gpu_on_2048_a100_takes_about_21_days():
    # Touvron et al. 2023, Sec. 2.4: "approximately 21 days" for 1.4T tokens.
    hours = accelerator_hours_from_throughput(1.4e12, 380)
    est = estimate_training(65.2e9, 1.4e12, 312, 2048, tokens_per_second_per_accelerator=380)
    assert est.accelerator_hours == hours
    assert est.wall_clock_days == pytest.approx(21, abs=0.5)
    assert hours == pytest.approx(1_022_362, rel=0.01)  # Table 15 reports 1,022,362 GPU-hours


def test_chinchilla_optimum_is_twenty_tokens_per_parameter_and_table3_agrees():
    assert chinchilla_optimal_tokens(70e9) == pytest.approx(1.4e12)  # Chinchilla itself: 70B on 1.4T
    for params, flops, tokens in CHINCHILLA_TABLE3:
        assert 19 <= tokens / params <= 23  # "about 20"
        assert training_flops(params, tokens) == pytest.approx(flops, rel=0.06)


def test_accelerator_hours_divide_flops_by_peak_times_mfu():
    # 1e21 FLOPs at 1e15 FLOP/s × 0.5 = 2e6 s = 555.6 h
    assert accelerator_hours(1e21, 1000, 0.5) == pytest.approx(2e6 / 3600)
    assert mfu_from_throughput(65.2e9, 380, 312) == pytest.approx(6 * 65.2e9 * 380 / 312e12)


def test_cost_energy_and_wall_clock_follow_the_hours():
    est = estimate_training(1e9, 1e12, 1000, 10, mfu=0.5, usd_per_accelerator_hour=2.0, board_power_w=700, pue=1.2)
    assert est.wall_clock_hours == pytest.approx(est.accelerator_hours / 10)
    assert est.cost_usd == pytest.approx(est.accelerator_hours * 2.0)
    assert est.energy_kwh == pytest.approx(est.accelerator_hours * 0.7 * 1.2)
    assert energy_kwh(1000, 700, 1.2) == pytest.approx(840)
    assert estimate_training(1e9, 1e12, 1000, 1).cost_usd is None  # no price: no invented cost


def test_training_time_works_from_a_measured_cpu_throughput():
    assert training_time_seconds(13.9e6, 5e6, tokens_per_second=1000) == 5000
    assert training_time_seconds(1e6, 1e6, achieved_flops_per_second=6e9) == pytest.approx(1000)
    with pytest.raises(ValueError, match="exactly one"):
        training_time_seconds(1e6, 1e6)


def test_deadline_needs_the_smallest_count_that_finishes_in_time():
    assert accelerators_for_deadline(1000, 10) == 100
    assert accelerators_for_deadline(1001, 10) == 101
    assert accelerators_for_deadline(5, 10) == 1


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf])
def test_formulas_refuse_non_positive_or_non_finite_inputs(bad):
    with pytest.raises(ValueError):
        training_flops(bad, 1e9)
    with pytest.raises(ValueError):
        accelerator_hours(1e21, 312, bad if bad != 0 else 1.5)


# ---------------------------------------------------------------- architecture
@pytest.mark.parametrize("arch,published", [
    (LLAMA2_7B, 6.74e9),
    (LLAMA2_70B, 68.98e9),
    (Architecture("Llama-3.1-405B", 126, 16384, 128, 8, 53248, 128256, 131072), 405.9e9),
    (Architecture("BLOOM", 70, 14336, 112, 112, 57344, 250880, 2048, gated_mlp=False, tied_embeddings=True), 176.2e9),
    (Architecture("GPT-2", 12, 768, 12, 12, 3072, 50257, 1024, gated_mlp=False, tied_embeddings=True), 124.4e6),
])
def test_params_derived_from_the_architecture_match_published_counts(arch, published):
    assert params_from_architecture(arch) == pytest.approx(published, rel=0.015)


def test_shape_from_params_is_plausible_and_round_trips_the_size():
    shape = shape_from_params(7e9)
    assert shape.hidden % 128 == 0 and 24 <= shape.layers <= 48
    assert 12 * shape.layers * shape.hidden**2 == pytest.approx(7e9, rel=0.1)
    assert shape.params_count == 7e9


def test_architecture_refuses_inconsistent_heads():
    with pytest.raises(ValueError, match="divisible"):
        Architecture("bad", 2, 100, 3, 3, 400, 10, 10)
    with pytest.raises(ValueError, match="kv_heads"):
        Architecture("bad", 2, 128, 4, 3, 512, 10, 10)


# ---------------------------------------------------------------- inference
def test_llama2_7b_kv_cache_at_4096_tokens_in_bf16_is_2_gib():
    assert kv_cache_bytes(32, 32, 128, 4096, 1, "bf16") == 2 * GIB
    assert kv_cache_bytes_for(LLAMA2_7B, 4096) == 2 * GIB


def test_kv_cache_counts_keys_and_values_and_gqa():
    one_token = kv_cache_bytes_for(LLAMA2_70B, 1)
    assert one_token == 2 * 80 * 8 * 128 * 2  # keys AND values, 8 KV heads
    full_mha = Architecture("70B without GQA", 80, 8192, 64, 64, 28672, 32000, 4096)
    assert kv_cache_bytes_for(full_mha, 1000) / kv_cache_bytes_for(LLAMA2_70B, 1000) == LLAMA2_70B.gqa_ratio == 8
    assert kv_cache_bytes_for(LLAMA2_7B, 100, batch=4) == 4 * kv_cache_bytes_for(LLAMA2_7B, 100)


def test_weights_by_dtype():
    assert [weights_bytes(1e9, d) for d in ("fp32", "bf16", "int8", "int4")] == [4e9, 2e9, 1e9, 0.5e9]
    with pytest.raises(ValueError):
        weights_bytes(1e9, "fp64")


def test_decode_is_bandwidth_bound_and_prefill_compute_bound():
    arch = LLAMA2_7B
    est = estimate_inference(arch, peak_tflops=312, bandwidth_tbs=2.039, memory_gib=80, batch=1,
                             prompt_tokens=2048, output_tokens=2, efficiency=1.0)
    ceiling = 2.039e12 / weights_bytes(arch.params_count, "bf16")  # ≈ 151 tokens/s
    assert est.tokens_per_second_per_sequence < ceiling
    assert est.tokens_per_second_per_sequence == pytest.approx(ceiling, rel=0.1)  # KV read is small at 2k tokens
    prefill_flops = 2 * arch.params_count * 2048 + 2 * arch.layers * 2048**2 * arch.hidden
    assert est.time_to_first_token_s == pytest.approx(prefill_flops / 312e12)


def test_cost_per_million_tokens_and_batching():
    one = estimate_inference(LLAMA2_7B, peak_tflops=312, bandwidth_tbs=2.039, memory_gib=80, batch=1,
                             usd_per_accelerator_hour=2.0)
    many = estimate_inference(LLAMA2_7B, peak_tflops=312, bandwidth_tbs=2.039, memory_gib=80, batch=32,
                              usd_per_accelerator_hour=2.0)
    assert one.cost_per_million_tokens_usd == pytest.approx(2.0 / (one.tokens_per_second * 3600) * 1e6)
    assert many.tokens_per_second > 10 * one.tokens_per_second  # batching amortises the weight reads
    assert many.cost_per_million_tokens_usd < one.cost_per_million_tokens_usd


def test_max_batch_is_the_largest_that_fits():
    kwargs = dict(peak_tflops=121, bandwidth_tbs=0.3, memory_gib=24, prompt_tokens=1024, output_tokens=1024)
    est = estimate_inference(LLAMA2_7B, **kwargs)
    assert est.max_batch >= 1
    kv_seq = kv_cache_bytes_for(LLAMA2_7B, 2048)
    usable = 24 * 0.9 * GIB - weights_bytes(LLAMA2_7B.params_count)
    assert est.max_batch * kv_seq <= usable < (est.max_batch + 1) * kv_seq
    assert not estimate_inference(LLAMA2_70B, **kwargs).fits
    assert estimate_inference(LLAMA2_70B, **(kwargs | {"memory_gib": 80}), count=2, dtype="bf16").fits


# ---------------------------------------------------------------- training memory
def test_full_fine_tuning_keeps_16_bytes_per_parameter_and_zero_shards_them():
    tiny = dict(arch=LLAMA2_7B, seq_len=1, micro_batch=1)
    m0 = training_memory(1e9, "full", **tiny)
    assert (m0.weights_gib, m0.gradients_gib, m0.optimizer_gib) == pytest.approx((2e9 / GIB, 2e9 / GIB, 12e9 / GIB))
    m1 = training_memory(1e9, "full", zero_stage=1, count=8, **tiny)
    assert m1.optimizer_gib == pytest.approx(m0.optimizer_gib / 8) and m1.gradients_gib == m0.gradients_gib
    m2 = training_memory(1e9, "full", zero_stage=2, count=8, **tiny)
    assert m2.gradients_gib == pytest.approx(m0.gradients_gib / 8) and m2.weights_gib == m0.weights_gib
    m3 = training_memory(1e9, "full", zero_stage=3, count=8, **tiny)
    assert m3.weights_gib == pytest.approx(m0.weights_gib / 8)
    tp = training_memory(1e9, "full", count=8, tensor_parallel=4, pipeline_parallel=2, **tiny)
    assert tp.weights_gib == pytest.approx(m0.weights_gib / 8) and tp.data_parallel == 1


def test_activations_follow_korthikanti_with_and_without_recomputation():
    s, b, h, a = 2048, 1, 12288, 96  # GPT-3 175B
    assert activation_bytes_per_layer(s, b, h, a) == s * b * h * (34 + 5 * a * s / h)
    assert activation_bytes_per_layer(s, b, h, a, "selective") == 34 * s * b * h
    assert activation_bytes_per_layer(s, b, h, a, "full") == 2 * s * b * h
    assert activation_bytes_per_layer(s, b, h, a, "none", tensor_parallel=8) == activation_bytes_per_layer(s, b, h, a) / 8


def test_lora_and_qlora_train_a_few_million_adapters_on_a_frozen_base():
    # PEFT reports 16,777,216 trainable parameters for r=16 on q,k,v,o of Llama-2-7B.
    assert lora_trainable_params(LLAMA2_7B, 16) == 16_777_216
    full = training_memory(6.74e9, "full", arch=LLAMA2_7B, recompute="full")
    lora = training_memory(6.74e9, "lora", arch=LLAMA2_7B, recompute="full")
    qlora = training_memory(6.74e9, "qlora", arch=LLAMA2_7B, recompute="full")
    assert full.total_gib > 100 > lora.total_gib > qlora.total_gib
    assert qlora.weights_gib == pytest.approx((6.74e9 * QLORA_BYTES_PER_PARAM + 2 * 16_777_216) / GIB)
    assert qlora.activations_gib == lora.activations_gib


def test_fp32_training_keeps_fp32_weights_gradients_and_two_adam_moments():
    tiny = dict(arch=LLAMA2_7B, seq_len=128, micro_batch=2)
    mixed = training_memory(1e9, "full", **tiny)
    fp32 = training_memory(1e9, "full", precision="fp32", **tiny)
    assert (fp32.weights_gib, fp32.gradients_gib, fp32.optimizer_gib) == pytest.approx((4e9 / GIB, 4e9 / GIB, 8e9 / GIB))
    assert fp32.activations_gib == pytest.approx(2 * mixed.activations_gib)
    with pytest.raises(ValueError, match="precision"):
        training_memory(1e9, precision="fp8")


def test_training_memory_gib_is_usable_without_an_architecture():
    total = training_memory_gib(135e6, "lora", seq_len=128, micro_batch=8)
    assert 0.2 < total < 5
    with pytest.raises(ValueError):
        training_memory_gib(1e9, "dreambooth")
    with pytest.raises(ValueError, match="multiple"):
        training_memory_gib(1e9, count=6, tensor_parallel=4)


# ---------------------------------------------------------------- inputs and units
def test_inputs_refuse_bad_values_with_a_message_per_field():
    with pytest.raises(InputError) as err:
        parse(TrainingInputs, {"params": -1, "tokens": math.nan, "accelerator_id": "h100_sxm", "count": 0, "mfu": 2})
    assert set(err.value.errors) == {"params", "tokens", "count", "mfu"}
    with pytest.raises(InputError) as err:
        parse(UserAcceleratorInput, {"name": "<b>x</b>", "bf16_tflops_dense": 1, "memory_gib": 1, "bandwidth_tbs": 1})
    assert "name" in err.value.errors


def test_input_messages_name_the_field_in_the_ui_language():
    with pytest.raises(InputError) as err:
        parse(TrainingInputs, {"params": 1e9, "tokens": 1e9, "accelerator_id": "h100_sxm", "count": 0})
    assert messages(err.value, "en") == ["Accelerators: must be at least 1"]
    assert messages(err.value, "zh") == ["加速器数量：不能小于 1"]
    assert messages(ValueError("plain"), "en") == ["plain"]
    with pytest.raises(InputError) as err:
        parse(UserRunInput, {"model": "<b>x</b>", "params_b": 1, "tokens_b": 1, "accelerator_id": "h100_sxm"})
    assert messages(err.value, "zh") == ["模型：只能使用字母、数字、空格和 . , + ( ) / -"]


def test_counts_parse_with_suffixes_and_print_short():
    assert parse_count("7B") == 7e9 and parse_count("1.4T") == 1.4e12 and parse_count("2e12") == 2e12
    with pytest.raises(ValueError):
        parse_count("-5")
    assert human(1_500_000) == "1.5M" and human(None) == "n/a"
