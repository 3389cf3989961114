"""Opportunity Lab: entry point. Page config, navigation over pages/, the sidebar."""
import streamlit as st

from core.i18n import LANGUAGES, normalise, t
from core.nav import PAGES
from core.store import StoreUnavailable
from pages._auth import sidebar_account, sign_in_gate, signed_out

st.set_page_config(page_title="Opportunity Lab", page_icon=":material/rocket_launch:", layout="wide")

# The language lives in session state and is mirrored into the URL (?lang=zh), so a shared link
# opens in the same language and the choice survives page switches and reloads.
if "lang" not in st.session_state:
    st.session_state.lang = normalise(st.query_params.get("lang"))
lang = st.session_state.lang

sections: dict[str, list] = {}
for spec in PAGES:
    page = st.Page(
        spec.path,
        title=t(spec.title_key, lang),
        icon=spec.icon,
        url_path=spec.url_path,
        default=spec.default,
        help=t(spec.title_key + ".help", lang),
    )
    sections.setdefault(t(spec.section_key, lang), []).append(page)
# With [auth] in .streamlit/secrets.toml, a signed-out visitor gets the sign-in button and nothing
# else (navigation is still declared, hidden, so every URL resolves to this gate).
current = st.navigation(sections, position="hidden" if signed_out() else "sidebar")
sign_in_gate()


def _store_down(exc: StoreUnavailable) -> None:
    # The database is unreachable: say so where the page would be; the next rerun tries again.
    st.error(t("common.store_down", lang, reason=str(exc)), icon=":material/cloud_off:")


with st.sidebar:
    st.selectbox("Language / 语言", options=list(LANGUAGES), format_func=LANGUAGES.get, key="lang")
    sidebar_account()
    from pages._demos import sidebar_model_picker  # model picker, on the demo pages only

    try:
        sidebar_model_picker(current.url_path)
    except StoreUnavailable as exc:
        _store_down(exc)
st.query_params["lang"] = st.session_state.lang

try:
    current.run()
except StoreUnavailable as exc:
    _store_down(exc)
