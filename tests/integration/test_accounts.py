"""People's accounts: Argon2 passwords, scopes a role can have, and the portal's token acting for the person
it names, whose name the event log then records."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from shared.auth import ACCOUNT_HEADER, AccountRefused, change_account, check_password, create_account, create_token
from shared.settings import Settings
from tests.integration.ingest_fixtures import Ingest, disbursement

pytestmark = pytest.mark.postgres
PASSWORD = "mật-khẩu-đủ-dài"


async def test_a_password_is_kept_as_an_argon2_hash_and_checked(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        made = await create_account(conn, "clerk@lamdong.gov.vn", "Nguyễn Thị Hoa", "clerk", ["lam-dong"],
                                    password=PASSWORD)  # fmt: skip
        stored = await conn.fetchval("SELECT password_hash FROM accounts WHERE account_id = $1", made.account_id)
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        assert await check_password(conn, "CLERK@lamdong.gov.vn", PASSWORD) == made  # e-mail in any case
        assert await check_password(conn, "clerk@lamdong.gov.vn", PASSWORD + "x") is None
        assert await check_password(conn, "nobody@lamdong.gov.vn", PASSWORD) is None
        await change_account(conn, made.account_id, disabled=True)
        assert await check_password(conn, "clerk@lamdong.gov.vn", PASSWORD) is None  # disabled: no way in


@pytest.mark.parametrize(
    ("role", "units", "everywhere", "password", "why"),
    [
        ("clerk", [], False, PASSWORD, "acts for units"),
        ("clerk", [], True, PASSWORD, "not for the whole country"),
        ("committee", ["lam-dong"], False, "ngắn", "at least 10 characters"),
        ("wizard", ["lam-dong"], False, PASSWORD, "role is one of"),
    ],
)
async def test_an_account_its_role_cannot_have_is_refused_saying_why(
    pool: asyncpg.Pool, role: str, units: list[str], everywhere: bool, password: str, why: str
) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(AccountRefused, match=why):
            await create_account(conn, "x@example.vn", "X", role, units, everywhere, password=password)  # type: ignore[arg-type]


async def test_the_portal_acts_for_the_person_it_names_and_the_log_says_who(ingest: Ingest) -> None:
    async with ingest.pool.acquire() as conn:
        portal = await create_token(conn, "portal", "portal")
        clerk = await create_account(conn, "hoa@lamdong.gov.vn", "Nguyễn Thị Hoa", "clerk", ["lam-dong"],
                                     password=PASSWORD)  # fmt: skip
        committee = await create_account(conn, "ubkt@tw.gov.vn", "Trần Văn Kiểm", "committee", everywhere=True,
                                         password=PASSWORD)  # fmt: skip
    bearer = {"Authorization": f"Bearer {portal}"}
    as_clerk = bearer | {ACCOUNT_HEADER: clerk.account_id}
    stored = await ingest.figures(disbursement("da-lat"), headers=as_clerk)
    assert stored.status_code == 201, stored.text
    async with ingest.pool.acquire() as conn:
        who = await conn.fetchval("SELECT submitted_by FROM events ORDER BY position DESC LIMIT 1")
    assert who == "Nguyễn Thị Hoa <hoa@lamdong.gov.vn>"  # the person, not the portal
    outside = await ingest.figures(disbursement("hue"), headers=as_clerk)
    assert outside.status_code == 403 and "outside the scope of Nguyễn Thị Hoa" in outside.text, outside.text
    alone = await ingest.figures(disbursement(), headers=bearer)
    assert alone.status_code == 401 and "signed-in person" in alone.json()["detail"]
    borrowed = await ingest.figures(disbursement(), headers=ingest.lam_dong | {ACCOUNT_HEADER: clerk.account_id})
    assert borrowed.status_code == 401 and "only the portal" in borrowed.json()["detail"]
    reporting = await ingest.figures(disbursement(), headers=bearer | {ACCOUNT_HEADER: committee.account_id})
    assert reporting.status_code == 403  # a committee member reports no figures
    async with ingest.pool.acquire() as conn:
        await change_account(conn, clerk.account_id, disabled=True)
    assert (await ingest.figures(disbursement(as_of="2025-07-31"), headers=as_clerk)).status_code == 401


async def test_an_admin_makes_changes_and_disables_accounts_at_the_command_line(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    env = os.environ | {"DATABASE_URL": str(settings.database_url)}
    pim = str(Path(sys.executable).with_name("pim"))

    def run(*args: str, typed: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([pim, "accounts", *args], env=env, input=typed, capture_output=True, text=True,
                              timeout=60, check=False)  # fmt: skip

    added = await asyncio.to_thread(run, "add", "lan@ubkt-lamdong.vn", "--name", "Võ Thị Lan", "--role", "committee",
                                    "--unit", "lam-dong", typed=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    async with pool.acquire() as conn:
        assert await check_password(conn, "lan@ubkt-lamdong.vn", PASSWORD) is not None
    refused = await asyncio.to_thread(run, "add", "x@y.vn", "--name", "X", "--role", "clerk", typed="0123456789\n" * 2)
    assert refused.returncode != 0 and "acts for units" in refused.stdout + refused.stderr
    changed = await asyncio.to_thread(run, "change", "lan@ubkt-lamdong.vn", "--everywhere", "--disable")
    assert changed.returncode == 0, changed.stderr
    listed = await asyncio.to_thread(run, "list")
    assert "Võ Thị Lan" in listed.stdout and "whole country" in listed.stdout
    async with pool.acquire() as conn:
        assert await check_password(conn, "lan@ubkt-lamdong.vn", PASSWORD) is None  # disabled
    portal = await asyncio.to_thread(
        subprocess.run, [pim, "tokens", "create", "portal", "--role", "portal"], env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert portal.returncode == 0, portal.stderr  # the README's one command for the pages' token
    async with pool.acquire() as conn:
        login = await conn.fetchval("SELECT current_user")
        changes = [(r["by_whom"], r["action"], r["subject"]) for r in await conn.fetch(
            "SELECT * FROM access_changes ORDER BY id")]  # fmt: skip
    token_id = portal.stdout.strip().splitlines()[-1].split("_")[1]
    assert changes == [
        (f"operator {login} (pim accounts add)", "account_made", "lan@ubkt-lamdong.vn"),
        (f"operator {login} (pim accounts change)", "account_changed", "lan@ubkt-lamdong.vn"),
        (f"operator {login} (pim tokens create)", "token_made", token_id),
    ]  # who gave access, when: the refused one left nothing
