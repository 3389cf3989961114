import streamlit as st

from pages._shared import tr

st.title(tr("nav.home"))
st.info("Under construction.")
