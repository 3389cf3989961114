import streamlit as st

from pages._shared import tr

st.title(tr("nav.explorer"))
st.info("Under construction.")
