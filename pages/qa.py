import streamlit as st

from pages._shared import tr

st.title(tr("nav.qa"))
st.info("Under construction.")
