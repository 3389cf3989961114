"""Training studio: train a GPT from scratch or fine-tune a base; live runs; compare; register."""
import streamlit as st

from core import runs as training_runs
from core.runs import charts as run_charts
from pages import _studio_new, _studio_run
from pages._auth import me
from pages._shared import tr

st.title(tr("studio.title"))
st.caption(tr("studio.caption"))
ME = me()  # every store call below acts as this user (core/owner.py)

run_id = st.query_params.get("run")
if run_id:
    with st.container(border=True):
        _studio_run.render(run_id, ME)
        if st.button(tr("studio.close"), key="studio_close", icon=":material/close:"):
            del st.query_params["run"]
            st.rerun()

tab_new, tab_runs = st.tabs([tr("studio.tab.new"), tr("studio.tab.runs")])
with tab_new:
    _studio_new.render()

with tab_runs:
    runs = training_runs.list_runs(actor=ME)
    if not runs:
        st.info(tr("studio.runs.none"))
    else:
        table = run_charts.runs_frame(runs)
        table["status"] = [tr(f"studio.status.{s}") for s in table["status"]]
        st.dataframe(table, width="stretch", hide_index=True)
        ids = [r.id for r in runs]
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        pick = c1.selectbox(tr("studio.runs.open"), ids, key="studio_open_pick")
        if c2.button(tr("studio.runs.open_go"), key="studio_open"):
            st.query_params["run"] = pick
            st.rerun()
        st.subheader(tr("studio.compare"))
        chosen = st.multiselect(tr("studio.compare.pick"), ids, default=ids[:2] if len(ids) > 1 else ids,
                                max_selections=6, key="studio_compare")
        if chosen:
            curves = {i: training_runs.run_metrics(i, actor=ME) for i in chosen}
            labels = {"train": tr("studio.curve.train"), "validation": tr("studio.curve.val"),
                      "step": tr("studio.curve.step"), "loss": tr("studio.curve.loss")}
            st.plotly_chart(run_charts.loss_figure(curves, labels), width="stretch", key="studio_compare_fig")
        if len(chosen) >= 2:
            by_id = {r.id: r for r in runs}
            diff = training_runs.config_diff(by_id[chosen[0]].config, by_id[chosen[1]].config)
            st.caption(tr("studio.diff", a=chosen[0], b=chosen[1]))
            if diff:
                st.dataframe([{tr("studio.diff.setting"): k, chosen[0]: str(a), chosen[1]: str(b)} for k, a, b in diff],
                             width="stretch", hide_index=True)
            else:
                st.info(tr("studio.diff.same"))
