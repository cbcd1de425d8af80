"""People's accounts: Argon2 passwords, scopes a role can have, and the portal's token acting for the person
it names, whose name the event log then records."""

from __future__ import annotations

import asyncpg
import pytest

from shared.auth import ACCOUNT_HEADER, AccountRefused, change_account, check_password, create_account, create_token
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
