"""Explorer: score AI use cases with your own weights; matrix, treemap, radar, sensitivity, ranked table.
Weights, filters, the view and the selection live in the URL, so a link reproduces the view."""
from urllib.parse import urlencode

import streamlit as st

from core.explore import charts
from core.explore import data as explorer_data
from core.explore import market, scenarios
from pages._explorer_ui import (clear_filters, err, filters_from_widgets, money, pitch_link, render_details,
                                render_filters, render_weights, safe, size_label, sync_from_url, sync_to_url)
from pages._auth import me
from pages._shared import lang, tr

st.title(tr("explorer.title"))
base = explorer_data.catalogue()
st.caption(tr("explorer.caption", n=len(base)))
ME = me()  # every store call below acts as this user (core/owner.py)
saved = scenarios.list_all(actor=ME)
names = {r.id: r.name for r in saved}
scenario_id = st.sidebar.selectbox(tr("explorer.scenario"), list(names), index=None, key="ex_scenario",
                                   bind="query-params", format_func=names.get,
                                   placeholder=tr("explorer.scenario.none"), help=tr("explorer.scenario.help"))
weights = render_weights()
active = next((r for r in saved if r.id == scenario_id), None)
scored = explorer_data.localise(market.evaluate(base, weights, active.state.overrides if active else {}), lang())
sync_from_url(base)
filters = filters_from_widgets(render_filters(base))
shown = scored if not filters.active() else market.apply_filters(scored, filters)
if active and active.state.overrides:
    st.info(tr("explorer.scenario.overrides", name=safe(active.name), n=len(active.state.overrides)), icon=":material/edit_note:")

if shown.empty:
    sync_to_url()
    st.warning(tr("explorer.empty"), icon=":material/filter_alt_off:")
    st.button(tr("explorer.clear_filters"), on_click=clear_filters, icon=":material/filter_alt_off:")
    st.stop()

top = shown.iloc[0]
c1, c2, c3, c4 = st.columns([1, 1.6, 1.1, 1])
c1.metric(tr("explorer.kpi.shown"), f"{len(shown)} / {len(scored)}", border=True)
c2.metric(tr("explorer.kpi.top"), f"{top['score']:.1f}", top["label"], delta_color="off", delta_arrow="off", border=True)
c3.metric(tr("explorer.kpi.market"), f"USD {money(shown['market_usd_b'].sum())}B", border=True,
          help=tr("explorer.kpi.market.help"))
c4.metric(tr("explorer.kpi.sourced"), f"{(shown['market_basis'] == 'sourced').sum()} / {len(shown)}", border=True,
          help=tr("explorer.kpi.sourced.help"))

view = st.segmented_control(tr("explorer.view"), list(scenarios.VIEWS), default="matrix", key="ex_view",
                            persist_state="session", format_func=lambda v: tr(f"explorer.view.{v}"), required=True)
labels = dict(zip(scored["use_case_id"], scored["label"]))
if view == "matrix":
    st.caption(tr("explorer.matrix.caption"))
    st.plotly_chart(charts.bubble_matrix(shown, lang(), label_top=5), width="stretch")
elif view == "treemap":
    st.caption(tr("explorer.treemap.caption"))
    st.plotly_chart(charts.treemap(shown, lang()), width="stretch")
elif view == "radar":
    picked = st.multiselect(tr("explorer.radar.pick"), list(scored["use_case_id"]), default=None, key="ex_sel",
                            persist_state="session", format_func=labels.get, max_selections=scenarios.MAX_SELECTED)
    if len(picked) < 2:
        st.info(tr("explorer.radar.need_two"), icon=":material/radar:")
        picked = list(shown["use_case_id"][: min(3, len(shown))])
    st.plotly_chart(charts.radar(scored[scored["use_case_id"].isin(picked)], lang()), width="stretch")
