import streamlit as st

from pages._shared import tr

st.title(tr("nav.generate"))
st.info("Under construction.")
