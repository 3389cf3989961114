import streamlit as st

from pages._shared import tr

st.title(tr("nav.translate"))
st.info("Under construction.")
