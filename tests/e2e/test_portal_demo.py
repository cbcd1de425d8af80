"""The web pages on the sample, in Debian's headless Chromium: each sample account signs in, and the clerk's
page shows the projector's own numbers for their units. Also writes the README's screenshots (docs/)."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

from pim.demo.accounts import sample_accounts
from pim.demo.run import SAMPLE_MEETING_DATE
from services.alerts import AlertsService, create_alerts_app
from services.ingest.bootstrap import create_app
from services.portal import Services, create_portal_app
from services.projector import Period, ProgressRules, create_projector_app, head_scores
from services.projector.head_scores import DEFAULT_SCHEME
from services.projector.standings import standings
from shared.auth import create_token
from shared.display import STANDING_LABELS, percent
from tests.e2e.conftest import Demo
from tests.integration.receivers import serving

DOCS = Path(__file__).resolve().parents[2] / "docs"
DISBURSEMENT = "public_investment_disbursement"


async def test_the_sample_clerk_sees_the_projectors_numbers_for_lam_dong(demo: Demo) -> None:
    chromium = shutil.which("chromium")
    assert chromium is not None, "make test installs Debian's chromium"
    async with demo.pool.acquire() as conn:
        accounts = {a.role: a for a in await sample_accounts(conn)}
        token = await create_token(conn, "portal (test)", "portal")
        (national,) = await standings(conn, SAMPLE_MEETING_DATE, DISBURSEMENT, 2025, "national")
        open_alerts = await conn.fetchval("SELECT count(*) FROM alerts WHERE status = 'open'")
        head_id = await conn.fetchval("SELECT leader_id FROM accounts WHERE role = 'head'")
        naming_head = await conn.fetchval(
            "SELECT count(*) FROM alerts WHERE status = 'open' AND responsible_leader_id = $1", head_id
        )
        head_card = [
            (str(r["plan_year"]), str(r["stints"]), str(r["months_behind"]))
            for r in await conn.fetch(
                "SELECT * FROM leader_scorecards WHERE leader_id = $1 ORDER BY plan_year DESC", head_id
            )
        ]
        head_scores_2025 = [
            (s.period, str(s.score))
            for q in range(1, 5)
            for s in await head_scores(conn, Period.parse(f"2025-Q{q}"), SAMPLE_MEETING_DATE, DEFAULT_SCHEME, head_id)
        ]
        lam_dong_year = await conn.fetch(
            "SELECT as_of, rate FROM unit_progress_history WHERE unit_code = 'lam-dong' AND indicator = $1"
            " AND plan_year = 2025 AND category = '' AND as_of <= $2 ORDER BY as_of",
            DISBURSEMENT,
            SAMPLE_MEETING_DATE,
        )
    owner = next(u for lst in national.lists for u in (*lst.at_or_above, *lst.below) if u.unit_code == "lam-dong")
    ingest_app = create_app(demo.pool, clock=lambda: SAMPLE_MEETING_DATE)
    boards_app = create_projector_app(demo.pool, ProgressRules(), today=lambda: SAMPLE_MEETING_DATE)
    alerts_app = create_alerts_app(demo.pool, AlertsService.from_settings(demo.settings, demo.pool))
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=ingest_app), base_url="http://ingest") as ingest,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=boards_app), base_url="http://boards") as boards,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=alerts_app), base_url="http://alerts") as alerts,
    ):
        services = Services(ingest, token, alerts, boards)
        app = create_portal_app(demo.pool, services, today=lambda: SAMPLE_MEETING_DATE)
        async with serving(app) as url, async_playwright() as playwright:
            url = url.replace("127.0.0.1", "localhost")
            browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                for role, account in accounts.items():
                    context = await browser.new_context(locale="vi-VN", viewport={"width": 1100, "height": 900})
                    page = await context.new_page()
                    await page.goto(url + "/")
                    await page.get_by_label("E-mail").fill(account.email)
                    await page.get_by_label("Mật khẩu / Password").fill(account.password)
                    await page.get_by_role("button", name="Đăng nhập / Sign in").click()
                    await page.wait_for_load_state()
                    assert account.name in await page.locator("header").inner_text(), role
                    if role == "clerk":
                        row = page.locator("tbody tr", has_text="Tỉnh Lâm Đồng").filter(has_text="Giải ngân")
                        shown = await row.inner_text()
                        assert percent(owner.rate) in shown and STANDING_LABELS[owner.standing] in shown
                        assert f"\t{owner.rank}\t" in shown  # the rank the projector gave it
                        DOCS.mkdir(exist_ok=True)
                        await page.screenshot(path=str(DOCS / "portal-clerk.png"), full_page=True)
                    if role == "committee":  # the whole country's open alerts, as the alerts service keeps them
                        rows = await page.locator("#alerts tbody tr").count()
                        assert rows == open_alerts > 0
                        await page.screenshot(path=str(DOCS / "portal-committee.png"), full_page=False)
                    if role == "head":  # the alerts that name Lâm Đồng's head, and the province's standing
                        assert page.url.endswith("/head")
                        rows = await page.locator("#alerts tbody tr").count()
                        assert rows == naming_head > 0
                        assert percent(owner.rate) in await page.locator("main").inner_text()
                        await page.screenshot(path=str(DOCS / "portal-head.png"), full_page=False)
                        card = [tuple(await r.locator("td").all_inner_texts())
                                for r in await page.locator("#scorecard tbody tr").all()]  # fmt: skip
                        assert card == head_card and card  # their months behind, as the projector totals them
                        scored = [tuple((await r.locator("td").all_inner_texts())[:2])
                                  for r in await page.locator("#scores tbody tr").all()]  # fmt: skip
                        assert scored == head_scores_2025 and len(scored) == 3  # her quarters in post (from June)
                        promises = await page.locator("#promises").inner_text()  # the sample's broken promise
                        assert (
                            "0 đã giữ / kept, 1 không giữ / missed" in promises and "Phê bình / criticism" in promises
                        )
                    if role == "board":  # the national lists as the projector keeps them, and the pack
                        assert page.url.endswith("/board")
                        assert (
                            f"Bình quân / average: {percent(national.average)}"
                            in await page.locator("main").inner_text()
                        )
                        async with page.expect_download() as downloading:
                            await page.get_by_role(
                                "link", name="Tải báo cáo cho cuộc họp (PDF) / Download the board pack (PDF)"
                            ).first.click()
                        pack = Path(await (await downloading.value).path())
                        assert (await asyncio.to_thread(pack.read_bytes)).startswith(b"%PDF")
                        await page.screenshot(path=str(DOCS / "portal-board.png"), full_page=False)
                        async with page.expect_download() as downloading:  # as known on the meeting's day
                            known = page.get_by_label("Như đã biết tại cuộc họp ngày / As known on the meeting of")
                            await known.first.fill("2025-11-01")
                            await page.get_by_role("button", name="Tải / Download").first.click()
                        assert (await downloading.value).suggested_filename.endswith("-biet-den-2025-11-01.pdf")
                        # a unit's page from the lists: its year against the pace, as the projector keeps it
                        await page.locator("main table a", has_text="Tỉnh Lâm Đồng").first.click()
                        await page.wait_for_load_state()
                        assert await page.locator("svg.chart polyline").count() == 2
                        months = [await r.locator("td").nth(3).inner_text()
                                  for r in await page.locator("#months tbody tr").all()]  # fmt: skip
                        assert months == [percent(r["rate"]) for r in lam_dong_year]
                        await page.locator("#stints a").first.click()  # and the answerable head's scorecard
                        await page.wait_for_load_state()
                        assert page.url.split("?")[0].endswith("/leader")
                        assert await page.locator("#scorecard tbody tr").count() > 0
                    if role == "admin":
                        await page.screenshot(path=str(DOCS / "portal-admin.png"), full_page=False)
                    await context.close()
            finally:
                await browser.close()
    assert owner.rate is not None and owner.rate > Decimal(0) and dt.date(2025, 11, 10) == SAMPLE_MEETING_DATE
