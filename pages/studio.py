import streamlit as st

from pages._shared import tr

st.title(tr("nav.studio"))
st.info("Under construction.")
