import streamlit as st

from pages._shared import tr

st.title(tr("nav.memory_inference"))
st.info("Under construction.")
