"""UI pieces shared by the demo pages: the cached model, the sidebar model picker, the model card.
Logic stays in core.lm; this module only wires widgets."""
from __future__ import annotations

import re

import streamlit as st

from core.lm import cards
from core.lm.loader import ModelLoadError, load_model, resolve
from core.lm.registry import models_for_task
from pages._shared import tr

DEMO_TASKS = {"generate": "generation", "qa": "qa", "translate": "translation", "sentiment": "sentiment",
              "attention": "generation"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_md(text: str) -> str:
    """User or model text shown inside markdown, with every markdown character escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text)


@st.cache_resource(max_entries=3, show_spinner=False)
def cached_model(ref: str):
    """One copy of each model per process, shared by every session (generation holds its lock)."""
    return load_model(ref)


def model_options(task: str) -> list[str]:
    return [m.id for m in models_for_task(task)]


def sidebar_model_picker(url_path: str) -> None:
    """The model picker in the sidebar of a demo page (called by app.py)."""
    task = DEMO_TASKS.get(url_path)
    if task is None:
        return
    options = model_options(task)
    st.divider()
    if options:
        st.selectbox(tr("demos.model"), options, key=f"demos_model_{task}", help=tr("demos.model.help"))
    else:
        st.warning(tr("demos.no_models"))
    st.text_input(tr("demos.local_dir"), key=f"demos_dir_{task}", placeholder="/path/to/hf-model",
                  help=tr("demos.local_dir.help"))
    local = (st.session_state.get(f"demos_dir_{task}") or "").strip()
    if local:
        try:
            resolve(local)
        except ModelLoadError as exc:
            st.error(tr("demos.local_dir.bad", error=str(exc)))


def selected_ref(task: str) -> str | None:
    local = (st.session_state.get(f"demos_dir_{task}") or "").strip()
    if local:
        try:
            resolve(local)
            return local
        except ModelLoadError:
            pass
    chosen = st.session_state.get(f"demos_model_{task}")
    options = model_options(task)
    if chosen in options:
        return chosen
    return options[0] if options else None


def load_selected(task: str):
    """The selected model, loaded once per process; None (with a message) when it cannot load."""
    ref = selected_ref(task)
    if ref is None:
        st.error(tr("demos.no_models"))
        return None
    try:
        with st.spinner(tr("demos.loading", model=ref)):
            return cached_model(ref)
    except ModelLoadError as exc:
        st.error(tr("demos.load_failed", error=str(exc)))
        return None


_METRIC_FMT = {"accuracy": "{:.1f}%", "exact_match": "{:.1f}", "f1": "{:.1f}", "bleu": "{:.1f}", "chrf": "{:.1f}",
               "perplexity": "{:.1f}"}


def show_card(task: str) -> None:
    """Headline held-out metrics of the selected model, and its card in an expander."""
    ref = selected_ref(task)
    if ref is None:
        return
    try:
        card = cards.describe(resolve(ref), task)
    except ModelLoadError as exc:
        st.error(str(exc))
        return
    with st.container(border=True):
        st.markdown(f"**{tr('demos.card.title')}** · `{card.id}`")
        if card.metrics:
            cols = st.columns(len(card.metrics) + 1)
            for col, (name, value) in zip(cols, card.metrics.items()):
                col.metric(tr(f"demos.metric.{name}"), _METRIC_FMT.get(name, "{:.2f}").format(value))
            cols[-1].metric(tr("demos.card.n_test"), card.n_test if card.n_test is not None else "—")
        else:
            st.caption(tr("demos.card.no_metric"))
        with st.expander(tr("demos.card.details")):
            st.markdown(
                f"- **{tr('demos.card.base')}:** {escape_md(card.base)}\n"
                f"- **{tr('demos.card.data')}:** {escape_md(card.data)}\n"
                f"- **{tr('demos.card.licence')}:** {escape_md(card.licence)}\n"
                f"- **{tr('demos.card.steps')}:** {card.steps if card.steps is not None else '—'}\n"
                f"- **{tr('demos.card.test')}:** {escape_md(card.test_data or '—')}\n"
                f"- **{tr('demos.card.note')}:** {escape_md(card.note or '—')}"
            )
            if card.command:
                st.code(card.command, language="bash")
