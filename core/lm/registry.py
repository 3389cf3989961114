"""The model registry: every model the demo pages and the CLI can pick, in one list.

Three sources, merged in this order (a later source with the same id wins):
1. the bundled bases (core/lm/base.py), those whose converted copy is on disk;
2. shipped task models: `data/models/<id>/model_card.json` (written by the demos' training commands);
3. models registered in the store (`store.ModelEntry`), e.g. a finished studio run; these have an
   owner and are listed only for the acting user (`actor`, core/owner.py; None = the local user):
   their own, those shared with the team, and all of them for an admin.

A shipped card is JSON with at least `task`; optional `id`, `base`, `metrics`, `run_id`, and any
other fields (data, licence, split, steps, command), which become the card. Its `path` defaults to
the card's own directory.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import owner, store
from core.config import get_settings
from core.owner import Actor

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
    owner: str | None = None  # None: bundled or shipped, visible to everyone
    shared: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "task": self.task, "base": self.base, "path": str(self.path),
                "metrics": self.metrics, "card": self.card, "run_id": self.run_id}


def register_model(id: str, task: str, base: str, path: Path | str, metrics: dict | None = None,
                   card: dict | None = None, run_id: str | None = None, *, actor: Actor | None = None) -> ModelInfo:
    """Insert or update a model owned by `actor` in the store and return it."""
    if not id or len(id) > 120:
        raise ValueError("a model id must be 1-120 characters")
    metrics, card, actor = dict(metrics or {}), dict(card or {}), owner.resolve(actor)
    with store.session() as s:
        entry = s.get(store.ModelEntry, id) or store.ModelEntry(id=id, owner=actor.user)
        if not actor.can_change(entry.owner):
            raise ValueError(f"the model id {id!r} is taken; choose another")
        entry.task, entry.base, entry.path = task, base, str(path)
        entry.metrics, entry.card, entry.run_id = store.dumps(metrics), store.dumps(card), run_id
        s.add(entry)
    return ModelInfo(id=id, task=task, base=base, path=Path(path), metrics=metrics, card=card, run_id=run_id,
                     owner=entry.owner, shared=entry.shared)


def _entry(s, id: str, actor: Actor) -> store.ModelEntry:
    """A registered model the actor may change; KeyError when they cannot see it, ValueError when read-only."""
    entry = s.get(store.ModelEntry, id)
    if entry is None or not actor.can_see(entry.owner, entry.shared):
        raise KeyError(f"unknown model {id!r}")
    if not actor.can_change(entry.owner):
        raise ValueError(f"model {id!r} is shared with you read-only; only its owner can change it")
    return entry


def unregister_model(id: str, *, actor: Actor | None = None) -> bool:
    with store.session() as s:
        try:
            entry = _entry(s, id, owner.resolve(actor))
        except KeyError:
            return False
        s.delete(entry)
    return True


def set_shared(id: str, shared: bool, *, actor: Actor | None = None) -> None:
    """Share a registered model with the team (they can pick it in the demos) or take it back."""
    with store.session() as s:
        entry = _entry(s, id, owner.resolve(actor))
        entry.shared = bool(shared)
        s.add(entry)


def _base_models() -> list[ModelInfo]:
    try:
        from core.lm import base
    except ImportError:  # the demos' module not present yet
        return []
    return [ModelInfo(
        id=b.id, task="generation", base="", path=base.base_model_dir(b.id), metrics={},
        card={"source": f"PyPI {b.packages} (GGUF, converted to fp32 safetensors; GGUF SHA-256 "
                        f"{b.sha256 or 'in the wheel hash'})",
              "licence": b.licence, "name": b.name, "publisher": b.publisher, "upstream": b.upstream,
              "note": b.note},
    ) for b in base.installed_bases()]


def base_ids() -> set[str]:
    from core.lm import base

    return {b.id for b in base.BASES}


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


def _stored_models(actor: Actor) -> list[ModelInfo]:
    from sqlmodel import select

    query = owner.visible(select(store.ModelEntry), store.ModelEntry, actor)
    with store.session() as s:
        rows = s.exec(query.order_by(store.ModelEntry.created_at)).all()
    return [ModelInfo(id=r.id, task=r.task, base=r.base, path=Path(r.path),
                      metrics=store.loads(r.metrics, {}), card=store.loads(r.card, {}), run_id=r.run_id,
                      owner=r.owner, shared=r.shared)
            for r in rows]


def list_models(task: str | None = None, *, actor: Actor | None = None) -> list[ModelInfo]:
    """Bases, shipped and the registered models `actor` may see (optionally one task), bases first."""
    merged: dict[str, ModelInfo] = {}
    for info in _base_models() + _shipped_models() + _stored_models(owner.resolve(actor)):
        merged[info.id] = info
    models = list(merged.values())
    if task is not None:
        # The bases are instruct models: every demo task can prompt them.
        bases = base_ids()
        models = [m for m in models if m.task == task or m.id in bases]
    return models


# The generation demo's default model per UI language, chosen on the held-out pitch-style
# instructions (data/tasks/generation/instructions_test.jsonl, verifiable checks in
# core.lm.instruct_checks; numbers and command in data/cards/task_generation.md). 2026-12-06:
# SmolLM2-135M passes 84.7 % of the checks in English and 41.7 % in Chinese (it answers Chinese
# prompts in English or garbled Chinese); Qwen2.5-Coder-0.5B 84.7 % and 83.3 %, and more answers
# pass every check (en 41.7 % vs 25 %, zh 33.3 % vs 0 %).
GENERATION_DEFAULT = {"en": "qwen2.5-coder-0.5b-instruct", "zh": "qwen2.5-coder-0.5b-instruct"}


def default_generation_model(lang: str) -> str:
    return GENERATION_DEFAULT.get(lang, GENERATION_DEFAULT["en"])


def models_for_task(task: str, *, actor: Actor | None = None, lang: str | None = None) -> list[ModelInfo]:
    """The models a demo of `task` offers, best first (see demo_order); for generation every model
    qualifies (a fine-tuned model can still generate) and, with `lang`, the measured default for
    that language comes first."""
    models = list_models(None if task == "generation" else task, actor=actor)
    if task == "generation":  # a language-routed classifier has no single model to generate with
        models = [m for m in models if not m.card.get("route")]
    ordered = demo_order(models, task)
    if task == "generation" and lang:
        want = default_generation_model(lang)
        ordered.sort(key=lambda m: m.id != want)  # stable: the rest keep their order
    return ordered


def get_model(id: str, *, actor: Actor | None = None) -> ModelInfo:
    models = list_models(actor=actor)
    for info in models:
        if info.id == id:
            return info
    known = ", ".join(m.id for m in models) or "none"
    raise KeyError(f"unknown model {id!r}; registered models: {known}")


def demo_order(models: list[ModelInfo], task: str) -> list[ModelInfo]:
    """Models in the order a demo page offers them: the task's default model (card "default":
    true) first, its other task models next, then the bases, then the rest as registered."""
    bases = base_ids()

    def rank(m: ModelInfo) -> int:
        if m.task == task and m.id not in bases:
            return 0 if m.card.get("default") else 1
        return 2 if m.id in bases else 3
    return sorted(models, key=rank)
