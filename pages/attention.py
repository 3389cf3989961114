import streamlit as st

from pages._shared import tr

st.title(tr("nav.attention"))
st.info("Under construction.")
