"""Home: what Opportunity Lab answers, the catalogue at a glance and the top opportunities."""
import streamlit as st

from core.explore import charts
from core.explore import data as explorer_data
from core.explore import market
from pages._explorer_ui import money, size_label
from pages._shared import lang, tr

st.title(tr("app.title"), anchor=False)
st.markdown(f"### {tr('app.tagline')}")

base = explorer_data.catalogue()
figures = explorer_data.figures()
scored = explorer_data.localise(market.score(base, market.DEFAULT_WEIGHTS), lang())

k1, k2, k3, k4 = st.columns(4)
k1.metric(tr("explorer.home.kpi.use_cases"), len(base), border=True)
k2.metric(tr("explorer.home.kpi.domains"), base["domain_id"].nunique(), border=True)
k3.metric(tr("explorer.home.kpi.figures"), len(figures), border=True, help=tr("explorer.home.kpi.figures.help"))
k4.metric(tr("explorer.home.kpi.sources"), figures["url"].nunique(), border=True)

st.subheader(tr("explorer.home.top"), anchor=False)
st.caption(tr("explorer.home.top.caption"))
for col, row in zip(st.columns(5), scored.head(5).itertuples()):
    with col.container(border=True, height="stretch"):
        st.markdown(f"**#{row.rank} {row.label}**")
        st.caption(f"{row.domain_label} · {tr('explorer.task.' + row.task)}")
        st.progress(min(max(row.score / 100, 0.0), 1.0), text=tr("explorer.home.score", score=f"{row.score:.0f}"))
        st.markdown(f"{tr('explorer.home.market')}: **USD {money(row.market_usd_b)}B**  \n"
                    f":gray[{tr('explorer.basis.' + row.market_basis)}]  \n"
                    f"{tr('explorer.col.risk')}: **{tr('explorer.risk.' + row.risk_level)}** · "
                    f"{tr('explorer.col.size')}: **{size_label(row.model_params_b)}**")

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader(tr("explorer.home.matrix"), anchor=False)
    st.plotly_chart(charts.bubble_matrix(scored, lang(), label_top=3).update_layout(height=440), width="stretch")
with right:
    st.subheader(tr("explorer.home.start"), anchor=False)
    st.page_link("pages/explorer.py", label=tr("explorer.home.link.explorer"), icon=":material/travel_explore:")
    st.page_link("pages/scenarios.py", label=tr("explorer.home.link.scenarios"), icon=":material/bookmarks:")
    st.page_link("pages/training-cost.py", label=tr("explorer.home.link.cost"), icon=":material/payments:")
    st.page_link("pages/generate.py", label=tr("explorer.home.link.demo"), icon=":material/edit_note:")
    st.page_link("pages/studio.py", label=tr("explorer.home.link.studio"), icon=":material/model_training:")
    with st.container(border=True):
        st.markdown(f"**{tr('explorer.home.how')}**")
        st.markdown(tr("explorer.home.how.text"))
    st.caption(tr("explorer.home.honesty"))
