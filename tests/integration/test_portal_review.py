"""The review loop in the web pages, in Debian's headless Chromium: a committee member asks Đà Lạt's head
to explain an alert; the head signs in, finds the request with its due date, ticks the causes, writes the
explanation and a commitment; the member reads it on the alert's page and concludes with a typed outcome.
Another head cannot open the request; a clerk of the unit can answer on the head's behalf."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import unquote

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from services.alerts.api import create_alerts_app
from services.ingest.bootstrap import create_app
from services.portal import Services, create_portal_app
from shared.auth import create_account, create_token
from shared.settings import Settings
from tests.integration.alert_fixtures import API_REGISTRY, DISB, Clock, Facts, alerts_service
from tests.integration.explain_form import SITE_CLEARANCE, send_explanation
from tests.integration.ingest_fixtures import projector_client
from tests.integration.receivers import serving

pytestmark = pytest.mark.postgres
TODAY = dt.date(2025, 5, 5)
PASSWORD = "mật-khẩu-của-Hà-2025"
THEIRS = f"da-lat/{DISB}/below_pace/2025"


@dataclass
class Pages:
    url: str
    browser: Browser
    pool: asyncpg.Pool

    async def signed_in(self, email: str, start: str = "/") -> Page:
        page = await (await self.browser.new_context(locale="vi-VN")).new_page()
        await page.goto(self.url + start)
        await page.get_by_label("E-mail").fill(email)
        await page.get_by_label("Mật khẩu / Password").fill(PASSWORD)
        await page.get_by_role("button", name="Đăng nhập / Sign in").click()
        await page.wait_for_load_state()
        return page


@pytest.fixture
async def pages(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Pages]:
    chromium = shutil.which("chromium")
    assert chromium is not None, "make test installs Debian's chromium"
    facts, clock = Facts(pool), Clock(TODAY)
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.report("da-lat", 3, 60)
    await service.sweep()
    async with pool.acquire() as conn:
        token, admin = await create_token(conn, "portal", "portal"), await create_token(conn, "admin", "admin")
        await create_account(conn, "lan@ubkt-lamdong.vn", "Võ Thị Lan", "committee", ["lam-dong"], password=PASSWORD)
        await create_account(conn, "ha@dalat.gov.vn", "Trần Thị Hà", "head", ["da-lat"], leader_id="L3",
                             password=PASSWORD)  # fmt: skip
        await create_account(conn, "tu@lamdong.gov.vn", "Nguyễn Ngọc Tú", "head", ["lam-dong"], leader_id="L1",
                             password=PASSWORD)  # fmt: skip
        await create_account(conn, "ketoan@dalat.gov.vn", "Lê Văn Toán", "clerk", ["da-lat"], password=PASSWORD)
    ingest_app, alerts_app = create_app(pool, clock=lambda: TODAY), create_alerts_app(pool, service)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=ingest_app), base_url="http://ingest") as ingest,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=alerts_app), base_url="http://alerts") as alerts,
    ):
        added = await ingest.post(
            "/v1/units", json={"units": API_REGISTRY}, headers={"Authorization": f"Bearer {admin}"}
        )
        assert added.status_code == 201, added.text
        app = create_portal_app(pool, Services(ingest, token, alerts, projector_client(pool)), today=lambda: TODAY)
        async with serving(app) as url, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                yield Pages(url.replace("127.0.0.1", "localhost"), browser, pool)
            finally:
                await browser.close()


async def _ask(pages: Pages) -> Page:
    member = await pages.signed_in("lan@ubkt-lamdong.vn", f"/committee/alert?fingerprint={THEIRS}")
    assert unquote(member.url).endswith(f"/committee/alert?fingerprint={THEIRS}")  # the e-mail's link, signed in
    await member.get_by_label("Nội dung yêu cầu / What to explain").fill("Giải trình nguyên nhân chậm giải ngân")
    await member.get_by_role("button", name="Yêu cầu giải trình / Ask for an explanation").click()
    await member.wait_for_load_state()
    assert "Hạn / Due\n12/05/2025" in await member.locator("#review").inner_text()  # five working days
    return member


async def test_the_committee_asks_the_head_explains_and_the_committee_concludes(pages: Pages) -> None:
    member = await _ask(pages)
    other = await pages.signed_in("tu@lamdong.gov.vn", f"/head/explain?fingerprint={THEIRS}")
    assert "no such explanation asked of you" in await other.locator("main").inner_text()  # another head's

    head = await pages.signed_in("ha@dalat.gov.vn")
    await head.get_by_role("link", name="Giải trình trước 12/05/2025 / explain by 12/05/2025").click()
    await head.wait_for_load_state()
    await send_explanation(head, [SITE_CLEARANCE, "Giao vốn, phân bổ vốn chậm / capital allocated late"],
                           "Vướng mặt bằng dự án đường vành đai; vốn giao chậm hai tháng",
                           document="Báo cáo 45/BC-UBND ngày 8/5/2025", by="2025-06-30", rate="30,5")  # fmt: skip
    assert head.url.endswith("/head") and "Đã giải trình / explained" in await head.locator("#alerts").inner_text()

    await member.reload()
    review = await member.locator("#review").inner_text()
    assert "Trần Thị Hà <ha@dalat.gov.vn>" in review and "site clearance and resettlement" in review
    assert "Vướng mặt bằng" in review
    assert (await member.locator("#commitments tbody td").all_inner_texts())[1:] == ["30/06/2025", "30,50 %"]
    await member.get_by_label("Hình thức kết luận / Outcome").select_option("criticism")
    await member.get_by_label("Kết luận / Conclusion", exact=True).fill("Phê bình; theo dõi cam kết 30/6")
    await member.get_by_label("Số văn bản kết luận / Document number").fill("12-TB/UBKT")
    await member.get_by_role("button", name="Kết luận và đóng / Conclude and close").click()
    await member.wait_for_load_state()
    assert "Phê bình / criticism: Phê bình; theo dõi cam kết 30/6 (12-TB/UBKT)" in await member.locator(
        "main").inner_text()  # fmt: skip
    async with pages.pool.acquire() as conn:  # the month the steps were recorded in
        month = await conn.fetchval(
            "SELECT to_char(requested_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM') FROM alert_reviews"
        )
    await member.goto(pages.url + f"/committee/digest?month={month}")
    digest = await member.locator("#digest").inner_text()
    assert "Yêu cầu giải trình / Explanations asked\t1" in digest and "1 (1 có khuyết điểm / with fault)" in digest


async def test_a_clerk_answers_on_the_heads_behalf_and_a_bad_rate_is_said_in_the_page(pages: Pages) -> None:
    await _ask(pages)
    clerk = await pages.signed_in("ketoan@dalat.gov.vn")
    await clerk.locator("#unit-alerts a", has_text="explain by 12/05/2025").click()
    await clerk.wait_for_load_state()
    assert "sent on the head's behalf" in await clerk.locator("main").inner_text()
    contractors = ["Năng lực nhà thầu / contractor capacity"]
    await send_explanation(clerk, contractors, "Nhà thầu thiếu năng lực", by="2025-06-30", rate="ba mươi")
    assert "'ba mươi' is no rate" in await clerk.locator(".error").inner_text()
    await send_explanation(clerk, contractors, "Nhà thầu thiếu năng lực")
    async with pages.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT explained_by, on_behalf FROM alert_reviews WHERE fingerprint = $1", THEIRS)
    assert tuple(row) == ("Lê Văn Toán <ketoan@dalat.gov.vn>", True)
