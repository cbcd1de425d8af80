"""Signed action links: what a notification lets one person do about one alert without signing in.

The alerts service writes them into each person's e-mail; the web pages read them. A link names its person
(the account), its alert (the fingerprint), its one purpose and its expiry, signed with the secret both
services hold (PIM_ACTION_LINK_SECRET): changing any of them breaks the signature. Its id is derived from the
notification and the person, so every copy of one e-mail (a re-delivery) carries the same id and one use
spends them all. The pages record each use (`portal_action_link_uses`), and refuse a link used, expired or
tampered with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Literal, get_args

from itsdangerous import BadSignature, URLSafeSerializer

Purpose = Literal["open", "acknowledge", "explain"]
PURPOSES: tuple[Purpose, ...] = get_args(Purpose)
_SALT = "pim-action-link"  # a signature made for anything else with the same secret is not a link


class LinkRefused(ValueError):
    """A link that opens nothing; `reason` says which of tampered, expired or used."""

    def __init__(self, reason: Literal["tampered", "expired", "used", "elsewhere"]) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ActionLink:
    link_id: str
    account_id: str
    fingerprint: str
    purpose: Purpose
    expires_at: dt.datetime


def link_id(notification_key: str, account_id: str, purpose: Purpose) -> str:
    """The same for every copy of one notification's link to one person for one purpose."""
    return hashlib.sha256(f"{notification_key}\n{account_id}\n{purpose}".encode()).hexdigest()[:32]


def sign(secret: str, link: ActionLink) -> str:
    """The link's token, for the address `/act/<token>`."""
    payload = [link.link_id, link.account_id, link.fingerprint, link.purpose, int(link.expires_at.timestamp())]
    return URLSafeSerializer(secret, salt=_SALT).dumps(payload)


def read(secret: str, token: str, now: dt.datetime) -> ActionLink:
    """The link a token carries; LinkRefused when it was not signed with `secret` or has expired."""
    try:
        payload = URLSafeSerializer(secret, salt=_SALT).loads(token)
        link_id_, account_id, fingerprint, purpose, expires = payload
        if purpose not in PURPOSES or not isinstance(expires, int):
            raise ValueError(purpose)
    except (BadSignature, ValueError, TypeError):
        raise LinkRefused("tampered") from None
    link = ActionLink(link_id_, account_id, fingerprint, purpose, dt.datetime.fromtimestamp(expires, dt.UTC))
    if now >= link.expires_at:
        raise LinkRefused("expired")
    return link
