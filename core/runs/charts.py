"""Plotly figures and tables of training runs: loss curves (one run or several overlaid) and the
runs list (as core/explore/charts.py and core/pitch/charts.py do for their areas)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

def curves_frame(points: list[dict]) -> pd.DataFrame:
    """Long frame (step, loss, curve) of a run's train and validation losses."""
    rows = [{"step": p["step"], "loss": p["train_loss"], "curve": "train"} for p in points if p["train_loss"] is not None]
    rows += [{"step": p["step"], "loss": p["val_loss"], "curve": "validation"} for p in points if p["val_loss"] is not None]
    return pd.DataFrame(rows, columns=["step", "loss", "curve"])


def loss_figure(runs: dict[str, list[dict]], labels: dict[str, str] | None = None) -> go.Figure:
    """Train (lines) and validation (markers) loss against step, one colour per run."""
    labels = labels or {"train": "train", "validation": "validation", "step": "step", "loss": "loss"}
    fig = go.Figure()
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    for i, (name, points) in enumerate(runs.items()):
        frame = curves_frame(points)
        colour = palette[i % len(palette)]
        suffix = f" · {name}" if len(runs) > 1 else ""
        train = frame[frame.curve == "train"]
        val = frame[frame.curve == "validation"]
        fig.add_trace(go.Scatter(x=train.step, y=train.loss, mode="lines", name=labels["train"] + suffix,
                                 line={"color": colour, "width": 1.5}, opacity=0.8))
        fig.add_trace(go.Scatter(x=val.step, y=val.loss, mode="lines+markers", name=labels["validation"] + suffix,
                                 line={"color": colour, "dash": "dash", "width": 2.5}, marker={"size": 7}))
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title=labels["step"],
                      yaxis_title=labels["loss"], legend={"orientation": "h", "y": -0.2})
    return fig


def runs_frame(runs) -> pd.DataFrame:
    return pd.DataFrame([{
        "id": r.id, "status": r.shown_status, "kind": r.kind,
        "data": Path(str(r.config.get("corpus") or r.config.get("data") or "")).name,
        "model": (f"{r.config.get('n_layer')}L/{r.config.get('n_head')}H/{r.config.get('n_embd')}d"
                  if r.kind == "scratch" else str(r.config.get("base"))),
        "step": r.step, "max_steps": r.max_steps, "created": r.created_at.strftime("%Y-%m-%d %H:%M"),
    } for r in runs], columns=["id", "status", "kind", "data", "model", "step", "max_steps", "created"])
