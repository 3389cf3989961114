"""Studio: one run, live (status, progress, curves, samples, stop/resume, register)."""
from __future__ import annotations

import streamlit as st

from core import runs
from core.runs import charts as run_charts
from core.runs import estimate as run_estimate
from core.config import get_settings
from core.owner import Actor
from pages._auth import auth_enabled
from pages._explorer_ui import safe
from pages._shared import tr


def _labels() -> dict[str, str]:
    return {"train": tr("studio.curve.train"), "validation": tr("studio.curve.val"),
            "step": tr("studio.curve.step"), "loss": tr("studio.curve.loss")}


def _actions(run, me: Actor) -> None:
    if not me.can_change(run.owner):
        st.info(tr("team.shared_by", owner=safe(run.owner)), icon=":material/visibility:")
        return
    if auth_enabled():
        st.toggle(tr("team.share"), value=run.shared, key=f"studio_share_{run.id}", help=tr("team.share.help"),
                  on_change=lambda: runs.set_shared(run.id, st.session_state[f"studio_share_{run.id}"], actor=me))
    c1, c2, c3 = st.columns([1, 1, 2])
    if run.active:
        if c1.button(tr("studio.stop"), key="studio_stop", icon=":material/stop:", disabled=run.status == "stopping"):
            runs.request_stop(run.id, actor=me)
            st.rerun(scope="fragment")
        return
    more = c2.number_input(tr("studio.resume_to"), min_value=run.step + 1, value=max(run.max_steps, run.step + 1),
                           key=f"studio_more_{run.id}")
    if c1.button(tr("studio.resume"), key="studio_resume", icon=":material/replay:"):
        try:
            runs.resume_run(run.id, max_iters=int(more) if int(more) != run.max_steps else None, actor=me)
            st.rerun(scope="app")
        except runs.JobError as exc:
            st.error(str(exc))
    if run.status in ("finished", "stopped"):
        with c3.popover(tr("studio.register"), icon=":material/inventory_2:"):
            model_id = st.text_input(tr("studio.register.id"), value=run.id, max_chars=120, key=f"studio_mid_{run.id}")
            if st.button(tr("studio.register.go"), key="studio_register"):
                try:
                    info = runs.register_run_model(run.id, model_id, actor=me)
                    st.success(tr("studio.register.done", id=info.id, task=tr(f"studio.task.{info.task}")))
                except (runs.JobError, ValueError) as exc:
                    st.error(str(exc))


def _view(run_id: str, me: Actor) -> None:
    try:
        run = runs.get_run(run_id, actor=me)
    except runs.JobError:  # unknown, or another user's unshared run: the same answer
        st.warning(tr("team.run_not_found", id=safe(run_id)))
        return
    points = runs.run_metrics(run_id, actor=me)
    live = run_estimate.live_summary(points)
    st.subheader(tr("studio.run.heading", id=run.id))
    st.progress(run.progress, text=tr("studio.run.progress", step=run.step, max=run.max_steps,
                                      status=tr(f"studio.status.{run.shown_status}")))
    if run.waiting:
        st.info(tr("studio.run.queued", ahead=max(0, runs.queue_position(run.id)),
                   limit=get_settings().max_training_jobs), icon=":material/hourglass_empty:")
    if run.error:
        st.error(run.error)
    m = st.columns(5)
    fmt = lambda v, f: f.format(v) if v is not None else "–"  # noqa: E731
    m[0].metric(tr("studio.m.train"), fmt(live["train_loss"], "{:.3f}"))
    m[1].metric(tr("studio.m.val"), fmt(live["val_loss"], "{:.3f}"))
    m[2].metric(tr("studio.m.ppl"), fmt(live["perplexity"], "{:,.1f}"))
    m[3].metric(tr("studio.m.tps"), fmt(live["tokens_per_second"], "{:,.0f}"))
    m[4].metric(tr("studio.m.eta"), run_estimate.format_seconds(run_estimate.eta_seconds(run, points)))
    if points:
        st.plotly_chart(run_charts.loss_figure({run.id: points}, _labels()), width="stretch", key=f"studio_fig_{run.id}")
    else:
        st.info(tr("studio.run.waiting"))
    _actions(run, me)
    if live["samples"]:
        with st.expander(tr("studio.samples", n=len(live["samples"])), expanded=True):
            for step, text in live["samples"][:5]:
                st.caption(tr("studio.sample.step", step=step))
                st.text(text)
    if st.session_state.get(f"studio_active_{run.id}") and not run.active:
        st.session_state[f"studio_active_{run.id}"] = False
        st.rerun(scope="app")  # the run ended: stop polling
    st.session_state[f"studio_active_{run.id}"] = run.active


def render(run_id: str, me: Actor) -> None:
    try:
        active = runs.get_run(run_id, actor=me).active
    except runs.JobError:
        active = False
    st.fragment(_view, run_every=2 if active else None)(run_id, me)
