"""Small Streamlit helpers shared by the pages (UI only; logic lives in core/)."""
from __future__ import annotations

import streamlit as st

from core.i18n import normalise, t

# Streamlit starts every server process in "pages/ directory" (MPA v1) mode until app.py has called
# st.navigation once. If the first visitor of a fresh server opens a deep link such as /explorer,
# Streamlit runs pages/explorer.py directly, app.py never runs and the whole process stays in v1
# mode (wrong sidebar, no page config, no language switch). Leave v1 mode and rerun: the rerun
# executes app.py, whose st.navigation resolves the same page (page hashes come from url_path).
from streamlit.runtime.pages_manager import PagesManager  # noqa: E402

if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()


def lang() -> str:
    return normalise(st.session_state.get("lang"))


def tr(key: str, **kwargs: object) -> str:
    """Translate key into the language chosen in the sidebar."""
    return t(key, lang(), **kwargs)
