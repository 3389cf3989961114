"""Small Streamlit helpers shared by the pages (UI only; logic lives in core/)."""
from __future__ import annotations

import streamlit as st

from core.i18n import normalise, t


def lang() -> str:
    return normalise(st.session_state.get("lang"))


def tr(key: str, **kwargs: object) -> str:
    """Translate key into the language chosen in the sidebar."""
    return t(key, lang(), **kwargs)
