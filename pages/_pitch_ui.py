"""Widgets of the Pitch page (UI wiring only; the pitch is built by core.pitch)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.estimate import catalogue
from core.estimate.inputs import InputError, messages, parse
from core.pitch import charts
from core.pitch.types import Fact, Pitch, PitchSettings
from pages._explorer_ui import safe
from pages._shared import lang, tr


def settings_form() -> PitchSettings | None:
    """Cost and traffic settings; a bad value shows its message here and returns None."""
    accs = catalogue.accelerators()
    names = dict(zip(accs["accelerator_id"], accs["name"]))
    with st.expander(tr("pitch.settings"), icon=":material/tune:"):
        c1, c2, c3 = st.columns(3)
        data = {
            "train_accelerator": c1.selectbox(tr("estimate.field.train_accelerator"), list(names), format_func=names.get,
                                              index=list(names).index("h100_sxm") if "h100_sxm" in names else 0,
                                              key="pitch_train_acc"),
            "train_count": c1.number_input(tr("estimate.field.train_count"), value=8, step=1, key="pitch_train_count"),
            "mfu": c1.slider(tr("estimate.field.mfu"), 0.05, 0.9, 0.4, 0.01, key="pitch_mfu"),
            "serve_accelerator": c2.selectbox(tr("estimate.field.serve_accelerator"), [None, *names], key="pitch_serve_acc",
                                              format_func=lambda k: tr("pitch.w.serve_auto") if k is None else names[k]),
            "batch": c2.number_input(tr("estimate.field.batch"), value=8, step=1, key="pitch_batch"),
            "users_per_day": c3.number_input(tr("estimate.field.users_per_day"), value=1000, step=100, key="pitch_users"),
            "requests_per_user": c3.number_input(tr("estimate.field.requests_per_user"), value=5.0, step=1.0,
                                                 key="pitch_requests"),
            "prompt_tokens": c2.number_input(tr("estimate.field.prompt_tokens"), value=512, step=64, key="pitch_prompt_tokens"),
            "output_tokens": c3.number_input(tr("estimate.field.output_tokens"), value=256, step=64, key="pitch_output_tokens"),
        }
        try:
            return parse(PitchSettings, data)
        except InputError as exc:
            for message in messages(exc, lang()):
                st.error(message, icon=":material/error:")
            return None


def metric(col, f: Fact) -> None:
    col.metric(f.label, f.text, help=safe(f.source), border=True)


def facts_table(facts: list[Fact]) -> None:
    df = pd.DataFrame([{"fact": f.label, "value": f.text, "source": f.source, "kind": tr(f"pitch.kind.{f.kind}")}
                       for f in facts])
    st.dataframe(df, hide_index=True, width="stretch", column_config={
        "fact": tr("pitch.col.fact"), "value": tr("pitch.col.value"),
        "source": st.column_config.TextColumn(tr("pitch.col.source"), width="large"), "kind": tr("pitch.col.kind")})


def why(p: Pitch) -> None:
    w = p.why
    st.subheader(tr("pitch.section.why"), anchor=False)
    cols = st.columns(4)
    for col, f in zip(cols, (w.score, w.rank, w.market, w.growth)):
        metric(col, f)
    left, right = st.columns(2)
    left.plotly_chart(charts.sensitivity_chart(p), width="stretch", key="pitch_chart_sensitivity")
    right.plotly_chart(charts.market_chart(p), width="stretch", key="pitch_chart_market")
    if w.market_note:
        st.caption(w.market_note)
    if w.figures:
        st.dataframe(pd.DataFrame([{"value": f.text, "publisher": f.publisher, "year": f.published_year,
                                    "confidence": f.confidence, "url": f.url} for f in w.figures]),
                     hide_index=True, width="stretch", column_config={
                         "value": tr("pitch.fact.market"), "publisher": tr("explorer.src.publisher"),
                         "year": tr("explorer.src.published_year"), "confidence": tr("explorer.src.confidence"),
                         "url": st.column_config.LinkColumn(tr("explorer.details.link"), display_text="↗")})
    st.markdown(f"**{tr('pitch.section.risks')}**")
    st.markdown("\n".join(f"- {safe(r.line(lang()))}" for r in w.risks))
    st.caption(tr("pitch.risk.rationale", text=w.rationale))


def cost(p: Pitch) -> None:
    c = p.cost
    st.subheader(tr("pitch.section.cost"), anchor=False)
    st.caption(tr("pitch.cost.on", name=c.accelerator, k=c.count))
    left, right = st.columns([1.2, 1])
    keys = ("params", "tokens", "flops", "accelerator_hours", "days", "cost_usd")
    table = pd.DataFrame({"": [getattr(c.finetune, k).label for k in keys],
                          c.finetune.label: [getattr(c.finetune, k).text for k in keys],
                          c.scratch.label: [getattr(c.scratch, k).text for k in keys]})
    left.dataframe(table, hide_index=True, width="stretch")
    left.caption(f"{c.validation_error.label}: {c.validation_error.text} — {c.validation_error.source}")
    right.plotly_chart(charts.cost_chart(p), width="stretch", key="pitch_chart_cost")
    st.markdown(f"**{tr('pitch.cost.serving', name=c.serve_accelerator)}**")
    cols = st.columns(4)
    for col, f in zip(cols, (c.memory, c.tokens_per_second, c.usd_per_million, c.monthly_usd)):
        metric(col, f)
    st.caption(f"{c.traffic_tokens_per_day.label}: {c.traffic_tokens_per_day.text} — {c.traffic_tokens_per_day.source} · "
               f"{c.effective_usd_per_million.label}: {c.effective_usd_per_million.text}")


def next_steps(p: Pitch) -> None:
    n = p.next
    st.subheader(tr("pitch.section.next"), anchor=False)
    cols = st.columns(3)
    for col, f in zip(cols, (n.time_to_mvp, n.data_availability, n.data_tokens)):
        metric(col, f)
    st.caption(n.model_note)
    st.markdown(f"**{tr('pitch.next.edits')}**")
    st.markdown("\n".join(f"- {safe(tr('pitch.next.edit', label=e.label, shipped=f'{e.shipped:g}', yours=f'{e.yours:g}'))}"
                          for e in n.edits) or tr("pitch.next.no_edits"))
