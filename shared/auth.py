"""API tokens and what they allow.

A token is `pim_<id>_<secret>`: the id finds the row, the secret is checked against its SHA-256 (the
secret is 256 random bits, so a slow password hash buys nothing). The token is shown once, at creation.
A department token acts for its units and everything below them; an admin token for everything,
including the registry and targets. A board token reads the board pack only: of every group, or of the
groups whose members all lie within its units.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import asyncpg

TokenRole = Literal["admin", "department", "committee", "board"]
PREFIX = "pim"


@dataclass(frozen=True)
class Principal:
    name: str
    role: TokenRole
    units: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    name: str
    role: TokenRole
    units: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class Unauthenticated(Exception):
    pass


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def create_token(conn: asyncpg.Connection, name: str, role: TokenRole, units: Sequence[str] = ()) -> str:
    """Create a token and return it; it cannot be shown again."""
    if role not in ("admin", "board") and not units:  # a board token without units reads every group
        raise ValueError(f"a {role} token needs at least one unit in its scope")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO api_tokens (token_id, name, secret_hash, role, units) VALUES ($1, $2, $3, $4, $5)",
        token_id,
        name,
        _hash(secret),
        role,
        list(units),
    )
    return f"{PREFIX}_{token_id}_{secret}"


async def list_tokens(conn: asyncpg.Connection) -> list[TokenInfo]:
    rows = await conn.fetch(
        "SELECT token_id, name, role, units, created_at, revoked_at FROM api_tokens ORDER BY created_at"
    )
    return [
        TokenInfo(r["token_id"], r["name"], r["role"], tuple(r["units"]), r["created_at"], r["revoked_at"])
        for r in rows
    ]


async def revoke_token(conn: asyncpg.Connection, token_id: str) -> bool:
    status = await conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE token_id = $1 AND revoked_at IS NULL", token_id
    )
    return bool(status.endswith(" 1"))


async def authenticate(conn: asyncpg.Connection, token: str) -> Principal:
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != PREFIX or not token_id or not secret:
        raise Unauthenticated("malformed token")
    row = await conn.fetchrow(
        "SELECT name, secret_hash, role, units, revoked_at FROM api_tokens WHERE token_id = $1", token_id
    )
    if row is None or not hmac.compare_digest(bytes(row["secret_hash"]), _hash(secret)):
        raise Unauthenticated("unknown token")
    if row["revoked_at"] is not None:
        raise Unauthenticated("revoked token")
    return Principal(row["name"], row["role"], tuple(row["units"]))


async def units_in_scope(conn: asyncpg.Connection, principal: Principal) -> set[str] | None:
    """The units `principal` may report for: its units and all below them. None means all (admin)."""
    if principal.is_admin:
        return None
    rows = await conn.fetch(
        "WITH RECURSIVE scope AS ("
        " SELECT unnest($1::text[]) AS unit_code"
        " UNION SELECT c.unit_code FROM unit_hierarchy c JOIN scope s ON c.parent_code = s.unit_code)"
        " SELECT unit_code FROM scope",
        list(principal.units),
    )
    return {r["unit_code"] for r in rows}
