"""Widgets shared by the Explorer and Scenarios pages (UI wiring only; logic is in core.explore).

Every explorer setting lives in the URL, so a copied link reproduces the view. Widgets whose values
read the same in every language (weights, model size, search text, scenario name) are bound with
bind="query-params". Widgets whose labels are translated (domain, task, risk, view, radar
selection, sensitivity criterion) would put translated labels into the URL, so they keep stable
ids there instead: sync_from_url() adopts a value a link brings, sync_to_url() writes the current
one back. apply_state() sets all of them from a saved scenario before they render."""
from __future__ import annotations

import re

import streamlit as st

from core.explore import data as explorer_data
from core.explore import market, scenarios
from pages._shared import lang, tr

DEMO_PAGES = {"generation": "pages/generate.py", "qa": "pages/qa.py", "translation": "pages/translate.py",
              "sentiment": "pages/sentiment.py"}  # the tasks the demo pages show live
SOURCE_COLUMNS = ("metric", "value", "unit", "region", "figure_year", "publisher", "published_year", "confidence")
URL_LISTS = ("ex_domain", "ex_task", "ex_risk", "ex_sel")  # repeated ?key=id&key=id
URL_VALUES = {"ex_view": "matrix", "ex_sens": "market"}  # key -> default
SIZE_STEPS = (0.001, 0.01, 0.1, 0.5, 1.0, 3.0, 10.0)  # billions of parameters


def size_label(b: float) -> str:
    return f"{b * 1000:g}M" if b < 1 else f"{b:g}B"


