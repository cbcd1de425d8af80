"""API tokens and what they allow.

A token is `pim_<id>_<secret>`: the id finds the row, the secret is checked against its SHA-256 (the
secret is 256 random bits, so a slow password hash buys nothing). The token is shown once, at creation.
A department token acts for its units and everything below them; an admin token for everything,
including the registry and targets. A board token reads the board pack only: of every group, or of the
groups whose members all lie within its units.

People have accounts (`Account`): a password hashed with Argon2, a role and the units (or the whole
country) they act for. The portal signs them in and calls the services' APIs with its own token ('portal')
and the account it acts for (`ACCOUNT_HEADER`): the services then see that person, with that person's
role and scope, and record their actions under that person's name.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TokenRole = Literal["admin", "department", "committee", "board", "portal"]
PrincipalRole = Literal["admin", "department", "committee", "board", "head"]
AccountRole = Literal["clerk", "committee", "head", "board", "admin"]
ACCOUNT_ROLES: tuple[AccountRole, ...] = ("clerk", "committee", "head", "board", "admin")
# What each person's role may do through the APIs: a clerk reports as a department does.
PRINCIPAL_OF: dict[AccountRole, PrincipalRole] = {
    "clerk": "department", "committee": "committee", "head": "head", "board": "board", "admin": "admin",
}  # fmt: skip
ACCOUNT_HEADER = "X-PIM-Account"  # from the portal's token only: the account it acts for
PREFIX = "pim"
_hasher = PasswordHasher()  # Argon2id, the library's parameters (RFC 9106's second recommendation)
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class Principal:
    name: str
    role: PrincipalRole | TokenRole
    units: tuple[str, ...]
    everywhere: bool = False  # the whole country, units registered later included
    account_id: str | None = None  # a person signed in through the portal
    leader_id: str | None = None  # a head: the leader record the alerts name

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Account:
    account_id: str
    email: str
    name: str
    role: AccountRole
    units: tuple[str, ...]
    everywhere: bool
    leader_id: str | None
    disabled: bool

    def principal(self) -> Principal:
        """Who the services see when the portal acts for this person: their name and e-mail, their scope."""
        return Principal(f"{self.name} <{self.email}>", PRINCIPAL_OF[self.role], self.units, self.everywhere,
                         self.account_id, self.leader_id)  # fmt: skip


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
    if role not in ("admin", "board", "portal") and not units:  # a board token without units reads every group
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


async def record_access_change(conn: asyncpg.Connection, by: str, action: str, subject: str, **detail: object) -> None:
    """Who gave or took away access (`access_changes`, append-only): `action` is account_made,
    account_changed, token_made or token_revoked; `subject` the account's e-mail or the token's id."""
    await conn.execute(
        "INSERT INTO access_changes (by_whom, action, subject, detail) VALUES ($1, $2, $3, $4)",
        by, action, subject, detail,
    )  # fmt: skip


async def operator_name(conn: asyncpg.Connection, command: str) -> str:
    """How a change made with the CLI is signed: the database login that made it, and the command."""
    login: str = await conn.fetchval("SELECT current_user")
    return f"operator {login} ({command})"


async def authenticate_for(conn: asyncpg.Connection, token: str, account_id: str | None) -> Principal:
    """The token's principal; the portal's token acts only for the active account it names."""
    principal = await authenticate(conn, token)
    if principal.role != "portal":
        if account_id is not None:
            raise Unauthenticated(f"only the portal's token may act for a person ({ACCOUNT_HEADER})")
        return principal
    if account_id is None:
        raise Unauthenticated(f"the portal's token acts only for a signed-in person ({ACCOUNT_HEADER})")
    account = await get_account(conn, account_id)
    if account is None or account.disabled:
        raise Unauthenticated("no such active account")
    return account.principal()


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
    if principal.is_admin or principal.everywhere:
        return None
    rows = await conn.fetch(
        "WITH RECURSIVE scope AS ("
        " SELECT unnest($1::text[]) AS unit_code"
        " UNION SELECT c.unit_code FROM unit_hierarchy c JOIN scope s ON c.parent_code = s.unit_code)"
        " SELECT unit_code FROM scope",
        list(principal.units),
    )
    return {r["unit_code"] for r in rows}


class AccountRefused(ValueError):
    """An account that cannot be made or changed as asked; the message says why."""


_ACCOUNT_COLUMNS = "account_id, email, name, role, units, everywhere, leader_id, disabled_at IS NOT NULL AS disabled"


def _account(row: asyncpg.Record) -> Account:
    return Account(row["account_id"], row["email"], row["name"], row["role"], tuple(row["units"]), row["everywhere"],
                   row["leader_id"], row["disabled"])  # fmt: skip


def _check_scope(role: AccountRole, units: Sequence[str], everywhere: bool) -> None:
    if role not in ACCOUNT_ROLES:
        raise AccountRefused(f"role is one of {', '.join(ACCOUNT_ROLES)}")
    if role in ("clerk", "committee", "head") and not units and not everywhere:
        raise AccountRefused(f"a {role} acts for units: name at least one, or the whole country")
    if role == "clerk" and everywhere:
        raise AccountRefused("a clerk reports for named units, not for the whole country")


def _hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountRefused(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


async def create_account(
    conn: asyncpg.Connection, email: str, name: str, role: AccountRole, units: Sequence[str] = (),
    everywhere: bool = False, leader_id: str | None = None, password: str | None = None,
) -> Account:  # fmt: skip
    """Make an account; refused (naming why) for a taken e-mail, a scope its role cannot have, or a short
    password. Without a password the person signs in through OpenID Connect."""
    _check_scope(role, units, everywhere)
    if "@" not in email:
        raise AccountRefused(f"{email!r} is not an e-mail address")
    secret = None if password is None else _hash_password(password)
    try:
        row = await conn.fetchrow(
            "INSERT INTO accounts (account_id, email, name, role, units, everywhere, leader_id, password_hash)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_ACCOUNT_COLUMNS}",
            secrets.token_hex(8), email.strip(), name.strip(), role, list(units), everywhere, leader_id, secret,
        )  # fmt: skip
    except asyncpg.UniqueViolationError:
        raise AccountRefused(f"an account with e-mail {email} exists") from None
    assert row is not None
    return _account(row)


async def change_account(
    conn: asyncpg.Connection, account_id: str, *, role: AccountRole | None = None, units: Sequence[str] | None = None,
    everywhere: bool | None = None, disabled: bool | None = None, password: str | None = None,
) -> Account:  # fmt: skip
    """Change what is given; the rest stays."""
    current = await get_account(conn, account_id)
    if current is None:
        raise AccountRefused(f"no account {account_id}")
    new_role = role or current.role
    new_units = tuple(units) if units is not None else current.units
    new_everywhere = current.everywhere if everywhere is None else everywhere
    _check_scope(new_role, new_units, new_everywhere)
    row = await conn.fetchrow(
        "UPDATE accounts SET role = $2, units = $3, everywhere = $4, changed_at = now(),"
        " disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at WHEN $5 THEN coalesce(disabled_at, now()) END,"
        " password_hash = coalesce($6, password_hash)"
        f" WHERE account_id = $1 RETURNING {_ACCOUNT_COLUMNS}",
        account_id, new_role, list(new_units), new_everywhere, disabled,
        None if password is None else _hash_password(password),
    )  # fmt: skip
    assert row is not None
    return _account(row)


async def get_account(conn: asyncpg.Connection, account_id: str) -> Account | None:
    row = await conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE account_id = $1", account_id)
    return None if row is None else _account(row)


async def list_accounts(conn: asyncpg.Connection) -> list[Account]:
    return [_account(r) for r in await conn.fetch(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY lower(email)")]


async def check_password(conn: asyncpg.Connection, email: str, password: str) -> Account | None:
    """The active account with this e-mail and password, else None. An unknown e-mail costs a hash too, so
    the answer's time does not say which e-mails exist."""
    row = await conn.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE lower(email) = lower($1)", email.strip()
    )
    stored = row["password_hash"] if row is not None else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or stored is None or row["disabled"]:
        return None
    return _account(row)


@functools.cache
def _dummy_hash() -> str:
    """A hash to check an unknown e-mail's password against: made on the first sign-in, not at import."""
    return _hasher.hash(secrets.token_urlsafe(16))


async def find_account(conn: asyncpg.Connection, email: str) -> Account | None:
    row = await conn.fetchrow(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE lower(email) = lower($1)", email.strip())
    return None if row is None else _account(row)
