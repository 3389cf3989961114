"""Who is acting, and what they may see and change: the one place ownership rules live.

Every scenario, training run, registered model and evaluation row has `owner` (a user id) and
`shared` (visible to the whole team). The rules, applied by every store query in core/:

| acting user              | sees                          | may change / delete / share |
|--------------------------|-------------------------------|-----------------------------|
| the owner                | the item                      | yes                         |
| anyone else              | the item only when shared     | no (read-only)              |
| an admin (OPPLAB_ADMINS) | every item                    | yes                         |

An item someone may not see is reported exactly like an item that does not exist ("not found"),
so ids cannot be probed. The user id is the e-mail from the sign-in provider (the OIDC `sub`
when the provider sends no e-mail), or the local user's name (`OPPLAB_USER`, default "local")
when the app runs without sign-in and for the CLI (`--user`).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import or_, true

from core.config import get_settings

USER_MAX = 254  # the longest e-mail address (RFC 5321 path limit)


@dataclass(frozen=True)
class Actor:
    user: str
    admin: bool = False

    def can_see(self, owner: str, shared: bool) -> bool:
        return self.admin or owner == self.user or bool(shared)

    def can_change(self, owner: str) -> bool:
        return self.admin or owner == self.user


def clean_user(user: object) -> str:
    """A user id as stored: NFC, trimmed, e-mails lower-cased, no control characters, ≤ 254 chars."""
    text = unicodedata.normalize("NFC", str(user or "")).strip()
    if "@" in text:
        text = text.lower()
    if not text or len(text) > USER_MAX or any(unicodedata.category(ch).startswith("C") for ch in text):
        raise ValueError(f"a user id must be 1-{USER_MAX} printable characters")
    return text


def actor_for(user: object) -> Actor:
    """The actor for a user id; admin when the id is in OPPLAB_ADMINS."""
    user = clean_user(user)
    return Actor(user=user, admin=user.lower() in get_settings().admins)


def local_actor() -> Actor:
    """The machine's user: the app without sign-in, the CLI without --user, training processes."""
    return actor_for(get_settings().local_user)


def from_claims(claims: dict) -> Actor:
    """The actor for a signed-in user's OIDC claims (st.user): e-mail, else the subject."""
    return actor_for(claims.get("email") or claims.get("sub"))


def resolve(actor: Actor | None) -> Actor:
    return actor if actor is not None else local_actor()


def visible(query, table, actor: Actor):
    """`query` restricted to the rows of `table` that `actor` may see."""
    if actor.admin:
        return query
    return query.where(or_(table.owner == actor.user, table.shared == true()))
