"""Signing in through the province's OpenID Connect provider, in Debian's headless Chromium: a local
provider (oidc-provider-mock: discovery, authorization code with PKCE, signed ID tokens) vouches for an
e-mail; the PIM account with that e-mail is signed in, with its own role and units. An e-mail without an
account, a disabled account, an unverified e-mail and a refusal at the provider open nothing."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import oidc_provider_mock
import pytest
from playwright.async_api import Browser, Page, async_playwright

from services.ingest.bootstrap import create_app
from services.portal import Services, SingleSignOn, create_portal_app
from shared.auth import change_account, create_account, create_token, find_account
from tests.integration.ingest_fixtures import projector_client
from tests.integration.receivers import serving

pytestmark = pytest.mark.postgres
TODAY = dt.date(2025, 11, 15)
UNITS = [{"unit_code": "lam-dong", "name": "Tỉnh Lâm Đồng", "level": "province", "committee": "UBKT Tỉnh ủy Lâm Đồng"}]


@dataclass
class Province:
    issuer: str
    portal: str
    browser: Browser
    pool: asyncpg.Pool

    async def person(self, sub: str, claims: dict[str, object]) -> None:
        async with httpx.AsyncClient() as client:
            assert (await client.put(f"{self.issuer}/users/{sub}", json=claims)).status_code == 204

    async def sign_in_as(self, sub: str, start: str = "/clerk", deny: bool = False) -> Page:
        page = await (await self.browser.new_context(locale="vi-VN")).new_page()
        await page.goto(self.portal + start)
        await page.get_by_role("link", name="Đăng nhập một lần của tỉnh / the province's single sign-on").click()
        await page.wait_for_load_state()
        assert page.url.startswith(self.issuer)  # at the provider, which asks who signs in
        if deny:
            await page.get_by_role("button", name="Deny").click()
        else:
            await page.locator("input[name=sub]").fill(sub)
            await page.get_by_role("button", name="Authorize").click()
        await page.wait_for_load_state()
        return page


@pytest.fixture
async def province(pool: asyncpg.Pool) -> AsyncIterator[Province]:
    chromium = shutil.which("chromium")
    assert chromium is not None, "make test installs Debian's chromium"
    async with pool.acquire() as conn:
        admin, token = await create_token(conn, "admin", "admin"), await create_token(conn, "portal", "portal")
        await create_account(conn, "hoa@lamdong.gov.vn", "Nguyễn Thị Hoa", "clerk", ["lam-dong"])  # no password
    with oidc_provider_mock.run_server_in_thread() as provider:
        issuer = f"http://localhost:{provider.server_port}"
        ingest_app = create_app(pool, clock=lambda: TODAY)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ingest_app), base_url="http://i") as ingest:
            added = await ingest.post("/v1/units", json={"units": UNITS}, headers={"Authorization": f"Bearer {admin}"})
            assert added.status_code == 201
            sso = SingleSignOn(issuer, "pim-portal", "pim-client-secret-2025", "khoa-ky-trang-thai-cua-pim")
            app = create_portal_app(
                pool, Services(ingest, token, None, projector_client(pool)), today=lambda: TODAY, sso=sso
            )
            async with serving(app) as url, async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                try:
                    yield Province(issuer, url.replace("127.0.0.1", "localhost"), browser, pool)
                finally:
                    await browser.close()


async def test_the_provider_vouches_for_an_email_and_its_pim_account_is_signed_in(province: Province) -> None:
    await province.person("hoa.nt", {"email": "hoa@lamdong.gov.vn", "email_verified": True, "name": "Hoa"})
    page = await province.sign_in_as("hoa.nt")
    assert page.url == province.portal + "/clerk"  # back where the link pointed, signed in
    assert "Nguyễn Thị Hoa — Cán bộ tài chính" in await page.locator("header").inner_text()  # PIM's account
    assert "Tỉnh Lâm Đồng" in await page.locator("main").inner_text()
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert (cookies["pim_session"]["httpOnly"], cookies["pim_session"]["secure"]) == (True, True)
    async with province.pool.acquire() as conn:
        audit = await conn.fetchrow("SELECT email, outcome, method FROM portal_sign_ins ORDER BY at DESC LIMIT 1")
    assert tuple(audit) == ("hoa@lamdong.gov.vn", "signed_in", "oidc")


async def test_no_account_a_disabled_one_an_unverified_email_or_a_denial_opens_nothing(province: Province) -> None:
    await province.person("la", {"email": "nguoi.la@example.vn", "email_verified": True})
    page = await province.sign_in_as("la")
    assert "nguoi.la@example.vn has no PIM account" in await page.locator("main").inner_text()
    await province.person("chua", {"email": "hoa@lamdong.gov.vn", "email_verified": False})
    page = await province.sign_in_as("chua")
    assert "the provider has not verified this e-mail" in await page.locator("main").inner_text()
    page = await province.sign_in_as("", deny=True)
    assert "the provider refused: access_denied" in await page.locator("main").inner_text()
    async with province.pool.acquire() as conn:
        account = await find_account(conn, "hoa@lamdong.gov.vn")
        assert account is not None
        await change_account(conn, account.account_id, disabled=True)
    await province.person("hoa.nt", {"email": "hoa@lamdong.gov.vn", "email_verified": True})
    page = await province.sign_in_as("hoa.nt")
    assert "has no PIM account, or it is disabled" in await page.locator("main").inner_text()
    assert not [c for c in await page.context.cookies() if c["name"] == "pim_session"]
