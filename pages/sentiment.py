import streamlit as st

from pages._shared import tr

st.title(tr("nav.sentiment"))
st.info("Under construction.")
