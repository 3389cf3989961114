"""UI pieces shared by the demo pages: the cached model, the sidebar model picker, the model card.
Logic stays in core.lm; this module only wires widgets."""
from __future__ import annotations

import gc
import re
import time

import streamlit as st

from core import owner
from core.lm import cards
from core.lm.loader import ModelLoadError, load_model, resolve
from core.lm.registry import models_for_task
from pages._auth import auth_enabled, me
from pages._shared import lang, tr

DEMO_TASKS = {"generate": "generation", "qa": "qa", "translate": "translation", "sentiment": "sentiment",
              "attention": "generation"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_md(text: str) -> str:
    """User or model text shown inside markdown, with every markdown character escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text)


@st.cache_resource(max_entries=3, show_spinner=False)
def cached_model(ref: str, model_owner: str | None = None):
    """One copy of each model per process, shared by every session (its decode loop batches them);
    keyed by the model's owner, not the viewer: callers check that the viewer may see it."""
    lm = load_model(ref, actor=owner.actor_for(model_owner) if model_owner else None)
    # torch, transformers and the model add ~520k long-lived objects; a full collection walks them
    # all (260-280 ms with the GIL held, stalling every session). Frozen, Python's collector skips
    # them (see .streamlit/config.toml); they are still freed by reference counting.
    gc.freeze()
    return lm


def model_options(task: str) -> list[str]:
    return [m.id for m in models_for_task(task, actor=me(), lang=lang())]


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
    if not _may_load_directories():
        return
    st.text_input(tr("demos.local_dir"), key=f"demos_dir_{task}", placeholder="/path/to/hf-model",
                  help=tr("demos.local_dir.help"))
    local = (st.session_state.get(f"demos_dir_{task}") or "").strip()
    if local:
        try:
            resolve(local, actor=me())
        except ModelLoadError as exc:
            st.error(tr("demos.local_dir.bad", error=str(exc)))


def _may_load_directories() -> bool:
    """Any server directory can be typed in: the local tool's user and, with sign-in, admins only
    (other users' model files are on the same disk)."""
    return not auth_enabled() or me().admin


def selected_ref(task: str) -> str | None:
    local = (st.session_state.get(f"demos_dir_{task}") or "").strip() if _may_load_directories() else ""
    if local:
        try:
            resolve(local, actor=me())
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
            return cached_model(ref, resolve(ref, actor=me()).owner)
    except ModelLoadError as exc:
        st.error(tr("demos.load_failed", error=str(exc)))
        return None


_METRIC_FMT = {"accuracy": "{:.1f}%", "accuracy_en": "{:.1f}%", "accuracy_zh": "{:.1f}%", "exact_match": "{:.1f}", "f1": "{:.1f}", "bleu": "{:.1f}", "chrf": "{:.1f}", "chrf_4dir": "{:.1f}",
               "perplexity": "{:.1f}"}


def show_card(task: str) -> None:
    """Headline held-out metrics of the selected model, and its card in an expander."""
    ref = selected_ref(task)
    if ref is None:
        return
    try:
        card = cards.describe(resolve(ref, actor=me()), task)
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
            details = {k: v for k, v in card.details.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            if details:
                st.dataframe({tr("demos.card.metric"): list(details), tr("demos.card.value"): [round(v, 2) for v in details.values()]},
                             hide_index=True)
            secondary = card.details.get("secondary")
            if isinstance(secondary, dict):
                st.caption(tr("demos.card.secondary", data=escape_md(str(secondary.get("data", "—"))),
                              metrics=escape_md(", ".join(f"{k} {v:.1f}" for k, v in secondary.items()
                                                          if isinstance(v, (int, float)) and k != "n"))))
            if card.command:
                st.code(card.command, language="bash")


def wait_for_slot(gen) -> None:
    """Join the model's decode queue and, while every decoding slot is taken, say how many
    requests are ahead (core.lm.scheduler); returns when this one starts decoding."""
    gen.submit()
    slot = st.empty()
    while (ahead := gen.ahead()) >= 0:
        slot.info(tr("demos.queue", n=ahead) if ahead else tr("demos.queue.next"), icon=":material/hourglass_top:")
        time.sleep(0.25)
    slot.empty()
