import streamlit as st

from pages._shared import tr

st.title(tr("nav.scenarios"))
st.info("Under construction.")
