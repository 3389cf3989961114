"""Scenarios: saved explorer states. Reopen, rename, annotate, delete, export, edit assumptions, compare."""
from dataclasses import replace

import pandas as pd
import streamlit as st

from core.explore import charts
from core.explore import data as explorer_data
from core.explore import market, scenarios
from pages._auth import auth_enabled, me
from pages._explorer_ui import apply_state, err, explorer_link, safe
from pages._shared import lang, tr

st.title(tr("nav.scenarios"))
st.caption(tr("explorer.sc.caption"))
ME = me()  # every store call below acts as this user (core/owner.py)
EDIT_COLS = list(market.EDITABLE)


def _say(kind: str, text: str) -> None:
    st.session_state["_sc_msg"] = (kind, text)


def _act(action, args: tuple, kwargs: dict, done: str, name: str) -> None:
    """Run a store action from a button callback; keep its message for this run."""
    try:
        action(*args, **kwargs)
    except scenarios.ScenarioError as exc:
        _say("error", err(exc))
    else:
        _say("success", tr(done, name=safe(name)))


def _save_assumptions(rec: scenarios.ScenarioRecord, shown: pd.DataFrame, base: pd.DataFrame) -> None:
    edited = shown.astype(object)
    for idx, changes in (st.session_state.get("sc_editor") or {}).get("edited_rows", {}).items():
        for col, value in changes.items():
            edited.at[edited.index[int(idx)], col] = value
    try:
        overrides = scenarios.overrides_from_edit(base, edited)
        scenarios.update(rec.id, state=replace(rec.state, overrides=overrides), actor=ME)
    except scenarios.ScenarioError as exc:
        _say("error", err(exc))
    else:
        st.session_state.pop("sc_editor", None)
        _say("success", tr("explorer.sc.assumptions_saved", n=len(overrides)))


def _message() -> None:
    kind, text = st.session_state.pop("_sc_msg", (None, None))
    if kind:
        getattr(st, kind)(text, icon=":material/error:" if kind == "error" else ":material/check_circle:")


records = scenarios.list_all(actor=ME)
wanted = st.query_params.get("scenario")  # /scenarios?scenario=ID opens that scenario, if this user may see it
wanted_id = int(wanted) if wanted and wanted.isdigit() else None
if wanted is not None and wanted_id not in {r.id for r in records}:
    st.warning(tr("team.scenario_not_found", id=safe(wanted)), icon=":material/search_off:")
elif wanted_id is not None and st.session_state.get("_sc_url") != wanted_id:
    st.session_state["sc_pick"] = st.session_state["_sc_url"] = wanted_id
if not records:
    st.info(tr("explorer.sc.empty"), icon=":material/bookmarks:")
    st.page_link("pages/explorer.py", label=tr("nav.explorer"), icon=":material/travel_explore:")
    st.stop()

base = explorer_data.catalogue()
by_id = {r.id: r for r in records}
overview = scenarios.overview(base, records)
overview = overview.assign(top=overview["top_name_zh" if lang() == "zh" else "top_name"],
                           view=overview["view"].map(lambda v: tr(f"explorer.view.{v}")))
st.dataframe(overview[["name", "top", "score", "shown", "edited", "view", "updated", "notes"]], hide_index=True,
             width="stretch", column_config={
    "name": tr("explorer.sc.col.name"), "top": tr("explorer.sc.col.top"), "shown": tr("explorer.kpi.shown"),
    "score": st.column_config.NumberColumn(tr("explorer.col.score"), format="%.1f"),
    "edited": tr("explorer.sc.col.edited"), "view": tr("explorer.view"),
    "updated": st.column_config.DatetimeColumn(tr("explorer.sc.col.updated"), format="YYYY-MM-DD HH:mm"),
    "notes": tr("explorer.save.notes")})

pick = st.selectbox(tr("explorer.sc.pick"), list(by_id), format_func=lambda i: by_id[i].name, key="sc_pick")
rec = by_id[pick]
st.query_params["scenario"] = str(pick)  # the URL follows the pick; a changed URL (a new link) moves the pick
st.session_state["_sc_url"] = pick
mine = ME.can_change(rec.owner)
if not mine:
    st.info(tr("team.shared_by", owner=safe(rec.owner)), icon=":material/visibility:")
elif auth_enabled():
    st.toggle(tr("team.share"), value=rec.shared, key=f"sc_share_{rec.id}", help=tr("team.share.help"),
              on_change=lambda: scenarios.set_shared(rec.id, st.session_state[f"sc_share_{rec.id}"], actor=ME))
_message()
manage, assumptions, compare = st.tabs([tr("explorer.sc.tab.manage"), tr("explorer.sc.tab.assumptions"),
                                        tr("explorer.sc.tab.compare")])

