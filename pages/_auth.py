"""Who is using the app: Streamlit's own OIDC sign-in when `.streamlit/secrets.toml` has an
`[auth]` section, else the single local user (today's behaviour). Pages pass `me()` into every
core call that touches the store; core/owner.py decides what that user may see and change."""
from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from core import owner
from core.owner import Actor
from pages._shared import tr


def auth_enabled() -> bool:
    """True when secrets.toml has an [auth] section (no secrets file at all: the local tool)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, StreamlitSecretNotFoundError):
        return False


def me() -> Actor:
    """The acting user of this session. With sign-in, a signed-out session never gets here
    (app.py stops first); stop anyway rather than act as anyone."""
    if not auth_enabled():
        return owner.local_actor()
    if not st.user.get("is_logged_in"):
        st.stop()
    try:
        return owner.from_claims(st.user.to_dict())
    except ValueError:  # a provider that sends neither e-mail nor subject: refuse, never guess
        st.error(tr("team.no_identity"))
        st.stop()


def signed_out() -> bool:
    """Sign-in is configured and this session has not signed in."""
    return auth_enabled() and not st.user.get("is_logged_in")


def sign_in_gate() -> None:
    """With sign-in configured: a signed-out visitor sees only the sign-in button."""
    if not signed_out():
        return
    st.title(tr("app.title"))
    st.write(tr("team.sign_in.why"))
    st.button(tr("team.sign_in"), on_click=st.login, type="primary", icon=":material/login:", key="team_sign_in")
    st.stop()


def sidebar_account() -> None:
    """Who is signed in, whether they are an admin, and the sign-out button."""
    if not auth_enabled():
        return
    user = me()
    st.caption(tr("team.signed_in_as") + (" · " + tr("team.admin") if user.admin else ""))
    st.text(user.user)  # st.text: an e-mail is shown literally, never as Markdown
    st.button(tr("team.sign_out"), on_click=st.logout, icon=":material/logout:", key="team_sign_out")