else:
    crit = st.selectbox(tr("explorer.sens.criterion"), list(market.CRITERION), key="ex_sens", persist_state="session",
                        format_func=lambda k: tr(f"explorer.crit.{k}"))
    long = market.sensitivity(shown, weights, crit)
    st.caption(tr("explorer.sens.caption"))
    focus = market.sensitivity_focus(long, list(shown["use_case_id"]))
    st.plotly_chart(charts.sensitivity_chart(focus, labels, weights[crit], lang(),
                                             tr(f"explorer.crit.{crit}")), width="stretch")
    for run in market.top_pick_runs(long).itertuples():
        span = f"{run.from_weight:g}" + ("" if run.from_weight == run.to_weight else f"–{run.to_weight:g}")
        st.markdown(tr("explorer.sens.run", span=span, name=labels[run.use_case_id]))

sync_to_url()
st.subheader(tr("explorer.table.title"))
table = shown.assign(basis=shown["market_basis"].map(lambda b: tr(f"explorer.basis.{b}")),
                     risk=shown["risk_level"].map(lambda r: tr(f"explorer.risk.{r}")),
                     size=shown["model_params_b"].map(size_label),
                     pitch=[f"pitch?{urlencode(pitch_link(u, active.name if active else None))}" for u in shown["use_case_id"]])
st.dataframe(
    table[["rank", "label", "pitch", "domain_label", "score", "value_index", "feasibility_index", "risk", "market_usd_b",
           "basis", "growth_pct", "size", "time_to_mvp_months"]],
    hide_index=True, width="stretch", height=min(38 + 35 * len(table), 460),
    column_config={
        "rank": st.column_config.NumberColumn("#", width="small"),
        "label": tr("explorer.col.use_case"), "domain_label": tr("explorer.col.domain"),
        "score": st.column_config.ProgressColumn(tr("explorer.col.score"), min_value=0, max_value=100, format="%.1f"),
        "value_index": st.column_config.NumberColumn(tr("explorer.col.value"), format="%.0f"),
        "feasibility_index": st.column_config.NumberColumn(tr("explorer.col.feasibility"), format="%.0f"),
        "risk": tr("explorer.col.risk"),
        "market_usd_b": st.column_config.NumberColumn(tr("explorer.col.market"), format="%.2f"),
        "basis": tr("explorer.col.basis"),
        "growth_pct": st.column_config.NumberColumn(tr("explorer.col.growth"), format="%.1f%%"),
        "size": tr("explorer.col.size"), "time_to_mvp_months": tr("explorer.col.mvp"),
        "pitch": st.column_config.LinkColumn(tr("explorer.col.pitch"), display_text=tr("explorer.col.pitch") + " ↗",
                                             width="small"),
    })
st.download_button(tr("explorer.export"), market.ranked_table(shown).to_csv(index=False).encode("utf-8"),
                   file_name="opportunity_ranking.csv", mime="text/csv", icon=":material/download:")

details = st.expander(tr("explorer.details"), icon=":material/source:", key="ex_details", on_change="rerun")
if details.open:  # built only when opened: keeps the rerun short
    with details:
        render_details(shown, labels, active.name if active else None)

with st.form("ex_save", clear_on_submit=False, border=True):
    st.markdown(f"**{tr('explorer.save.title')}**")
    name = st.text_input(tr("explorer.save.name"), max_chars=scenarios.NAME_MAX, key="ex_save_name")
    notes = st.text_area(tr("explorer.save.notes"), key="ex_save_notes", height=80)
    b1, b2 = st.columns(2)
    save_new = b1.form_submit_button(tr("explorer.save.button"), icon=":material/bookmark_add:")
    save_active = active is not None and ME.can_change(active.owner) and b2.form_submit_button(tr("explorer.save.update", name=safe(active.name)),
                                                               icon=":material/save:", key="ex_update")
    if save_new or save_active:
        state = scenarios.ScenarioState(weights=weights, filters=scenarios.filters_to_dict(filters), view=view,
                                        selected=list(st.session_state.get("ex_sel") or []),
                                        overrides=active.state.overrides if active else {})
        try:
            record = (scenarios.update(active.id, state=state, notes=notes or None, actor=ME) if save_active
                      else scenarios.create(name, state, notes, actor=ME))
        except scenarios.ScenarioError as exc:
            st.error(err(exc), icon=":material/error:")
        else:
            st.success(tr("explorer.save.done", name=safe(record.name)), icon=":material/check_circle:")
