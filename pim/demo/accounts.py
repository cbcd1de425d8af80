"""Accounts to try the web pages with, one per role, on the sample: made (or given a new password) at each
`pim demo --serve`, and printed once. The portal's own token is made here too: the embedded default is the
operator's own machine."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import asyncpg

from shared.auth import (
    AccountRole,
    change_account,
    create_account,
    create_token,
    find_account,
    list_accounts,
    list_tokens,
    revoke_token,
)

PORTAL_TOKEN_NAME = "portal (embedded default)"


@dataclass(frozen=True)
class SampleAccount:
    role: AccountRole
    email: str
    name: str
    password: str


async def embedded_portal_token(conn: asyncpg.Connection) -> str:
    """A fresh token for the portal of this run; the previous run's is revoked."""
    for token in await list_tokens(conn):
        if token.name == PORTAL_TOKEN_NAME and token.revoked_at is None:
            await revoke_token(conn, token.token_id)
    return await create_token(conn, PORTAL_TOKEN_NAME, "portal")


async def sample_accounts(conn: asyncpg.Connection) -> list[SampleAccount]:
    """One account per role: a clerk of Lâm Đồng's finance department, a member of the central inspection
    committee (the whole country), Lâm Đồng's head (bound to the leader record the alerts name), a board
    member, an admin. Each gets a new random password."""
    head = await conn.fetchrow(
        "SELECT leader_id, leader_name FROM tenures WHERE unit_code = 'lam-dong' AND role = 'head'"
        " ORDER BY start_date DESC LIMIT 1"
    )
    wanted: list[tuple[AccountRole, str, str, list[str], bool, str | None]] = [
        ("clerk", "ketoan@lamdong.example.vn", "Nguyễn Thị Hoa", ["lam-dong"], False, None),
        ("committee", "kiemtra@ubkt.example.vn", "Trần Văn Kiểm", [], True, None),
        ("head", "lanhdao@lamdong.example.vn", head["leader_name"] if head else "Người đứng đầu", ["lam-dong"],
         False, head["leader_id"] if head else None),
        ("board", "bantochuc@example.vn", "Lê Thị Ban", [], True, None),  # the central board: all the country
        ("admin", "quantri@example.vn", "Phạm Quản Trị", [], False, None),
    ]  # fmt: skip
    made = []
    for role, email, name, units, everywhere, leader_id in wanted:
        password = secrets.token_urlsafe(9)
        if (existing := await find_account(conn, email)) is not None:
            await change_account(conn, existing.account_id, units=units, everywhere=everywhere, password=password,
                                 disabled=False)  # fmt: skip
        else:
            await create_account(conn, email, name, role, units, everywhere, leader_id, password)
        made.append(SampleAccount(role, email, name, password))
    return made


async def first_admin_account(conn: asyncpg.Connection) -> SampleAccount | None:
    """On a database with no account yet, an admin's, with a random password (shown once); else None."""
    if await list_accounts(conn):
        return None
    password = secrets.token_urlsafe(12)
    account = await create_account(conn, "quantri@localhost", "Quản trị / Administrator", "admin", password=password)
    return SampleAccount("admin", account.email, account.name, password)
