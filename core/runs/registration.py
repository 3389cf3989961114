"""A finished or stopped run's model into the registry, with its held-out metrics and a card that
holds the command that reproduces it."""
from __future__ import annotations

import math

from core import owner
from core.lm.train import TrainConfig
from core.owner import Actor
from core.runs.launcher import cli_command
from core.runs.model import JobError
from core.runs.service import _check_change, get_run, run_metrics

def register_run_model(run_id: str, model_id: str | None = None, *, actor: Actor | None = None):
    """Register a finished (or stopped) run's model in the registry with its held-out metrics;
    the model belongs to the run's owner (its owner or an admin registers it)."""
    from core.lm import registry

    actor = owner.resolve(actor)
    run = get_run(run_id, actor=actor)
    _check_change(run, actor)
    if run.active:
        raise JobError("wait until the run has finished or stopped")
    model_dir = run.out_dir / "model"
    if not (model_dir / "training.json").is_file():
        raise JobError(f"run {run_id} has no saved model yet")
    evals = [m for m in run_metrics(run_id, actor=actor) if m["val_loss"] is not None]
    if not evals:
        raise JobError(f"run {run_id} has no evaluation yet")
    last = evals[-1]
    metrics = {"val_loss": round(last["val_loss"], 4), "perplexity": round(math.exp(min(last["val_loss"], 50)), 3),
               "steps": last["step"]}
    config = TrainConfig.from_dict(run.config)
    card = {"run_id": run_id, "kind": run.kind, "steps": last["step"],
            "command": cli_command(config, int(run.config.get("nproc", 1))),
            "held_out": ("last 10% of the corpus tokens" if config.kind == "scratch"
                         else (config.val_data or "10% of the task examples, fixed seed")),
            "data": config.corpus or config.data, "metric_note": "validation cross-entropy on held-out data"}
    if config.kind == "finetune":  # the demos render prompts as the model was trained on them
        card["prompt_version"] = config.prompt_version
    if config.kind == "scratch":
        from core.lm import corpora

        card.update({"architecture": f"GPT-2 {config.n_layer}L/{config.n_head}H/{config.n_embd}d, block {config.block_size}",
                     "tokenizer": config.tokenizer, **corpora.card_summary(config.corpus)})
    model_id = (model_id or run_id).strip()
    return registry.register_model(model_id, task=config.task or "generation", base=config.base or "",
                                   path=model_dir, metrics=metrics, card=card, run_id=run_id,
                                   actor=owner.actor_for(run.owner) if run.owner != actor.user else actor)