def money(x: float) -> str:
    return f"{x:,.2f}" if x < 10 else f"{x:,.1f}"


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def safe(text: object) -> str:
    """User text (a scenario name, a typed value) escaped for Streamlit's Markdown, so it shows
    literally: no links, images, emphasis or icons."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def err(exc: Exception) -> str:
    """The translated message for a ScenarioError / WeightsError (user-supplied parts escaped)."""
    params = {k: safe(v) if k in ("name", "value", "use_case") else v for k, v in getattr(exc, "params", {}).items()}
    if "field" in params:
        params["field"] = tr(f"explorer.field.{params['field']}")
    return tr(f"explorer.err.{getattr(exc, 'code', 'unknown')}", **params)


def render_weights() -> dict[str, float]:
    """Sidebar sliders, one per criterion; all-zero weights show an error and keep the last valid ones."""
    weights: dict[str, float] = {}
    with st.sidebar:
        st.subheader(tr("explorer.weights"), help=tr("explorer.weights.help"))
        for group in market.GROUPS:
            st.caption(tr(f"explorer.group.{group}"))
            for c in (c for c in market.CRITERIA if c.group == group):
                weights[c.key] = st.slider(tr(f"explorer.crit.{c.key}"), 0, market.MAX_WEIGHT,
                                           market.DEFAULT_WEIGHTS[c.key], key=f"w_{c.key}", bind="query-params",
                                           help=tr(f"explorer.crit.{c.key}.help"))
        try:
            shares = market.group_shares(weights)
        except market.WeightsError as exc:
            st.error(err(exc), icon=":material/error:")
            return dict(st.session_state.get("_ex_last_weights", market.DEFAULT_WEIGHTS))
        st.caption(tr("explorer.weights.shares", **{g: f"{v:.0%}" for g, v in shares.items()}))
    st.session_state["_ex_last_weights"] = weights
    return weights


def sync_from_url(base) -> None:
    """Before the widgets render: take a value from the URL when a link brought a new one.

    A key missing from the URL leaves the session's value alone (page switches drop such keys);
    unknown ids are ignored, so a hand-edited link cannot break the page."""
    valid = {"ex_domain": set(base["domain_id"]), "ex_task": set(base["task"]), "ex_risk": set(market.RISK_LEVELS),
             "ex_sel": set(base["use_case_id"]), "ex_view": set(scenarios.VIEWS), "ex_sens": set(market.CRITERION)}
    written = st.session_state.setdefault("_ex_url", {})
    for key in (*URL_LISTS, *URL_VALUES):
        raw = st.query_params.get_all(key)
        if not raw or raw == written.get(key):
            continue
        if key in URL_LISTS:
            st.session_state[key] = [v for v in dict.fromkeys(raw) if v in valid[key]]
        else:
            st.session_state[key] = raw[-1] if raw[-1] in valid[key] else URL_VALUES[key]
        written[key] = raw


def sync_to_url() -> None:
    """After the widgets render: write their ids to the URL (defaults are left out)."""
    written = st.session_state.setdefault("_ex_url", {})
    for key in (*URL_LISTS, *URL_VALUES):
        value = st.session_state.get(key)
        values = [str(v) for v in (value or [])] if key in URL_LISTS else [str(value or URL_VALUES[key])]
        if values in ([], [URL_VALUES.get(key)]):
            if key in st.query_params:
                del st.query_params[key]
            written[key] = []
        elif st.query_params.get_all(key) != values:
            st.query_params[key] = values
            written[key] = values


def render_filters(base) -> dict:
    domains = base.drop_duplicates("domain_id").sort_values("domain")
    dom_label = dict(zip(domains["domain_id"], domains["domain_zh" if lang() == "zh" else "domain"]))
    cols = st.columns([2.2, 1.8, 1.4, 2.0, 2.0])
    raw = {
        "domains": cols[0].multiselect(tr("explorer.f.domain"), list(dom_label), key="ex_domain",
                                       persist_state="session", format_func=dom_label.get,
                                       placeholder=tr("explorer.f.all")),
        "tasks": cols[1].multiselect(tr("explorer.f.task"), sorted(base["task"].unique()), key="ex_task",
                                     persist_state="session", format_func=lambda t: tr(f"explorer.task.{t}"),
                                     placeholder=tr("explorer.f.all")),
        "risk_levels": cols[2].multiselect(tr("explorer.f.risk"), list(market.RISK_LEVELS), key="ex_risk",
                                           persist_state="session", format_func=lambda r: tr(f"explorer.risk.{r}"),
                                           placeholder=tr("explorer.f.all"), help=tr("explorer.f.risk.help")),
        "size": cols[3].select_slider(tr("explorer.f.size"), options=list(SIZE_STEPS),
                                      value=(SIZE_STEPS[0], SIZE_STEPS[-1]), key="ex_size", bind="query-params",
                                      format_func=size_label, help=tr("explorer.f.size.help")),
        "text": cols[4].text_input(tr("explorer.f.search"), key="ex_q", bind="query-params", max_chars=80,
                                   placeholder=tr("explorer.f.search.placeholder")),
    }
    return raw


def filters_from_widgets(raw: dict) -> market.Filters:
    low, high = raw["size"]
    return market.Filters(
        domains=tuple(raw["domains"]), tasks=tuple(raw["tasks"]), risk_levels=tuple(raw["risk_levels"]),
        size_min_b=None if low <= SIZE_STEPS[0] else low, size_max_b=None if high >= SIZE_STEPS[-1] else high,
        text=raw["text"] or "")


def _snap(value: float | None, default: float) -> float:
    if value is None:
        return default
    return min(SIZE_STEPS, key=lambda s: abs(s - value))


def clear_filters() -> None:
    for key in ("ex_domain", "ex_task", "ex_risk"):
        st.session_state[key] = []
    st.session_state["ex_size"] = (SIZE_STEPS[0], SIZE_STEPS[-1])
    st.session_state["ex_q"] = ""


def apply_state(state: scenarios.ScenarioState, scenario_id: int | None = None) -> None:
    """Put a scenario's weights, filters, view and selection into the explorer's (URL-bound) widgets."""
    for key in market.CRITERION:
        st.session_state[f"w_{key}"] = int(round(state.weights.get(key, 0)))
    f = state.filters_obj()
    known = explorer_data.catalogue()
    st.session_state["ex_domain"] = [d for d in f.domains if d in set(known["domain_id"])]
    st.session_state["ex_task"] = [t for t in f.tasks if t in set(known["task"])]
    st.session_state["ex_risk"] = [r for r in f.risk_levels if r in market.RISK_LEVELS]
    st.session_state["ex_size"] = (_snap(f.size_min_b, SIZE_STEPS[0]), _snap(f.size_max_b, SIZE_STEPS[-1]))
    st.session_state["ex_q"] = f.text
    st.session_state["ex_view"] = state.view
    st.session_state["ex_sel"] = [u for u in state.selected if u in set(known["use_case_id"])]
    st.session_state["ex_scenario"] = scenario_id


def explorer_link(state: scenarios.ScenarioState) -> dict[str, str]:
    """Query parameters of the explorer for a scenario's URL-bound widgets (weights, search text),
    defaults left out: a page switch after apply_state() does not write them to the URL itself,
    and a reload or a shared link would lose them."""
    params = {"lang": lang()}
    for key in market.CRITERION:
        value = int(round(state.weights.get(key, 0)))
        if value != market.DEFAULT_WEIGHTS[key]:
            params[f"w_{key}"] = str(value)
    if text := state.filters_obj().text:
        params["ex_q"] = text
    return params


def pitch_link(use_case_id: str, scenario_name: str | None = None) -> dict[str, str]:
    """Query parameters of the Pitch page for a use case (and the active scenario)."""
    return {"use_case": use_case_id, "lang": lang()} | ({"scenario": scenario_name} if scenario_name else {})


def render_details(shown, labels: dict[str, str], scenario_name: str | None = None) -> None:
    """One use case: description, model assumption, market basis and every source figure."""
    uid = st.selectbox(tr("explorer.details.pick"), list(shown["use_case_id"]), format_func=labels.get, key="ex_uc")
    row = shown.set_index("use_case_id").loc[uid]
    zh = lang() == "zh"
    st.markdown(f"**{row['label']}** · {row['domain_label']} · {tr('explorer.task.' + row['task'])}")
    st.write(row["description_zh"] if zh and row.get("description_zh") else row["description"])
    c1, c2, c3 = st.columns(3)
    quiet = dict(delta_color="off", delta_arrow="off")
    c1.metric(tr("explorer.home.market"), f"USD {money(row['market_usd_b'])}B",
              tr(f"explorer.basis.{row['market_basis']}"), **quiet)
    c2.metric(tr("explorer.col.growth"), f"{row['growth_pct']:.1f}%", tr(f"explorer.basis.{row['growth_basis']}"), **quiet)
    c3.metric(tr("explorer.col.size"), size_label(row["model_params_b"]),
              tr("explorer.details.tokens", tokens=f"{row['training_tokens_b']:g}"), **quiet)
    st.caption(tr("explorer.details.model_note") + " " + str(row["model_note"]))
    links = st.columns(4)
    links[0].page_link("pages/training-cost.py", label=tr("explorer.details.cost"), icon=":material/payments:",
                       query_params={"use_case": uid, "lang": lang()})
    links[1].page_link("pages/memory-inference.py", label=tr("explorer.details.memory"), icon=":material/memory:",
                       query_params={"use_case": uid, "lang": lang()})
    if row["task"] in DEMO_PAGES:
        links[2].page_link(DEMO_PAGES[row["task"]], label=tr("explorer.details.demo"), icon=":material/play_circle:",
                           query_params={"lang": lang()})
    links[3].page_link("pages/pitch.py", label=tr("explorer.details.pitch"), icon=":material/co_present:",
                       query_params=pitch_link(uid, scenario_name))
    if str(row.get("market_note") or "").strip():
        st.caption(tr("explorer.details.market_note") + " " + str(row["market_note"]))
    st.caption(tr("explorer.details.scores_note") + " " + str(row["scores_note"]))
    figs = explorer_data.figures_for(row["market_segment"])
    st.markdown(f"**{tr('explorer.details.sources', segment=row['market_segment'])}**")
    figs = figs.assign(role=figs["role"].map(lambda r: tr(f"explorer.role.{r}")))
    st.dataframe(figs[["metric", "value", "unit", "region", "figure_year", "publisher", "published_year", "confidence",
                       "role", "url", "note"]], hide_index=True, width="stretch",
                 column_config={**{c: tr(f"explorer.src.{c}") for c in SOURCE_COLUMNS},
                                "url": st.column_config.LinkColumn(tr("explorer.details.link"), display_text="↗"),
                                "role": tr("explorer.details.role"),
                                "note": st.column_config.TextColumn(tr("explorer.src.note"), width="large")})