with manage:
    c1, c2 = st.columns(2)
    if c1.button(tr("explorer.sc.open"), icon=":material/open_in_new:", type="primary", key="sc_open",
                 on_click=apply_state, args=(rec.state, rec.id)):
        st.switch_page("pages/explorer.py", query_params=explorer_link(rec.state))
    ranked = market.apply_filters(scenarios.evaluate(base, rec.state), rec.state.filters_obj())
    c2.download_button(tr("explorer.export"), market.ranked_table(ranked).to_csv(index=False).encode("utf-8"),
                       file_name=f"scenario_{rec.id}_ranking.csv", mime="text/csv", icon=":material/download:")
    with st.form("sc_rename"):
        new_name = st.text_input(tr("explorer.sc.rename"), value=rec.name, max_chars=scenarios.NAME_MAX)
        new_notes = st.text_area(tr("explorer.save.notes"), value=rec.notes, height=90)
        if st.form_submit_button(tr("explorer.sc.save_details"), icon=":material/save:", disabled=not mine):
            try:
                scenarios.update(rec.id, name=new_name, notes=new_notes, actor=ME)
            except scenarios.ScenarioError as exc:
                st.error(err(exc), icon=":material/error:")
            else:
                _say("success", tr("explorer.sc.renamed", name=safe(new_name.strip())))
                st.rerun()
    sure = st.checkbox(tr("explorer.sc.delete_confirm", name=safe(rec.name)), key="sc_delete_sure", disabled=not mine)
    st.button(tr("explorer.sc.delete"), icon=":material/delete:", disabled=not (sure and mine), key="sc_delete",
              on_click=_act, args=(scenarios.delete, (rec.id,), {"actor": ME}, "explorer.sc.deleted", rec.name))

with assumptions:
    st.caption(tr("explorer.sc.assumptions_help"))
    current = market.apply_overrides(base, rec.state.overrides)
    current = explorer_data.localise(current, lang())[["use_case_id", "label", *EDIT_COLS]]
    st.data_editor(current, key="sc_editor", hide_index=True, width="stretch", height=420,
                   disabled=["use_case_id", "label"], num_rows="fixed",
                   column_config={"use_case_id": None, "label": tr("explorer.col.use_case"),
                                  **{c: st.column_config.NumberColumn(tr(f"explorer.field.{c}")) for c in EDIT_COLS}})
    b1, b2 = st.columns(2)
    b1.button(tr("explorer.sc.save_assumptions"), icon=":material/save:", key="sc_save_assumptions",
              on_click=_save_assumptions, args=(rec, current, base), disabled=not mine)
    b2.button(tr("explorer.sc.reset_assumptions"), icon=":material/restart_alt:", key="sc_reset",
              disabled=not (rec.state.overrides and mine), on_click=_act,
              args=(scenarios.update, (rec.id,), {"state": replace(rec.state, overrides={}), "actor": ME},
                    "explorer.sc.assumptions_reset", rec.name))

with compare:
    if len(records) < 2:
        st.info(tr("explorer.sc.compare_need_two"), icon=":material/compare_arrows:")
    else:
        ids = list(by_id)
        a_col, b_col = st.columns(2)
        a = a_col.selectbox("A", ids, index=0, format_func=lambda i: by_id[i].name, key="sc_a")
        b = b_col.selectbox("B", ids, index=1, format_func=lambda i: by_id[i].name, key="sc_b")
        if a == b:
            st.warning(tr("explorer.sc.compare_same"), icon=":material/warning:")
        else:
            cmp = scenarios.compare(base, by_id[a].state, by_id[b].state)
            label = "name_zh" if lang() == "zh" else "name"
            st.plotly_chart(charts.compare_chart(cmp, lang(), by_id[a].name, by_id[b].name), width="stretch")
            st.dataframe(cmp[[label, "score_a", "score_b", "delta", "rank_a", "rank_b", "rank_change"]],
                         hide_index=True, width="stretch", column_config={
                             label: tr("explorer.col.use_case"),
                             "score_a": st.column_config.NumberColumn(tr("explorer.sc.score_of", name="A"), format="%.1f"),
                             "score_b": st.column_config.NumberColumn(tr("explorer.sc.score_of", name="B"), format="%.1f"),
                             "delta": st.column_config.NumberColumn(tr("explorer.chart.delta"), format="%+.1f"),
                             "rank_a": tr("explorer.sc.rank_of", name="A"), "rank_b": tr("explorer.sc.rank_of", name="B"),
                             "rank_change": st.column_config.NumberColumn(tr("explorer.sc.rank_change"), format="%+d")})
