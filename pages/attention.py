"""Attention: the formulas, and a heatmap of the live model's attention weights per layer/head."""
import streamlit as st

from core.lm.attention import FORMULAS, AttentionInputError, attention_map, heatmap_figure
from pages._demos import load_selected, selected_ref
from pages._shared import tr

TASK = "generation"
st.title(tr("nav.attention"))
st.caption(tr("demos.attention.intro"))
st.latex(FORMULAS["scaled_dot_product"])
st.latex(FORMULAS["multi_head"])
st.caption(tr("demos.attention.formula_note"))

text = st.text_input(tr("demos.attention.sentence"), tr("demos.attention.sentence.default"), key="att_text")
if st.button(tr("demos.attention.submit"), type="primary", key="att_submit"):
    if (lm := load_selected(TASK)) is not None:
        try:
            st.session_state["att_map"] = (selected_ref(TASK), attention_map(lm, text))
        except AttentionInputError as exc:
            st.session_state.pop("att_map", None)
            st.error(str(exc))

if "att_map" in st.session_state:
    ref, amap = st.session_state["att_map"]
    c1, c2 = st.columns(2)
    layer = c1.slider(tr("demos.attention.layer"), 1, amap.n_layers, amap.n_layers, key="att_layer")
    head = c2.selectbox(tr("demos.attention.head"), [None] + list(range(1, amap.n_heads + 1)), key="att_head",
                        format_func=lambda h: tr("demos.attention.mean") if h is None else str(h))
    head_label = tr("demos.attention.mean") if head is None else tr("demos.attention.head_n", n=head)
    title = tr("demos.attention.title", model=ref, layer=layer, head=head_label)
    st.plotly_chart(heatmap_figure(amap, layer - 1, None if head is None else head - 1, title), width="stretch")
    st.caption(tr("demos.attention.read"))
