"""Plotly figures for the explorer. Inputs are scored, localised frames (core.explore.market.score +
core.explore.data.localise); labels come from core.i18n so the charts follow the UI language."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.i18n import t
from core.explore.market import CRITERIA

RISK_SCALE = [[0.0, "#2e9e5b"], [0.5, "#f2c14e"], [1.0, "#d64545"]]  # low .. high risk
SCORE_SCALE = "Tealgrn"
_LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), font=dict(size=13), hoverlabel=dict(align="left"))


def _money(x: float) -> str:
    return f"{x:,.2f}" if x < 10 else f"{x:,.1f}"


def bubble_matrix(df: pd.DataFrame, lang: str, label_top: int = 8) -> go.Figure:
    """Value (y) vs feasibility (x); bubble area ~ market size; colour = mean risk (1-5)."""
    # Built as one spec dict: Plotly validates it once (add_annotation/add_hline re-validate each time).
    size = np.sqrt(df["market_usd_b"].clip(lower=0.05).to_numpy())
    shown_rank = df["rank"].rank(method="first").to_numpy()  # label the best of what is shown, not of the catalogue
    text = [label if r <= label_top else "" for label, r in zip(df["label"], shown_rank)]
    basis = [t(f"explorer.basis.{b}", lang) for b in df["market_basis"]]
    trace = dict(
        type="scatter", x=df["feasibility_index"].to_numpy(), y=df["value_index"].to_numpy(), mode="markers+text",
        text=text, textfont=dict(size=11),
        # labels near the right edge go to the left of their bubble so they are not clipped
        textposition=["middle left" if x > 80 else "top center" for x in df["feasibility_index"]],
        marker=dict(size=size, sizemode="area", sizeref=2.0 * max(size.max(initial=0), 1e-9) / 55**2, sizemin=5,
                    color=df["risk_mean"].to_numpy(), cmin=1, cmax=5, colorscale=RISK_SCALE,
                    line=dict(width=1, color="#333"), colorbar=dict(title=dict(text=t("explorer.chart.risk", lang)),
                                                                     thickness=12)),
        customdata=np.stack([df["label"], df["domain_label"], df["score"], df["market_usd_b"], basis,
                             df["growth_pct"], df["rank"]], axis=1),
        hovertemplate=("<b>%{customdata[0]}</b> · %{customdata[1]}<br>"
                       + t("explorer.chart.hover_score", lang) + ": %{customdata[2]:.1f} (#%{customdata[6]})<br>"
                       + t("explorer.chart.hover_market", lang) + ": USD %{customdata[3]:.2f}B (%{customdata[4]})<br>"
                       + t("explorer.chart.hover_growth", lang) + ": %{customdata[5]:.1f}%<extra></extra>"),
    )
    quadrants = [dict(x=x, y=y, text=t(f"explorer.quadrant.{key}", lang), showarrow=False,
                      font=dict(size=12, color="#888"))
                 for x, y, key in ((75, 97, "build"), (25, 97, "bet"), (75, 3, "quick"), (25, 3, "avoid"))]
    dotted = dict(color="#bbb", dash="dot")
    lines = [dict(type="line", xref="paper", x0=0, x1=1, y0=50, y1=50, line=dotted),
             dict(type="line", yref="paper", x0=50, x1=50, y0=0, y1=1, line=dotted)]
    layout = dict(**_LAYOUT, height=560, annotations=quadrants, shapes=lines,
                  xaxis=dict(title=dict(text=t("explorer.chart.feasibility", lang)), range=[0, 100]),
                  yaxis=dict(title=dict(text=t("explorer.chart.value", lang)), range=[0, 100]))
    return go.Figure(dict(data=[trace], layout=layout))


def treemap(df: pd.DataFrame, lang: str) -> go.Figure:
    """Market size (USD B, as used for scoring) by domain and use case; colour = opportunity score."""
    domains = df.groupby("domain_label", as_index=False)["market_usd_b"].sum()
    ids = list("d:" + domains["domain_label"]) + list("u:" + df["use_case_id"])
    labels = list(domains["domain_label"]) + list(df["label"])
    parents = [""] * len(domains) + list("d:" + df["domain_label"])
    values = list(domains["market_usd_b"]) + list(df["market_usd_b"])
    dom_score = df.groupby("domain_label")["score"].mean().reindex(domains["domain_label"]).to_list()
    colors = dom_score + list(df["score"])
    basis = [""] * len(domains) + [t(f"explorer.basis.{b}", lang) for b in df["market_basis"]]
    trace = dict(
        type="treemap", ids=ids, labels=labels, parents=parents, values=values, branchvalues="total",
        marker=dict(colors=colors, colorscale=SCORE_SCALE,
                    colorbar=dict(title=dict(text=t("explorer.chart.score", lang)), thickness=12)),
        customdata=np.stack([[_money(v) for v in values], basis], axis=1),
        texttemplate="%{label}<br>USD %{customdata[0]}B",
        hovertemplate="<b>%{label}</b><br>USD %{customdata[0]}B %{customdata[1]}<extra></extra>",
    )
    return go.Figure(dict(data=[trace], layout=dict(**_LAYOUT, height=560)))


def radar(df: pd.DataFrame, lang: str) -> go.Figure:
    """Each criterion's goodness (0-100, outward = better for a founder) for 2-4 use cases."""
    theta = [t(f"explorer.crit.{c.key}", lang) for c in CRITERIA]
    traces = []
    for row in df.itertuples():
        r = [getattr(row, f"g_{c.key}") * 100 for c in CRITERIA]
        traces.append(dict(type="scatterpolar", r=r + r[:1], theta=theta + theta[:1], fill="toself", opacity=0.55,
                           name=f"{row.label} ({row.score:.0f})"))
    layout = dict(**_LAYOUT, height=540, polar=dict(radialaxis=dict(range=[0, 100], showticklabels=False)),
                  legend=dict(orientation="h", y=-0.08))
    return go.Figure(dict(data=traces, layout=layout))


