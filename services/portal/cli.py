"""`pim accounts …`: people's accounts, made, changed and disabled by an admin at the command line (the
operator's login, on the database); the same functions as the admin's page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from shared.auth import (
    ACCOUNT_ROLES,
    Account,
    AccountRefused,
    AccountRole,
    change_account,
    create_account,
    find_account,
    list_accounts,
    operator_name,
    record_access_change,
)
from shared.db import connect
from shared.operator_db import database_url

accounts = typer.Typer(help="People's accounts for the web pages: add, list, change, disable.", no_args_is_help=True)
console = Console(width=None if Console().is_terminal else 150)
T = TypeVar("T")


async def _with_connection(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    conn = await connect(database_url())
    try:
        return await work(conn)
    finally:
        await conn.close()


def _run(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    try:
        return asyncio.run(_with_connection(work))
    except AccountRefused as refused:
        raise typer.BadParameter(str(refused)) from None


async def _by_email(conn: asyncpg.Connection, email: str) -> Account:
    found = await find_account(conn, email)
    if found is None:
        raise AccountRefused(f"no account with e-mail {email}")
    return found


def _role(value: str) -> AccountRole:
    if value not in ACCOUNT_ROLES:
        raise typer.BadParameter(f"role is one of {', '.join(ACCOUNT_ROLES)}")
    return value


@accounts.command("add")
def add(
    email: Annotated[str, typer.Argument(help="the person's e-mail: what they sign in with")],
    name: Annotated[str, typer.Option(help="full name, with diacritics")],
    role: Annotated[str, typer.Option(help=" | ".join(ACCOUNT_ROLES))],
    unit: Annotated[
        list[str] | None, typer.Option(help="a unit they act for (repeat); units below it included")
    ] = None,
    everywhere: Annotated[bool, typer.Option(help="the whole country, units registered later included")] = False,
    leader_id: Annotated[str | None, typer.Option(help="a head's leader record (tenures)")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Make an account; the password is asked for (never shown)."""

    async def work(conn: asyncpg.Connection) -> Account:
        async with conn.transaction():
            account = await create_account(conn, email, name, _role(role), unit or [], everywhere, leader_id, password)
            await record_access_change(conn, await operator_name(conn, "pim accounts add"), "account_made",
                                       account.email, role=role, units=unit or [], everywhere=everywhere)  # fmt: skip
        return account

    made = _run(work)
    console.print(f"Account {made.email} ({made.role}) made — đã tạo tài khoản.")


@accounts.command("list")
def list_command() -> None:
    """Every account: e-mail, name, role, scope, whether disabled."""
    table = Table("e-mail", "name", "role", "acts for", "disabled")
    for account in _run(list_accounts):
        scope = "whole country / cả nước" if account.everywhere else ", ".join(account.units) or "—"
        table.add_row(account.email, account.name, account.role, scope, "yes" if account.disabled else "")
    console.print(table)


@accounts.command("change")
def change(
    email: Annotated[str, typer.Argument()],
    role: Annotated[str | None, typer.Option(help=" | ".join(ACCOUNT_ROLES))] = None,
    unit: Annotated[list[str] | None, typer.Option(help="the units they act for, replacing the old (repeat)")] = None,
    everywhere: Annotated[bool | None, typer.Option("--everywhere/--named-units")] = None,
    disable: Annotated[bool | None, typer.Option("--disable/--enable")] = None,
    new_password: Annotated[bool, typer.Option("--password", help="ask for a new password")] = False,
) -> None:
    """Change an account's role, units or scope, disable or enable it, or set a new password."""
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True) if new_password else None

    async def work(conn: asyncpg.Connection) -> Account:
        account = await _by_email(conn, email)
        async with conn.transaction():
            changed = await change_account(
                conn,
                account.account_id,
                role=_role(role) if role else None,
                units=unit,
                everywhere=everywhere,
                disabled=disable,
                password=password,
            )
            await record_access_change(conn, await operator_name(conn, "pim accounts change"), "account_changed",
                                       changed.email, role=role, units=unit, everywhere=everywhere, disabled=disable,
                                       password_set=password is not None)  # fmt: skip
        return changed

    changed = _run(work)
    console.print(
        f"Account {changed.email} changed — đã cập nhật{' (disabled / đã khóa)' if changed.disabled else ''}."
    )
