"""The pitch's Plotly figures. The page shows them; the deck and the PDF embed PNGs of the very same
figures (core.pitch.render.png). Labels come from core.i18n; user text is escaped (Plotly renders a
subset of HTML in labels)."""
from __future__ import annotations

import html

import plotly.graph_objects as go

from core.explore.data import USD_UNITS, parse_value
from core.i18n import t
from core.pitch.types import Pitch

_LAYOUT = dict(margin=dict(l=10, r=30, t=50, b=10), font=dict(size=14, family="DejaVu Sans, WenQuanYi Zen Hei, sans-serif"),
               paper_bgcolor="white", plot_bgcolor="#f7f7f9")
COLORS = {"finetune": "#2e7d6b", "scratch": "#c2553a", "used": "#1f4e79", "figure": "#8fb3d9"}


def market_chart(p: Pitch) -> go.Figure:
    """Each base-year size figure behind the range (USD B, low-high) and the size the score uses."""
    sized = [f for f in p.why.figures if f.metric == "market_size"]
    labels, lows, highs = [], [], []
    for f in sized:
        low, high = parse_value(f.value)
        factor = USD_UNITS.get(f.unit, 1.0)
        labels.append(html.escape(f"{f.publisher[:38]} ({f.figure_year})"))
        lows.append((low or 0) * factor)
        highs.append((high or 0) * factor)
    labels.append(t("pitch.chart.used", p.lang))
    lows.append(p.why.market.value or 0)
    highs.append(p.why.market.value or 0)
    colors = [COLORS["figure"]] * len(sized) + [COLORS["used"]]
    text = [f"{lo:,.2f}" if lo == hi else f"{lo:,.2f}–{hi:,.2f}" for lo, hi in zip(lows, highs)]
    trace = dict(type="bar", orientation="h", y=labels[::-1], x=highs[::-1], marker=dict(color=colors[::-1]),
                 text=text[::-1], textposition="outside", cliponaxis=False,
                 hovertemplate="%{y}: USD %{text}B<extra></extra>")
    layout = dict(**_LAYOUT, height=max(380, 140 + 42 * len(labels)),
                  title=dict(text=t("pitch.chart.market", p.lang)),
                  xaxis=dict(title=dict(text="USD B"), rangemode="tozero"), yaxis=dict(automargin=True))
    return go.Figure(dict(data=[trace], layout=layout))


def sensitivity_chart(p: Pitch, top: int = 4) -> go.Figure:
    """This use case's rank as each of the criteria that move it most goes from weight 0 to 10."""
    rows = p.why.sensitivity[:top]
    traces = [dict(type="scatter", mode="lines+markers", x=list(range(len(r.ranks))), y=list(r.ranks),
                   name=f"{r.label} (#{r.best_rank}–#{r.worst_rank})") for r in rows]
    layout = dict(**_LAYOUT, height=420, title=dict(text=t("pitch.chart.sensitivity", p.lang)),
                  xaxis=dict(title=dict(text=t("pitch.chart.weight", p.lang)), dtick=1),
                  yaxis=dict(title=dict(text=t("explorer.chart.rank", p.lang)), autorange="reversed", tick0=1),
                  legend=dict(orientation="h", y=-0.2))
    return go.Figure(dict(data=traces, layout=layout))


def cost_chart(p: Pitch) -> go.Figure:
    """Fine-tune vs from scratch: cost (bars, log scale) with the wall-clock days on k accelerators."""
    lines = [p.cost.finetune, p.cost.scratch]
    trace = dict(type="bar", x=[line.label for line in lines], y=[line.cost_usd.value or 0 for line in lines],
                 marker=dict(color=[COLORS[line.key] for line in lines]),
                 text=[f"{line.cost_usd.text} · {line.days.text}" for line in lines], textposition="outside",
                 cliponaxis=False)
    layout = dict(**_LAYOUT, height=340, title=dict(text=t("pitch.chart.cost", p.lang, name=html.escape(p.cost.accelerator),
                                                           k=p.cost.count)),
                  yaxis=dict(type="log", title=dict(text="USD")))
    return go.Figure(dict(data=[trace], layout=layout))


CHARTS = {"market": market_chart, "sensitivity": sensitivity_chart, "cost": cost_chart}


def figures(p: Pitch) -> dict[str, go.Figure]:
    return {key: build(p) for key, build in CHARTS.items()}
