"""Fast, streaming text generation.

Two decoders behind one loop:
- FastDecoder, for Llama-architecture models (the bundled SmolLM2, Qwen2 with its QKV bias, and
  their fine-tunes): the prompt
  is prefilled with the fp32 weights (fast GEMMs, so time to first token stays low), then each new
  token is decoded with int8 copies of the linear layers (per-output-channel scales), a
  preallocated KV cache and fused QKV / gate-up projections. The decode step runs in the native
  kernel core/lm/native/decode.c: one call per token, each linear layer's input rounded to int8 in
  blocks of 32 and multiplied int8 x int8 with AVX2, rows over OpenMP threads; attention, norms
  and the residual stream stay fp32. Where it cannot be built (no C compiler) the same step runs
  as torch ops through `_weight_int8pack_mm` (bf16 inputs), about half as fast.
- the plain transformers forward with its KV cache, for every other architecture (e.g. the
  studio's from-scratch GPT-2 models).

`Generation` is an iterator of text pieces (feed it to st.write_stream); its `result` holds
tokens_per_second and ttft_ms once it is exhausted. With the fast decoder it submits a request to
the model's scheduler (core/lm/scheduler.py: continuous batching, concurrent sessions decoded in
one batched step, a queue beyond OPPLAB_MAX_DECODE_BATCH) and reads its tokens; the plain decoder
holds the model's lock while it runs, so its sessions are served one after the other. Closing the
iterator early leaves the batch (or releases the lock).
"""
from __future__ import annotations

import ctypes
import math
import queue
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from core.lm.threads import ThreadTuner

MAX_NEW_TOKENS = 1024
LOCK_TIMEOUT_S = 300
# Shortest gap between two streamed pieces (fast decoder): at ~40 tok/s one update per token is
# 40 page updates a second per session; at 0.08 s a piece carries ~3 tokens and the text still
# flows. The first piece is never held back. With more than 2 requests decoding at once the gap
# grows with them (x active / 2: 0.32 s at 8), so that the server's time goes to decoding and to
# other sessions' page runs rather than to many small page updates.
PIECE_INTERVAL_S = 0.08


class GenerationError(ValueError):
    """Bad generation settings or a busy model; the message is meant for the user."""


@dataclass
class GenerationParams:
    max_new_tokens: int = 128
    temperature: float = 0.7
    top_k: int = 50
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    seed: int | None = None
    greedy: bool = False
    ignore_eos: bool = False  # benchmarks: always produce max_new_tokens

    def validate(self) -> "GenerationParams":
        for name in ("max_new_tokens", "top_k", "seed", "temperature", "top_p", "repetition_penalty"):
            value, whole = getattr(self, name), name in ("max_new_tokens", "top_k", "seed")
            if value is None:
                continue
            try:
                ok = math.isfinite(float(value)) and (not whole or int(value) == float(value))
            except (TypeError, ValueError, OverflowError):
                ok = False
            if not ok:
                raise GenerationError(f"{name.replace('_', ' ')} must be a {'whole' if whole else 'finite'} number")
        checks = [
            (1 <= int(self.max_new_tokens) <= MAX_NEW_TOKENS, f"max new tokens must be between 1 and {MAX_NEW_TOKENS}"),
            (math.isfinite(self.temperature) and 0.0 <= self.temperature <= 5.0, "temperature must be between 0 and 5"),
            (0 <= int(self.top_k) <= 100_000, "top-k must be 0 (off) or a positive integer"),
            (math.isfinite(self.top_p) and 0.0 < self.top_p <= 1.0, "top-p must be in (0, 1]"),
            (math.isfinite(self.repetition_penalty) and 0.5 <= self.repetition_penalty <= 3.0,
             "repetition penalty must be between 0.5 and 3"),
            (self.seed is None or 0 <= int(self.seed) < 2**63, "seed must be a non-negative integer"),
        ]
        for ok, message in checks:
            if not ok:
                raise GenerationError(message)
        return self

    @property
    def is_greedy(self) -> bool:
        return self.greedy or self.temperature == 0.0


