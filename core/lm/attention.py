"""Attention weights of a live model for one sentence, for the heatmap on the attention page.

Scaled dot-product attention (Vaswani et al. 2017, eq. 1): Attention(Q, K, V) = softmax(QK^T / sqrt(d_k)) V;
multi-head attention concatenates h such heads, each with its own projections, and projects the
result: MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O. The weights returned here are the
softmax(QK^T / sqrt(d_k)) matrices, per layer and head, computed by the model itself (eager
attention, since fused kernels do not return them).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

MAX_TOKENS = 64

FORMULAS = {
    "scaled_dot_product": r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right) V",
    "multi_head": r"\mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\,W^O,"
                  r"\quad \mathrm{head}_i = \mathrm{Attention}(QW_i^Q, KW_i^K, VW_i^V)",
}


class AttentionInputError(ValueError):
    """The sentence cannot be analysed; the message is shown to the user."""


@dataclass
class AttentionMap:
    tokens: list[str]
    weights: torch.Tensor  # (layers, heads, T, T), rows sum to 1, causal (upper triangle 0)

    @property
    def n_layers(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.weights.shape[1])

    def head(self, layer: int, head: int) -> list[list[float]]:
        return self.weights[layer, head].tolist()

    def mean_over_heads(self, layer: int) -> list[list[float]]:
        return self.weights[layer].mean(0).tolist()


def _token_labels(tokenizer: Any, ids: list[int]) -> list[str]:
    labels = []
    for i, t in enumerate(ids):
        text = tokenizer.decode([t]).replace("\n", "\\n")
        labels.append(f"{i}:{text if text.strip() else repr(text)}")
    return labels


@torch.inference_mode()
def attention_map(lm: Any, text: str) -> AttentionMap:
    text = (text or "").strip()
    if not text:
        raise AttentionInputError("enter a sentence")
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) > MAX_TOKENS:
        raise AttentionInputError(f"the sentence has {len(ids)} tokens; the heatmap shows at most {MAX_TOKENS}")
    model = lm.model
    with lm.lock:  # switching the attention kernel must not race another session's forward pass
        previous = model.config._attn_implementation
        model.set_attn_implementation("eager")
        try:
            out = model(input_ids=torch.tensor([ids], device=next(model.parameters()).device), output_attentions=True)
        finally:
            model.set_attn_implementation(previous)
    weights = torch.stack([a[0].float().cpu() for a in out.attentions])  # (L, H, T, T)
    return AttentionMap(tokens=_token_labels(lm.tokenizer, ids), weights=weights)


def heatmap_figure(amap: AttentionMap, layer: int, head: int | None, title: str = ""):
    """A plotly heatmap: rows = query tokens, columns = key tokens. head=None averages the heads."""
    import plotly.graph_objects as go

    z = amap.mean_over_heads(layer) if head is None else amap.head(layer, head)
    fig = go.Figure(go.Heatmap(z=z, x=amap.tokens, y=amap.tokens, colorscale="Blues", zmin=0, zmax=1,
                               hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.3f}<extra></extra>"))
    fig.update_layout(title=title, yaxis_autorange="reversed", height=min(900, 260 + 18 * len(amap.tokens)),
                      margin=dict(l=10, r=10, t=40, b=10), xaxis_tickangle=-60)
    return fig
