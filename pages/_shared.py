"""Small Streamlit helpers shared by the pages (UI only; logic lives in core/)."""
from __future__ import annotations

import streamlit as st

from core.i18n import normalise, t

# Streamlit starts every server process in "pages/ directory" (MPA v1) mode until app.py has called
# st.navigation once: `PagesManager.uses_pages_directory` is set when a pages/ folder sits next to
# the main script, and the pinned Streamlit (1.67) has no setting to turn that off (the user's
# layout keeps the name pages/). If the first visitor of a fresh server opens a deep link such as
# /explorer, Streamlit runs pages/explorer.py directly (its v1 URL is the file's stem, which is why
# page files are named after their url_path), app.py never runs and the process would stay in v1
# mode (wrong sidebar, no page config, no language switch). This is the one place that touches the
# private flag: leave v1 mode and rerun, so app.py's st.navigation resolves the same page.
from streamlit.runtime.pages_manager import PagesManager  # noqa: E402
from streamlit.runtime.scriptrunner import get_script_run_ctx  # noqa: E402


def leave_pages_directory_mode() -> bool:
    """Switch this process to st.navigation's mode; True if it was in pages-directory mode."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        return True
    return False


if leave_pages_directory_mode() and get_script_run_ctx() is not None:  # not when a test imports it
    st.rerun()


def lang() -> str:
    return normalise(st.session_state.get("lang"))


def tr(key: str, **kwargs: object) -> str:
    """Translate key into the language chosen in the sidebar."""
    return t(key, lang(), **kwargs)