@dataclass
class GenerationResult:
    text: str = ""
    n_prompt_tokens: int = 0
    n_new_tokens: int = 0
    ttft_ms: float = 0.0  # prompt in -> first new token out
    tokens_per_second: float = 0.0  # decode rate after the first token
    total_s: float = 0.0
    finish_reason: str = ""  # eos | length | stopped
    decoder: str = ""  # fast-int8-native | fast-int8-torch | plain
    token_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "token_ids"}


# ------------------------------------------------------------------ fast Llama decoder
def _int8_rows(weight: torch.Tensor, rows: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per output row: W ~= q * scale[:, None] (scale fp32).

    Quantised in blocks of `rows` through one reused fp32 buffer: the whole-matrix version made
    three matrix-sized temporaries, and page-faulting them in cost most of a model load (Qwen2.5's
    136M-entry head: 2.6 s whole, 0.13 s in blocks, bit-identical; bench/pitch_export.py)."""
    w = weight.detach()
    n = w.shape[0]
    q = torch.empty(w.shape, dtype=torch.int8)
    scale = torch.empty(n, dtype=torch.float32)
    buf = torch.empty((min(rows, n), w.shape[1]), dtype=torch.float32)
    for i in range(0, n, rows):
        block = w[i:i + rows].float()
        b = buf[:block.shape[0]]
        torch.abs(block, out=b)
        s = b.amax(dim=1).div_(127.0).clamp_(min=1e-12)
        scale[i:i + rows] = s
        torch.div(block, s[:, None], out=b)
        q[i:i + rows] = b.round_().clamp_(-127, 127)
    return q, scale


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return F.rms_norm(x, (x.shape[-1],), weight, eps)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class KVCache(list):
    """Per layer (keys, values), each (1, n_kv, length, hd) fp32, plus their C pointer arrays."""

    def __init__(self, layers: list[tuple[torch.Tensor, torch.Tensor]], length: int):
        super().__init__(layers)
        self.length = length
        from core.lm.native import pointer_array

        self.k_ptrs = pointer_array([k for k, _ in layers])
        self.v_ptrs = pointer_array([v for _, v in layers])


class FastDecoder:
    """Batch-1 inference for Llama models: fp32 prefill, int8 weight-only decode, static KV cache.

    `native` is True when the decode step runs in core/lm/native/decode.c (linear inputs rounded
    to int8 blocks), False for the torch-op fallback (linear inputs and scales rounded to bf16)."""

    TABLE_STEP = 1024  # rotary tables grow in steps of this many positions

    def __init__(self, model: Any, native: bool = True):
        cfg = model.config
        self.n_layer = cfg.num_hidden_layers
        self.n_head = cfg.num_attention_heads
        self.n_kv = cfg.num_key_value_heads
        self.d = cfg.hidden_size
        self.hd = getattr(cfg, "head_dim", None) or self.d // self.n_head
        self.ffn = cfg.intermediate_size
        self.vocab = cfg.vocab_size
        self.eps = cfg.rms_norm_eps
        self.max_positions = cfg.max_position_embeddings
        theta = (getattr(cfg, "rope_parameters", None) or {}).get("rope_theta") or getattr(cfg, "rope_theta", 10000.0)
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))
        inner = model.model
        self.embed = inner.embed_tokens.weight  # fp32, shared with the HF model (no copy)
        self.final_norm = inner.norm.weight
        self.lm_head = model.lm_head.weight
        self.lm_q = _int8_rows(self.lm_head)
        self.layers = []
        for layer in inner.layers:
            att, mlp = layer.self_attn, layer.mlp
            biases = [att.q_proj.bias, att.k_proj.bias, att.v_proj.bias]
            self.layers.append({
                # Qwen2: biases on q, k, v (fp32, added after the int8 product); None for Llama
                "qkv_b": torch.cat(biases).detach().float().contiguous() if biases[0] is not None else None,
                # fp32 views of the HF weights, for the prefill
                "q": att.q_proj.weight, "k": att.k_proj.weight, "v": att.v_proj.weight, "o": att.o_proj.weight,
                "bq": biases[0], "bk": biases[1], "bv": biases[2],
                "gate": mlp.gate_proj.weight, "up": mlp.up_proj.weight, "down": mlp.down_proj.weight,
                "ln1": layer.input_layernorm.weight, "ln2": layer.post_attention_layernorm.weight,
                # fused int8 copies, for the decode
                "qkv8": _int8_rows(torch.cat([att.q_proj.weight, att.k_proj.weight, att.v_proj.weight])),
                "o8": _int8_rows(att.o_proj.weight),
                "gu8": _int8_rows(torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight])),
                "down8": _int8_rows(mlp.down_proj.weight),
            })
        self._table_len = 0
        self._tuner: ThreadTuner | None = None
        self._tuner_limit = 0
        self._lib = None
        if native:
            from core.lm.native import library

            self._lib = library()
        if self._lib is None:  # torch fallback: _weight_int8pack_mm takes bf16 scales
            self.lm_q = (self.lm_q[0], self.lm_q[1].to(torch.bfloat16))
            for layer in self.layers:
                for key in ("qkv8", "o8", "gu8", "down8"):
                    layer[key] = (layer[key][0], layer[key][1].to(torch.bfloat16))
        self._ensure_tables(self.TABLE_STEP)

    @property
    def native(self) -> bool:
        return self._lib is not None

    def _thread_tuner(self) -> ThreadTuner:
        """Threads for the native step, chosen by measurement (core.lm.threads): with another
        process busy on this 2-core CPU an OpenMP step at 2 threads waits for a thread that lost
        its core (measured ~700 ms against 22 ms at 1 thread), so decode steps are timed at 1 and at
        torch's thread count, the faster is kept and checked again every 64 steps."""
        limit = torch.get_num_threads()
        if self._tuner is None or self._tuner_limit != limit:
            self._tuner, self._tuner_limit = ThreadTuner(limit, every=64, trial=2), limit
        return self._tuner

    @staticmethod
    def supports(model: Any) -> bool:
        """Llama (SmolLM2) and Qwen2 (bias on q, k, v only) with SiLU MLPs and default RoPE."""
        cfg = getattr(model, "config", None)
        rope = (getattr(cfg, "rope_parameters", None) or {}).get("rope_type", "default")
        kind = getattr(cfg, "model_type", "")
        if kind not in ("llama", "qwen2") or getattr(model, "lm_head", None) is None:
            return False
        if kind == "qwen2" and getattr(cfg, "use_sliding_window", False):
            return False
        try:
            layers = model.model.layers
            att, mlp = layers[0].self_attn, layers[0].mlp
        except (AttributeError, IndexError, TypeError):
            return False
        qkv_bias = [p.bias is not None for p in (att.q_proj, att.k_proj, att.v_proj)]
        return (
            hasattr(torch, "_weight_int8pack_mm")
            and len(set(qkv_bias)) == 1
            and att.o_proj.bias is None
            and all(getattr(mlp, n).bias is None for n in ("gate_proj", "up_proj", "down_proj"))
            and getattr(cfg, "hidden_act", "") == "silu"
            and rope in (None, "default")
        )

    @staticmethod
    def torch_kernel_fits(cfg: Any) -> bool:
        """torch's _weight_int8pack_mm gives wrong results for some input widths that are not
        multiples of 32 (measured on torch 2.13 CPU: 40, 72, 100); the torch fallback is used only
        when every width is one (SmolLM2: 576, 1536)."""
        hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        return all(width % 32 == 0 for width in (cfg.hidden_size, cfg.num_attention_heads * hd, cfg.intermediate_size))

    # (T, n, hd) positions -> rotary embedding as in HF Llama (rotate_half convention)
    def _rope(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        return x * cos + _rotate_half(x) * sin

    def _cos_sin(self, start: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.arange(start, start + length, dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)  # (T, hd)
        return emb.cos()[:, None, :].contiguous(), emb.sin()[:, None, :].contiguous()  # broadcast over heads

    def _ensure_tables(self, length: int) -> None:
        """Rotary tables (and the native kernel's attention scratch) for positions < length."""
        if length <= self._table_len:
            return
        length = max(length, min(-(-length // self.TABLE_STEP) * self.TABLE_STEP, self.max_positions))
        self._cos, self._sin = self._cos_sin(0, length)
        self._table_len = length
        if self._lib is not None:
            self._bind_native()

    def _bind_native(self) -> None:
        from core.lm.native import Model, pointer_array

        lib, L = self._lib, self.layers
        n_scratch = lib.opl_scratch_floats(self.d, self.n_head, self.n_kv, self.hd, self.ffn, self._table_len)
        self._scratch = torch.zeros(int(n_scratch))
        arrays = {key: pointer_array([layer[src][i] if i is not None else layer[src] for layer in L])
                  for key, src, i in (("ln1", "ln1", None), ("ln2", "ln2", None),
                                      ("qkv_q", "qkv8", 0), ("qkv_s", "qkv8", 1), ("o_q", "o8", 0), ("o_s", "o8", 1),
                                      ("gu_q", "gu8", 0), ("gu_s", "gu8", 1), ("dn_q", "down8", 0), ("dn_s", "down8", 1))}
        bias = pointer_array([layer["qkv_b"] for layer in L]) if L[0]["qkv_b"] is not None else None
        self._arrays = dict(arrays, qkv_b=bias)  # keep the pointer arrays alive with the struct
        self._struct = Model(
            n_layer=self.n_layer, n_head=self.n_head, n_kv=self.n_kv, d=self.d, hd=self.hd, ffn=self.ffn,
            vocab=self.vocab, max_pos=self._table_len, eps=self.eps,
            embed=self.embed.data_ptr(), final_norm=self.final_norm.data_ptr(),
            lm_q=self.lm_q[0].data_ptr(), lm_s=self.lm_q[1].data_ptr(),
            cos_t=self._cos.data_ptr(), sin_t=self._sin.data_ptr(), scratch=self._scratch.data_ptr(),
            qkv_b=ctypes.cast(bias, ctypes.c_void_p) if bias is not None else None,
            **{key: ctypes.cast(arr, ctypes.c_void_p) for key, arr in arrays.items()},
        )

    def new_cache(self, length: int) -> KVCache:
        """Per layer (keys, values), each (1, n_kv, length, hd); rotary tables for all positions."""
        self._ensure_tables(length)
        return KVCache([(torch.zeros(1, self.n_kv, length, self.hd), torch.zeros(1, self.n_kv, length, self.hd))
                        for _ in range(self.n_layer)], length)

    @torch.inference_mode()
    def prefill(self, ids: list[int], cache) -> torch.Tensor:
        """Run the prompt through the fp32 weights (bf16 products where measured faster, see
        core.lm.precision); fills cache[:, :, :T]; returns last logits (V,) in fp32."""
        from core.lm.precision import prefill_autocast

        with prefill_autocast(tokens=len(ids)):
            return self._prefill(ids, cache).float()

    def _prefill(self, ids: list[int], cache) -> torch.Tensor:
        T = len(ids)
        h = self.embed[torch.tensor(ids)]  # (T, d)
        cos, sin = self._cos[:T], self._sin[:T]
        for layer, (kc, vc) in zip(self.layers, cache):
            x = _rms_norm(h, layer["ln1"], self.eps)
            q = F.linear(x, layer["q"], layer["bq"]).view(T, self.n_head, self.hd)
            k = F.linear(x, layer["k"], layer["bk"]).view(T, self.n_kv, self.hd)
            v = F.linear(x, layer["v"], layer["bv"]).view(T, self.n_kv, self.hd)
            q, k = self._rope(q, cos, sin), self._rope(k, cos, sin)
            kc[0, :, :T] = k.transpose(0, 1)
            vc[0, :, :T] = v.transpose(0, 1)
            a = F.scaled_dot_product_attention(q.transpose(0, 1)[None], kc[:, :, :T], vc[:, :, :T],
                                               is_causal=True, enable_gqa=True)  # (1, nh, T, hd)
            h = h + F.linear(a[0].transpose(0, 1).reshape(T, self.d), layer["o"])
            x = _rms_norm(h, layer["ln2"], self.eps)
            h = h + F.linear(F.silu(F.linear(x, layer["gate"])) * F.linear(x, layer["up"]), layer["down"])
        last = _rms_norm(h[-1:], self.final_norm, self.eps)
        # One row through the vocabulary-sized head: under autocast it would first cast the whole
        # head to bf16 (54 ms for SmolLM2's 28M weights, against 10 ms for the fp32 row).
        with torch.autocast("cpu", enabled=False):
            return F.linear(last.float(), self.lm_head)[0]

    @staticmethod
    def _mm8(x: torch.Tensor, wq: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return torch._weight_int8pack_mm(x.to(torch.bfloat16), wq[0], wq[1]).float()

    @torch.inference_mode()
    def step(self, token: int, pos: int, cache: KVCache) -> torch.Tensor:
        """Decode one token at position pos with the int8 weights; returns logits (V,)."""
        if self._lib is not None:
            tuner = self._thread_tuner()
            threads = tuner.threads_for_next_step()
            logits = torch.empty(self.vocab)
            t0 = time.perf_counter()
            rc = self._lib.opl_step(ctypes.byref(self._struct), cache.k_ptrs, cache.v_ptrs, cache.length,
                                    int(token), int(pos), threads, logits.data_ptr())
            tuner.record(threads, time.perf_counter() - t0)
            if rc != 0:
                raise GenerationError(f"token {token} at position {pos} is outside the model or its cache")
            return logits
        return self._torch_step(token, pos, cache)

    @property
    def max_batch(self) -> int:
        """How many sequences one batched step can take (1 without the native kernel)."""
        return int(self._lib.opl_max_batch()) if self._lib is not None else 1

    @torch.inference_mode()
    def step_batch(self, tokens: list[int], positions: list[int], caches: list[KVCache]) -> torch.Tensor:
        """Decode one token for each of B sequences in one pass over the weights; returns (B, V)
        logits, each row equal to what `step` gives for that sequence alone. Without the native
        kernel (or for one sequence) the sequences are stepped one after the other."""
        B = len(tokens)
        if self._lib is None or B == 1:
            return torch.stack([self.step(t, p, c) for t, p, c in zip(tokens, positions, caches)])
        if B > self.max_batch:
            raise GenerationError(f"at most {self.max_batch} sequences per step")
        slice_ = int(self._lib.opl_scratch_floats(self.d, self.n_head, self.n_kv, self.hd, self.ffn, self._table_len))
        if getattr(self, "_batch_scratch", None) is None or self._batch_scratch.numel() < B * slice_:
            self._batch_scratch = torch.zeros(B * slice_)
        logits = torch.empty(B, self.vocab)
        ints = lambda values: (ctypes.c_int32 * B)(*[int(v) for v in values])  # noqa: E731
        k_ptrs = (ctypes.c_void_p * B)(*[ctypes.addressof(c.k_ptrs) for c in caches])
        v_ptrs = (ctypes.c_void_p * B)(*[ctypes.addressof(c.v_ptrs) for c in caches])
        tuners = self.__dict__.setdefault("_batch_tuners", {})
        limit = torch.get_num_threads()
        if B not in tuners or tuners[B][1] != limit:
            tuners[B] = (ThreadTuner(limit, every=64, trial=2), limit)
        tuner = tuners[B][0]
        threads = tuner.threads_for_next_step()
        t0 = time.perf_counter()
        rc = self._lib.opl_step_batch(ctypes.byref(self._struct), B, k_ptrs, v_ptrs, ints(c.length for c in caches),
                                      ints(tokens), ints(positions), threads, self._batch_scratch.data_ptr(),
                                      logits.data_ptr())
        tuner.record(threads, time.perf_counter() - t0)
        if rc != 0:
            raise GenerationError("a token or position is outside the model or its cache")
        return logits

    def _torch_step(self, token: int, pos: int, cache: KVCache) -> torch.Tensor:
        h = self.embed[token].view(1, self.d)
        cos, sin = self._cos[pos], self._sin[pos]  # (1, hd)
        nq, nk = self.n_head * self.hd, self.n_kv * self.hd
        for layer, (kc, vc) in zip(self.layers, cache):
            x = _rms_norm(h, layer["ln1"], self.eps)
            qkv = self._mm8(x, layer["qkv8"])[0]
            if layer["qkv_b"] is not None:
                qkv = qkv + layer["qkv_b"]
            q = self._rope(qkv[:nq].view(self.n_head, self.hd), cos, sin)  # (nh, hd)
            kc[0, :, pos] = self._rope(qkv[nq:nq + nk].view(self.n_kv, self.hd), cos, sin)
            vc[0, :, pos] = qkv[nq + nk:].view(self.n_kv, self.hd)
            a = F.scaled_dot_product_attention(q[None, :, None], kc[:, :, :pos + 1], vc[:, :, :pos + 1],
                                               enable_gqa=True)  # (1, nh, 1, hd)
            h = h + self._mm8(a.reshape(1, self.n_head * self.hd), layer["o8"])
            x = _rms_norm(h, layer["ln2"], self.eps)
            gate, up = self._mm8(x, layer["gu8"]).chunk(2, dim=-1)
            h = h + self._mm8(F.silu(gate) * up, layer["down8"])
        return self._mm8(_rms_norm(h, self.final_norm, self.eps), self.lm_q)[0]


# ------------------------------------------------------------------ sampling
def pick_next(logits: torch.Tensor, seen: torch.Tensor | None, params: GenerationParams,
              generator: torch.Generator | None) -> int:
    """The next token id from last-position logits (V,), as transformers' logits processors do
    (repetition penalty, temperature, top-k, top-p, then a draw).

    Hand-written in NumPy on purpose: these are a few operations on one vocabulary-sized vector per
    token, and torch runs vector ops this size over its OpenMP threads; on a 2-core machine shared
    with other work one such op waited ~130 ms for a thread that had lost its core (measured: 7 ms
    at 1 thread, 136 ms at 2, same logits). NumPy stays on the calling thread. The draw takes one
    uniform number from `generator` (torch's default generator when None), so a seed still fixes
    the text."""
    x = np.array(logits.detach().float().numpy(), dtype=np.float64)  # a copy: the caller's logits stay intact
    if params.repetition_penalty != 1.0 and seen is not None and seen.numel():
        idx = seen.numpy()
        vals = x[idx]
        x[idx] = np.where(vals > 0, vals / params.repetition_penalty, vals * params.repetition_penalty)
    if params.is_greedy:
        return int(np.argmax(x))
    x /= params.temperature
    if params.top_k and params.top_k < x.size:
        kth = np.partition(x, x.size - params.top_k)[x.size - params.top_k]
        candidates = np.flatnonzero(x >= kth)  # ties at the k-th value are kept, as transformers does
    else:
        candidates = np.arange(x.size)
    order = candidates[np.argsort(-x[candidates], kind="stable")]
    probs = np.exp(x[order] - x[order[0]])
    probs /= probs.sum()
    if params.top_p < 1.0:
        keep = int(np.searchsorted(np.cumsum(probs), params.top_p, side="left")) + 1  # the token crossing top_p stays
        order, probs = order[:keep], probs[:keep] / probs[:keep].sum()
    u = float(torch.rand((), generator=generator))
    return int(order[min(int(np.searchsorted(np.cumsum(probs), u, side="right")), len(order) - 1)])


def eos_ids(lm: Any) -> set[int]:
    """Token ids that end an answer: the end-of-sequence ids and, for chat models, every special
    token (a chat model that starts a new turn, <|im_start|>, has finished its answer)."""
    ids: set[int] = set()
    if getattr(lm.tokenizer, "chat_template", None):
        ids.update(int(i) for i in getattr(lm.tokenizer, "all_special_ids", []) if i != getattr(lm.tokenizer, "unk_token_id", None))
    for source in (getattr(lm.model, "generation_config", None), lm.model.config, lm.tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    return ids


def context_limit(lm: Any) -> int:
    cfg = lm.model.config
    return int(getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", 1024))


def prompt_ids(lm: Any, prompt: str, max_new_tokens: int) -> list[int]:
    """The prompt's token ids, its end kept when prompt and answer would overflow the context."""
    ids = lm.tokenizer(prompt, add_special_tokens=False)["input_ids"] or [lm.tokenizer.bos_token_id or 0]
    keep = context_limit(lm) - max_new_tokens
    if keep < 1:
        raise GenerationError(f"max new tokens must be below the model's context of {context_limit(lm)}")
    return ids[-keep:]


# ------------------------------------------------------------------ the generation loop
class Generation:
    """Iterate for text pieces; `result` is filled as it goes and final when exhausted."""

    def __init__(self, lm: Any, prompt: str, params: GenerationParams | None = None,
                 should_stop: Callable[[], bool] | None = None, use_fast: bool = True,
                 chooser: Callable[[torch.Tensor, list[int]], int] | None = None):
        self.lm = lm
        self.chooser = chooser  # (logits, new ids) -> next id, e.g. inference.SpanChooser; else sampling
        self.params = (params or GenerationParams()).validate()
        self.should_stop = should_stop or (lambda: False)
        self.use_fast = use_fast and getattr(lm, "fast", None) is not None
        self.prompt_ids = prompt_ids(lm, prompt, self.params.max_new_tokens)
        self.result = GenerationResult(n_prompt_tokens=len(self.prompt_ids),
                                       decoder=self._decoder_name())
        self.piece_interval_s = PIECE_INTERVAL_S
        self._request = None  # the scheduler's Request once submitted (fast decoder)
        self._scheduler = None
        self._t0 = 0.0

    def _decoder_name(self) -> str:
        if not self.use_fast:
            return "plain"
        return "fast-int8-native" if self.lm.fast.native else "fast-int8-torch"

    # -------------------------------------------------------------- the fast decoder: continuous batching
    def submit(self) -> None:
        """Join the model's decode queue now (iterating does it too); with `ahead` a page can say
        how many requests are ahead before the first token arrives. Fast decoder only."""
        if not self.use_fast or self._request is not None:
            return
        from core.lm.scheduler import Request, scheduler_for

        p = self.params
        generator = torch.Generator().manual_seed(int(p.seed)) if p.seed is not None else None
        state = {"seen": torch.tensor(self.prompt_ids), "n": 0}

        def pick(logits: torch.Tensor, new: list[int]) -> int:
            if self.chooser:
                return self.chooser(logits, new)
            for token in new[state["n"]:]:  # the repetition penalty sees every token so far, once
                if token not in state["seen"]:
                    state["seen"] = torch.cat([state["seen"], torch.tensor([token])])
            state["n"] = len(new)
            return pick_next(logits, state["seen"], p, generator)

        self._scheduler = scheduler_for(self.lm)
        self._request = Request(prompt_ids=self.prompt_ids, max_new_tokens=int(p.max_new_tokens), pick=pick,
                                stop_ids=set() if p.ignore_eos else eos_ids(self.lm))
        self._t0 = time.perf_counter()
        self._scheduler.submit(self._request)

    def ahead(self) -> int:
        """Requests waiting ahead of this one for a decoding slot; -1 once it decodes (or not queued)."""
        if self._request is None or self._request.admitted.is_set():
            return -1
        return self._scheduler.position(self._request)

    def close(self) -> None:
        """Leave the queue or the batch (also done when the iterator is closed or garbage-collected)."""
        if self._request is not None:
            self._request.cancel()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001  (interpreter shutdown)
            pass

    def _run_scheduled(self) -> Iterator[str]:
        self.submit()
        req, res, tok = self._request, self.result, self.lm.tokenizer
        new: list[int] = []
        shown = ""
        t_first = t_last = None
        res.finish_reason = "length"
        try:
            while True:
                try:
                    events = [req.events.get(timeout=0.05)]
                except queue.Empty:
                    if self.should_stop():
                        res.finish_reason = "stopped"
                        break
                    if not req.admitted.is_set() and time.perf_counter() - self._t0 > LOCK_TIMEOUT_S:
                        raise GenerationError("the model is busy with other requests; try again in a moment")
                    continue
                while True:  # everything the decoder produced meanwhile, shown as one piece
                    try:
                        events.append(req.events.get_nowait())
                    except queue.Empty:
                        break
                done = False
                for ev in events:
                    t_first = t_first or ev.at
                    if ev.kind == "error":
                        raise GenerationError(str(ev.value))
                    if ev.kind == "token":
                        new.append(int(ev.value))
                        t_last = ev.at
                    else:
                        res.finish_reason, done = str(ev.value), True
                text = tok.decode(new, skip_special_tokens=True)
                if not text.endswith("\ufffd") and len(text) > len(shown) and text.startswith(shown):
                    piece, shown = text[len(shown):], text
                    res.text = shown
                    yield piece
                    # The decoder goes on meanwhile: wait a little so that the next piece carries
                    # several tokens (fewer page updates per answer for the server and the browser).
                    if not done and self.piece_interval_s:
                        time.sleep(self.piece_interval_s * max(1.0, self._scheduler.load[0] / 2))
                if done:
                    break
                if self.should_stop():
                    res.finish_reason = "stopped"
                    break
        finally:
            req.cancel()  # a no-op once done; frees the slot when the reader stopped early
        t_end = time.perf_counter()
        res.token_ids = new
        res.n_new_tokens = len(new)
        res.text = tok.decode(new, skip_special_tokens=True)
        if res.text != shown and res.text.startswith(shown) and len(res.text) > len(shown):
            yield res.text[len(shown):]
        res.ttft_ms = ((t_first or t_end) - self._t0) * 1000
        res.total_s = t_end - self._t0
        if len(new) > 1 and t_last and t_last > t_first:
            res.tokens_per_second = (len(new) - 1) / (t_last - t_first)

    def __iter__(self) -> Iterator[str]:
        if self.use_fast:
            yield from self._run_scheduled()
            return
        if not self.lm.lock.acquire(timeout=LOCK_TIMEOUT_S):
            raise GenerationError("the model is busy with other requests; try again in a moment")
        try:
            yield from self._run()
        finally:
            self.lm.lock.release()

    def _run(self) -> Iterator[str]:
        p, lm, res = self.params, self.lm, self.result
        generator = torch.Generator().manual_seed(int(p.seed)) if p.seed is not None else None
        stop_ids = set() if p.ignore_eos else eos_ids(lm)
        new: list[int] = []
        seen = torch.tensor(self.prompt_ids)
        shown = ""
        t0 = time.perf_counter()
        t_first = t0
        res.finish_reason = "length"
        with torch.inference_mode():
            step = self._stepper()
            logits = step(None)
            for i in range(p.max_new_tokens):
                token = self.chooser(logits, new) if self.chooser else pick_next(logits, seen, p, generator)
                if i == 0:
                    t_first = time.perf_counter()
                    res.ttft_ms = (t_first - t0) * 1000
                if token in stop_ids:
                    res.finish_reason = "eos"
                    break
                new.append(token)
                seen = torch.cat([seen, torch.tensor([token])]) if token not in seen else seen
                text = lm.tokenizer.decode(new, skip_special_tokens=True)
                if not text.endswith("\ufffd") and len(text) > len(shown) and text.startswith(shown):
                    piece, shown = text[len(shown):], text
                    res.text = shown
                    yield piece
                if self.should_stop():
                    res.finish_reason = "stopped"
                    break
                if i + 1 < p.max_new_tokens:
                    logits = step(token)
        t_end = time.perf_counter()
        res.token_ids = new
        res.n_new_tokens = len(new)
        res.text = lm.tokenizer.decode(new, skip_special_tokens=True)
        if res.text != shown and res.text.startswith(shown) and len(res.text) > len(shown):
            yield res.text[len(shown):]
        res.total_s = t_end - t0
        if len(new) > 1 and t_end > t_first:
            res.tokens_per_second = (len(new) - 1) / (t_end - t_first)

    def _stepper(self) -> Callable[[int | None], torch.Tensor]:
        """The plain transformers forward (the fast decoder goes through the scheduler):
        None -> logits after the prompt; token -> logits after that token."""
        lm, ids = self.lm, self.prompt_ids
        state: dict[str, Any] = {}

        def plain_step(token: int | None) -> torch.Tensor:
            inp = torch.tensor([ids]) if token is None else torch.tensor([[token]])
            out = lm.model(input_ids=inp, past_key_values=state.get("past"), use_cache=True)
            state["past"] = out.past_key_values
            return out.logits[0, -1]
        return plain_step


def generate(lm: Any, prompt: str, params: GenerationParams | None = None, use_fast: bool = True) -> GenerationResult:
    """Run a generation to the end and return its result (text, tokens/s, ttft)."""
    gen = Generation(lm, prompt, params, use_fast=use_fast)
    for _ in gen:
        pass
    return gen.result
