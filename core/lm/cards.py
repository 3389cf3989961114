"""What a demo page shows about the selected model: base, training data and licence, steps, and
its metric on the held-out split for the page's task.

The bundled base has no training run of ours, but it was measured with a good prompt on each task's
test split next to the fine-tuned model (the `base_metrics` of the shipped task cards) and on
held-out text for perplexity (data/models/base_metrics.json, written by scripts/measure_base.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.config import get_settings
from core.lm.registry import BASE_MODEL_ID, ModelInfo, base_ids, list_models

HEADLINE = {"sentiment": ("accuracy", "accuracy_en", "accuracy_zh"), "qa": ("exact_match", "f1"), "translation": ("chrf_4dir", "chrf", "bleu"),
            "generation": ("perplexity",)}
BASE_METRICS_FILE = "base_metrics.json"


@dataclass
class ModelCard:
    id: str
    name: str
    task: str
    base: str
    data: str
    licence: str
    steps: int | None
    metrics: dict[str, float] = field(default_factory=dict)  # headline metrics for the page's task
    test_data: str = ""
    n_test: int | None = None
    note: str = ""  # how the metric was obtained
    command: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _base_measurements() -> dict[str, Any]:
    path = get_settings().data_dir / "models" / BASE_METRICS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _headline(task: str, metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(metrics[k]) for k in HEADLINE.get(task, ()) if isinstance(metrics.get(k), (int, float))}


def describe(info: ModelInfo, task: str) -> ModelCard:
    card = info.card or {}
    if info.id in base_ids():
        # a base as measured on this task's held-out split with the prompt the demos use (the
        # `base_metrics` of a shipped task card built on it), or its held-out perplexity
        source = next((m for m in list_models(task) if m.id not in base_ids() and m.base == info.id
                       and m.card.get("base_metrics")), None)
        base_generation = _base_measurements().get("generation", {}) if info.id == BASE_MODEL_ID else {}
        metrics = (source.card.get("base_metrics", {}) if source else {}) if task != "generation" else base_generation
        return ModelCard(
            id=info.id, name=card.get("name", info.id), task=task, base="—",
            data=card.get("source", "—"), licence=card.get("licence", "—"),
            steps=None, metrics=_headline(task, metrics),
            test_data=(source.card.get("test_data", "") if source else
                       base_generation.get("data", "") if task == "generation" else ""),
            n_test=metrics.get("n") if isinstance(metrics, dict) else None,
            note="prompted base model (no fine-tuning)" + ("; calibrated label scoring" if metrics.get("calibrated") else "")
                 + (f"; publisher: {card['publisher']}" if card.get("publisher") else ""),
            command=(source.card.get("eval_command", "").replace(source.id, info.id) if source else
                     base_generation.get("command", "") if task == "generation" else ""),
        )
    metrics = info.metrics or {}
    return ModelCard(
        id=info.id, name=card.get("name", info.id), task=info.task, base=info.base or "—",
        data=str(card.get("data", card.get("corpus", "—"))), licence=str(card.get("licence", "—")),
        steps=card.get("steps"), metrics=_headline(task, metrics), test_data=str(card.get("test_data", "")),
        n_test=metrics.get("n"), note=str(card.get("metric_note", "")), command=str(card.get("command", "")),
        details={**{k: v for k, v in metrics.items() if k not in HEADLINE.get(task, ())},
                 **({"secondary": card["secondary"]} if card.get("secondary") else {})},
    )
