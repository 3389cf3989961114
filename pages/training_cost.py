import streamlit as st

from pages._shared import tr

st.title(tr("nav.training_cost"))
st.info("Under construction.")
