"""Sessions and sign-ins. A session is a random secret in a cookie, kept as its SHA-256 with the session's
form token (CSRF); it lasts `SESSION_LIFETIME` and ends when the person signs out. Sign-ins are recorded
(the audit) and counted: too many failures for one e-mail or from one client within `THROTTLE_WINDOW`
and further attempts are refused without checking the password."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import asyncpg

from shared.auth import Account, get_account

SESSION_LIFETIME = dt.timedelta(hours=8)  # a working day
THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5  # a person mistyping; more is someone guessing
MAX_FAILURES_PER_CLIENT = 20  # one address trying many e-mails


@dataclass(frozen=True)
class Session:
    account: Account
    csrf_token: str
    expires_at: dt.datetime


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def start_session(conn: asyncpg.Connection, account: Account) -> tuple[str, Session]:
    """A new session for `account`: the cookie's secret (shown once) and the session."""
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = await conn.fetchval(
        "INSERT INTO portal_sessions (session_hash, account_id, csrf_token, expires_at)"
        " VALUES ($1, $2, $3, now() + $4::interval) RETURNING expires_at",
        _hash(secret), account.account_id, csrf, SESSION_LIFETIME,
    )  # fmt: skip
    return secret, Session(account, csrf, expires_at)


async def session_of(conn: asyncpg.Connection, secret: str | None) -> Session | None:
    """The live session the cookie's secret opens: not ended, not expired, its account active."""
    if not secret:
        return None
    row = await conn.fetchrow(
        "SELECT account_id, csrf_token, expires_at FROM portal_sessions"
        " WHERE session_hash = $1 AND ended_at IS NULL AND expires_at > now()",
        _hash(secret),
    )
    if row is None:
        return None
    account = await get_account(conn, row["account_id"])
    if account is None or account.disabled:
        return None
    return Session(account, row["csrf_token"], row["expires_at"])


async def end_session(conn: asyncpg.Connection, secret: str) -> None:
    await conn.execute("UPDATE portal_sessions SET ended_at = now() WHERE session_hash = $1", _hash(secret))


def throttled(failures_for_email: int, failures_from_client: int) -> bool:
    """Whether a sign-in is refused before its password is even checked."""
    return failures_for_email >= MAX_FAILURES_PER_EMAIL or failures_from_client >= MAX_FAILURES_PER_CLIENT


async def recent_failures(conn: asyncpg.Connection, email: str, client: str) -> tuple[int, int]:
    """Failed sign-ins within the window: for the e-mail, and from the client."""
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE email = $1) AS for_email, count(*) FILTER (WHERE client = $2) AS from_client"
        " FROM portal_sign_ins WHERE outcome IN ('refused', 'throttled') AND at > now() - $3::interval"
        " AND (email = $1 OR client = $2)",
        email.strip().lower(), client, THROTTLE_WINDOW,
    )  # fmt: skip
    assert row is not None
    return row["for_email"], row["from_client"]


async def record_sign_in(
    conn: asyncpg.Connection, email: str, client: str, account_id: str | None, outcome: str, method: str = "password"
) -> None:
    await conn.execute(
        "INSERT INTO portal_sign_ins (email, client, account_id, outcome, method) VALUES ($1, $2, $3, $4, $5)",
        email.strip().lower(), client, account_id, outcome, method,
    )  # fmt: skip