def sensitivity_chart(long: pd.DataFrame, labels: dict[str, str], current: float, lang: str,
                      criterion_label: str) -> go.Figure:
    """Rank (1 = top) of each use case as one criterion's weight moves; the current weight is marked."""
    hover = "%{fullData.name}<br>" + t("explorer.chart.weight", lang) + " %{x}: #%{y}<extra></extra>"
    traces = [dict(type="scatter", x=part["weight"].to_numpy(), y=part["rank"].to_numpy(), mode="lines+markers",
                   name=labels.get(uid, uid), hovertemplate=hover)
              for uid, part in long.groupby("use_case_id", sort=False)]
    layout = dict(**_LAYOUT, height=520,
                  shapes=[dict(type="line", yref="paper", x0=current, x1=current, y0=0, y1=1,
                               line=dict(color="#555", dash="dash"))],
                  annotations=[dict(x=current, y=1.02, yref="paper", text=t("explorer.chart.current", lang),
                                    showarrow=False)],
                  xaxis=dict(title=dict(text=t("explorer.chart.weight_of", lang, criterion=criterion_label)), dtick=1),
                  yaxis=dict(title=dict(text=t("explorer.chart.rank", lang)), autorange="reversed", rangemode="tozero",
                             dtick=1 if long["rank"].max() <= 15 else 5, tick0=1))
    return go.Figure(dict(data=traces, layout=layout))


def compare_chart(cmp: pd.DataFrame, lang: str, name_a: str, name_b: str, top: int = 15) -> go.Figure:
    """Score delta (B - A) for the use cases that move most."""
    part = cmp.head(top).iloc[::-1]
    label_col = "name_zh" if lang == "zh" else "name"
    trace = dict(type="bar", x=part["delta"].to_numpy(), y=part[label_col].to_numpy(), orientation="h",
                 marker=dict(color=np.where(part["delta"] >= 0, "#2e9e5b", "#d64545")),
                 hovertemplate="%{y}: %{x:+.1f}<extra></extra>")
    # scenario names are user text: escape them, Plotly renders a subset of HTML in titles
    title = t("explorer.chart.delta_title", lang, a=html.escape(name_a), b=html.escape(name_b))
    layout = dict(**_LAYOUT, height=max(300, 28 * len(part) + 80), title=dict(text=title),
                  xaxis=dict(title=dict(text=t("explorer.chart.delta", lang)), zeroline=True))
    return go.Figure(dict(data=[trace], layout=layout))
