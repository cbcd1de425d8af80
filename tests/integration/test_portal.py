"""The portal in a real headless Chromium (Debian's, driven by Playwright; no browser download): a clerk
signs in, uploads a file with mistakes, reads them in the page, fixes them, stores it and sees the standing
move; and the attacks: a form without its token, the cookie's flags, another province's unit, a committee
member posting figures, a unit named <script>, guessing passwords, a signed-out session."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright._impl._api_structures import SetCookieParam
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from services.alerts.api import create_alerts_app
from services.ingest.bootstrap import create_app
from services.portal import Services, create_portal_app
from services.projector.progress_rules import ProgressRules
from shared.auth import create_account, create_token
from shared.event_store import recorded_event
from shared.settings import Settings
from tests.integration.alert_fixtures import DISB, Clock, Facts, alerts_service
from tests.integration.ingest_fixtures import projector_client
from tests.integration.projector_helpers import apply_events
from tests.integration.receivers import serving

pytestmark = pytest.mark.postgres
TODAY = dt.date(2025, 11, 15)
PASSWORD = "mật-khẩu-của-Hoa-2025"
HOSTILE = "<script>document.title='bị tấn công'</script> Xã Thử"
UNITS = [
    {"unit_code": "lam-dong", "name": "Tỉnh Lâm Đồng", "level": "province", "committee": "Ủy ban Kiểm tra Trung ương"},
    {"unit_code": "da-lat", "name": "Thành phố Đà Lạt", "level": "district", "parent_code": "lam-dong",
     "committee": "Ủy ban Kiểm tra Tỉnh ủy Lâm Đồng"},
    {"unit_code": "xa-thu", "name": HOSTILE, "level": "commune", "parent_code": "lam-dong",
     "committee": "Ủy ban Kiểm tra Tỉnh ủy Lâm Đồng"},
    {"unit_code": "hue", "name": "Thành phố Huế", "level": "province", "committee": "Ủy ban Kiểm tra Trung ương"},
]  # fmt: skip
PLANS = [
    {"unit_code": code, "indicator": "public_investment_disbursement", "plan_year": 2025, "amount": amount}
    for code, amount in (("lam-dong", "10000000000000"), ("hue", "8000000000000"))
]
HEADER = "unit_code,indicator,plan_year,category,as_of,amount\n"


@dataclass
class Portal:
    url: str
    pool: asyncpg.Pool
    browser: Browser
    clerk_email: str
    committee_email: str

    async def project(self) -> None:
        """What the projector does with the stored events (its own code, in one call)."""
        async with self.pool.acquire() as conn, conn.transaction():  # writing facts again changes nothing
            rows = await conn.fetch("SELECT * FROM events ORDER BY position")
            await apply_events(conn, [recorded_event(r) for r in rows], ProgressRules(), TODAY)


@pytest.fixture
async def portal(pool: asyncpg.Pool) -> AsyncIterator[Portal]:
    chromium = shutil.which("chromium")
    assert chromium is not None, "make test installs Debian's chromium"
    async with pool.acquire() as conn:
        admin = await create_token(conn, "admin", "admin")
        token = await create_token(conn, "portal", "portal")
        await create_account(conn, "hoa@lamdong.gov.vn", "Nguyễn Thị Hoa", "clerk", ["lam-dong"], password=PASSWORD)
        await create_account(conn, "kiem@ubkt.vn", "Trần Văn Kiểm", "committee", everywhere=True, password=PASSWORD)
        await create_account(conn, "quantri@pim.vn", "Phạm Quản Trị", "admin", password=PASSWORD)
    ingest_app = create_app(pool, clock=lambda: TODAY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ingest_app), base_url="http://ingest") as ingest:
        as_admin = {"Authorization": f"Bearer {admin}"}
        assert (await ingest.post("/v1/units", json={"units": UNITS}, headers=as_admin)).status_code == 201
        assert (await ingest.post("/v1/targets", json={"targets": PLANS}, headers=as_admin)).status_code == 201
        app = create_portal_app(pool, Services(ingest, token, None, projector_client(pool)), today=lambda: TODAY)
        async with serving(app) as url, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                # localhost: a secure context, where Chromium keeps a Secure cookie over plain HTTP
                yield Portal(url.replace("127.0.0.1", "localhost"), pool, browser, "hoa@lamdong.gov.vn",
                             "kiem@ubkt.vn")  # fmt: skip
            finally:
                await browser.close()


async def signed_in(portal: Portal, email: str, start: str = "/") -> tuple[BrowserContext, Page]:
    context = await portal.browser.new_context(locale="vi-VN")
    page = await context.new_page()
    await page.goto(portal.url + start)
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Mật khẩu / Password").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập / Sign in").click()
    await page.wait_for_load_state()
    return context, page


async def upload(page: Page, path: Path) -> None:
    """Send a file as the clerk does: the page's script streams it and puts the answer in place of <main>."""
    await page.evaluate("document.querySelector('main').dataset.before = 'upload'")
    await page.get_by_label("Tệp CSV hoặc Excel / CSV or Excel file").set_input_files(str(path))
    await page.get_by_role("button", name="Gửi / Send").click()
    await page.locator("main:not([data-before])").wait_for(timeout=60_000)


async def test_a_clerk_fixes_a_refused_file_stores_it_and_sees_the_standing(portal: Portal, tmp_path: Path) -> None:
    context, page = await signed_in(portal, portal.clerk_email, "/clerk")
    assert page.url.endswith("/clerk")  # back where the link pointed, signed in
    assert "Nguyễn Thị Hoa" in await page.locator("header").inner_text()
    listed = await page.locator("main ul").inner_text()
    assert "Thành phố Đà Lạt" in listed and HOSTILE in listed  # the <script> name shown as text, not run
    assert await page.title() != "bị tấn công"

    wrong = tmp_path / "bao-cao.csv"
    wrong.write_text(HEADER + "lam-dong,public_investment_disbursement,2025,central_budget,2025-10-31,4200000000000\n"
                     "lam-dong,public_investment_disbursement,2025,central_budjet,2025-10-31,1000000000000\n",
                     encoding="utf-8")  # fmt: skip
    await upload(page, wrong)
    refused = page.locator("#refused tbody tr")
    assert await refused.count() == 1
    cells = await refused.first.locator("td").all_inner_texts()
    assert (
        cells[:3] == ["3", "category", "central_budjet"] and "did you mean 'central_budget'" in cells[3]
    )  # Excel's row
    async with portal.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM events WHERE event_type = 'DisbursementReported'") == 0
    async with page.expect_download() as downloading:  # the refused rows, to open beside the file in Excel
        await page.get_by_role("button", name="Tải danh sách lỗi (CSV, mở bằng Excel)").click()
    report = await (await downloading.value).path()
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert (await downloading.value).suggested_filename == "bao-cao-loi.csv"
    assert lines[0] == "Dòng / Row,Cột / Column,Giá trị / Value,Cần sửa / What to do"
    assert lines[1].startswith("3,category,central_budjet,") and "did you mean 'central_budget'" in lines[1]

    fixed = tmp_path / "bao-cao-da-sua.csv"
    fixed.write_text(wrong.read_text(encoding="utf-8").replace("central_budjet", "local_budget"), encoding="utf-8")
    await upload(page, fixed)
    assert "đã lưu 2 dòng / 2 rows stored" in await page.locator("#result").inner_text()
    async with portal.pool.acquire() as conn:
        who = await conn.fetchval("SELECT DISTINCT submitted_by FROM events WHERE event_type = 'DisbursementReported'")
    assert who == "Nguyễn Thị Hoa <hoa@lamdong.gov.vn>"  # the person's name in the log, not a shared token's
    receipt = await page.locator("#result").inner_text()
    sent = await page.locator("#sent tbody tr").first.locator("td").all_inner_texts()
    assert sent[0] in receipt and sent[2:6] == ["2", "0", "lam-dong", "31/10/2025"]  # the receipt, in the history

    await portal.project()
    await page.goto(portal.url + "/clerk")
    row = page.locator("tbody tr", has_text="Tỉnh Lâm Đồng").first
    assert "52,00 %" in await row.inner_text()  # 5.200 of 10.000 tỷ, as the projector computed it
    await context.close()


async def test_a_clerk_reports_one_figure_in_a_form_and_corrects_it_with_a_reason(portal: Portal) -> None:
    context, page = await signed_in(portal, portal.clerk_email, "/clerk")
    form = page.locator("#one-report")

    async def send(amount: str, reason: str = "") -> None:
        await form.get_by_label("Đơn vị / Unit").select_option(label="Tỉnh Lâm Đồng")
        await form.get_by_label("Chỉ tiêu và nguồn vốn / khoản thu").select_option(
            label="Vốn ngân sách trung ương / Central budget")  # fmt: skip
        await form.get_by_label("Số liệu đến ngày / Figures as of").fill("2025-10-31")
        await form.get_by_label("Lũy kế từ đầu năm").fill(amount)
        await form.get_by_label("Lý do đính chính").fill(reason)
        await form.get_by_role("button", name="Gửi số liệu / Send the figure").click()
        await page.wait_for_load_state()

    await send("bốn nghìn tỷ")
    errors = await page.locator("#report-errors").inner_text()
    assert errors.startswith("amount (bốn nghìn tỷ):")  # the field, the value, what is wrong
    assert await form.get_by_label("Lũy kế từ đầu năm").input_value() == "bốn nghìn tỷ"  # kept to fix
    await send("4200 tỷ")
    assert "Đã lưu / stored" in await page.locator("#report-result").inner_text()
    await send("4.150,5 tỷ", reason="Kho bạc đối chiếu lại")
    assert "Đã lưu / stored" in await page.locator("#report-result").inner_text()
    async with portal.pool.acquire() as conn:
        stored = await conn.fetch(
            "SELECT event_type, payload->>'amount' AS amount, payload->>'reason' AS reason, submitted_by FROM events"
            " WHERE event_type IN ('DisbursementReported', 'FigureCorrected') ORDER BY position"
        )
    assert [tuple(r) for r in stored] == [
        ("DisbursementReported", "4200000000000", None, "Nguyễn Thị Hoa <hoa@lamdong.gov.vn>"),
        ("FigureCorrected", "4150500000000", "Kho bạc đối chiếu lại", "Nguyễn Thị Hoa <hoa@lamdong.gov.vn>"),
    ]
    newest = await page.locator("#sent tbody tr").first.locator("td").all_inner_texts()
    assert newest[2:4] == ["1", "1"]  # one fact, a correction, in the clerk's history

    # the same form sent twice (a double click, the back button): stored once
    key = await form.locator("input[name=key]").get_attribute("value")
    csrf = await form.locator("input[name=csrf]").get_attribute("value")
    assert key and csrf
    fields: dict[str, str | float | bool] = {
        "csrf": csrf, "key": key, "unit_code": "lam-dong", "category": f"{DISB}|local_budget", "plan_year": "2025",
        "as_of": "2025-10-31", "amount": "1 tỷ",
    }  # fmt: skip
    for _ in range(2):
        assert (await page.request.post(portal.url + "/clerk/report", form=fields)).status == 200
    async with portal.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM events WHERE payload->>'category' = 'local_budget'") == 1
    await context.close()


async def test_a_large_file_shows_its_progress_in_the_page_then_the_answer(portal: Portal, tmp_path: Path) -> None:
    """Eighty thousand project rows: the page's bar follows the import's own progress lines (rows read of the
    file's rows, then storing) and the answer replaces the page when it is done."""
    total = 80_000
    large = tmp_path / "du-an.csv"
    large.write_text(
        "unit_code,indicator,plan_year,category,project_code,as_of,amount\n"
        + "".join(f"lam-dong,{DISB},2025,central_budget,DA-{n:05d},2025-10-31,{n * 1000}\n" for n in range(total)),
        encoding="utf-8",
    )
    context, page = await signed_in(portal, portal.clerk_email, "/clerk")
    await page.evaluate("""() => {
        window.seen = [];
        const said = document.getElementById("upload-said");
        new MutationObserver(() => window.seen.push(said.textContent)).observe(said, {childList: true});
    }""")  # fmt: skip
    await upload(page, large)
    assert f"đã lưu {total:,} dòng".replace(",", ".") in await page.locator("#result").inner_text()
    seen: list[str] = await page.evaluate("window.seen")
    counted = [line for line in seen if "dòng / rows" in line]
    assert counted, seen  # at least one progress line came before the answer
    assert all(line.endswith(f"/ {total:,} dòng / rows".replace(",", ".")) for line in counted), counted
    await context.close()


async def test_the_session_cookie_is_secure_httponly_samesite_and_forms_need_their_token(portal: Portal) -> None:
    context, page = await signed_in(portal, portal.clerk_email)
    (cookie,) = [c for c in await context.cookies() if c["name"] == "pim_session"]
    assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Lax")
    assert cookie["expires"] > 0  # it expires
    forged = await page.request.post(portal.url + "/clerk/upload", multipart={
        "file": {"name": "x.csv", "mimeType": "text/csv", "buffer": HEADER.encode()}})  # fmt: skip
    assert forged.status == 403 and "Biểu mẫu không hợp lệ" in await forged.text()
    await context.close()


async def test_a_clerk_cannot_report_for_another_province(portal: Portal, tmp_path: Path) -> None:
    context, page = await signed_in(portal, portal.clerk_email, "/clerk")
    other = tmp_path / "hue.csv"
    other.write_text(HEADER + "hue,public_investment_disbursement,2025,central_budget,2025-10-31,1\n", encoding="utf-8")
    await upload(page, other)
    cells = await page.locator("#refused tbody tr").first.locator("td").all_inner_texts()
    assert cells[1:3] == ["unit_code", "hue"] and "outside the scope of Nguyễn Thị Hoa" in cells[3]
    await context.close()


async def test_a_clerk_cannot_read_another_provinces_unit_page_or_a_leaders_scorecard(portal: Portal) -> None:
    context, page = await signed_in(portal, portal.clerk_email, "/clerk")
    mine = await page.goto(portal.url + "/unit?code=da-lat&plan_year=2025")
    assert mine is not None and mine.status == 200  # below their province: theirs
    for edited in ("/unit?code=hue&plan_year=2025", "/unit?code=..%2Fv1%2Fstandings", "/leader?id=L1"):
        response = await page.goto(portal.url + edited)
        assert response is not None and response.status in (404, 422), edited
        assert "Thành phố Huế" not in await page.locator("main").inner_text()
    await context.close()


async def test_a_committee_member_cannot_post_figures(portal: Portal) -> None:
    context, page = await signed_in(portal, portal.committee_email)
    token = await page.locator("input[name=csrf]").first.get_attribute("value")  # its own, valid token
    assert token
    posted = await page.request.post(portal.url + "/clerk/upload", multipart={
        "csrf": token, "file": {"name": "x.csv", "mimeType": "text/csv", "buffer": HEADER.encode()}})  # fmt: skip
    assert posted.status == 403
    await context.close()


async def test_guessing_passwords_is_throttled_and_audited(portal: Portal) -> None:
    context = await portal.browser.new_context()
    page = await context.new_page()
    await page.goto(portal.url + "/sign-in")
    for _ in range(5):
        await page.get_by_label("E-mail").fill(portal.clerk_email)
        await page.get_by_label("Mật khẩu / Password").fill("đoán-mò-123456")
        await page.get_by_role("button", name="Đăng nhập / Sign in").click()
        await page.wait_for_load_state()
        assert "Sai e-mail hoặc mật khẩu" in await page.locator(".error").inner_text()
    await page.get_by_label("Mật khẩu / Password").fill(PASSWORD)  # the right one, too late
    await page.get_by_role("button", name="Đăng nhập / Sign in").click()
    await page.wait_for_load_state()
    assert "Quá nhiều lần đăng nhập sai" in await page.locator(".error").inner_text()
    assert not [c for c in await context.cookies() if c["name"] == "pim_session"]
    async with portal.pool.acquire() as conn:
        outcomes = [r["outcome"] for r in await conn.fetch("SELECT outcome FROM portal_sign_ins ORDER BY at")]
    assert outcomes == ["refused"] * 5 + ["throttled"]
    await context.close()


async def test_a_signed_out_session_is_refused(portal: Portal) -> None:
    context, page = await signed_in(portal, portal.clerk_email)
    (cookie,) = [c for c in await context.cookies() if c["name"] == "pim_session"]
    replay = await portal.browser.new_context()
    kept: SetCookieParam = {"name": cookie["name"], "value": cookie["value"], "url": portal.url}
    await replay.add_cookies([kept])  # the cookie, copied by someone
    elsewhere = await replay.new_page()
    await elsewhere.goto(portal.url + "/clerk")
    assert elsewhere.url.endswith("/clerk")  # it opens the session while the session lives
    await page.get_by_role("button", name="Đăng xuất / Sign out").click()
    await page.wait_for_load_state()
    assert "/sign-in" in page.url
    await elsewhere.goto(portal.url + "/clerk")
    assert "/sign-in" in elsewhere.url  # and nothing once its owner signed out
    await replay.close()
    await context.close()


async def test_a_committee_member_opens_an_alert_and_concludes_it_and_sees_only_their_own(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """Đà Lạt is behind pace: its committee member finds the alert in the inbox (counts by severity), opens
    it, acknowledges and concludes it in the page; the alert is resolved under the member's name. A member
    for another province is told there is no such alert, the same answer as for one that does not exist."""
    chromium = shutil.which("chromium")
    assert chromium is not None
    facts, clock = Facts(pool), Clock(dt.date(2025, 5, 3))
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.report("da-lat", 3, 60)
    await service.sweep()
    async with pool.acquire() as conn:
        token = await create_token(conn, "portal", "portal")
        admin = await create_token(conn, "admin", "admin")
        await create_account(conn, "lan@ubkt-lamdong.vn", "Võ Thị Lan", "committee", ["lam-dong"], password=PASSWORD)
        await create_account(conn, "an@ubkt-hue.vn", "Lê Văn An", "committee", ["hue"], password=PASSWORD)
    theirs = f"da-lat/{DISB}/below_pace/2025"
    ingest_app, alerts_app = create_app(pool, clock=lambda: TODAY), create_alerts_app(pool, service)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=ingest_app), base_url="http://ingest") as ingest,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=alerts_app), base_url="http://alerts") as alerts,
    ):
        registry = [  # the hierarchy the jurisdictions read, registered as an admin would
            {"unit_code": "vn", "name": "Cả nước", "level": "central", "committee": "UBKT Trung ương"},
            {"unit_code": "lam-dong", "name": "Tỉnh Lâm Đồng", "level": "province", "parent_code": "vn",
             "committee": "UBKT Tỉnh ủy Lâm Đồng"},
            {"unit_code": "da-lat", "name": "Thành phố Đà Lạt", "level": "district", "parent_code": "lam-dong",
             "committee": "UBKT Tỉnh ủy Lâm Đồng"},
            {"unit_code": "hue", "name": "Thành phố Huế", "level": "province", "parent_code": "vn",
             "committee": "UBKT Thành ủy Huế"},
        ]  # fmt: skip
        added = await ingest.post("/v1/units", json={"units": registry}, headers={"Authorization": f"Bearer {admin}"})
        assert added.status_code == 201, added.text
        app = create_portal_app(pool, Services(ingest, token, alerts, projector_client(pool)), today=lambda: TODAY)
        async with serving(app) as url, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            portal = Portal(url.replace("127.0.0.1", "localhost"), pool, browser, "", "")
            try:
                context, page = await signed_in(portal, "lan@ubkt-lamdong.vn")
                assert page.url.endswith("/committee")
                assert "Cảnh báo / warning" in await page.locator("#counts").inner_text()
                await page.locator("#alerts a[href*='below_pace']").click()
                await page.wait_for_load_state()
                assert await page.locator("h1").inner_text() == "Chậm so với tiến độ / below pace — Thành phố Đà Lạt"
                # the evidence: the year against the pace (the projector's rows), the head and their stint
                assert await page.locator("svg.chart polyline").count() == 2
                march = await page.locator("#months tbody tr").first.locator("td").all_inner_texts()
                assert march[0] == "31/03/2025" and march[1:4] == ["1.000 đ", "60 đ", "6,00 %"]
                assert "Trần Thị Hà" in await page.locator("#stints").inner_text()
                assert "giữ chức từ / in post from" in await page.locator("dl").inner_text()
                raised = await page.locator("#history tbody tr").first.locator("td").all_inner_texts()
                assert raised[1].startswith("Phát hiện / raised") and raised[2] == "PIM"
                await page.get_by_label("Tạm dừng thông báo đến ngày / Silence notifications until").fill("2025-12-31")
                await page.get_by_label("Lý do / Reason").fill("Chờ kết quả đoàn kiểm tra")
                await page.get_by_role("button", name="Tạm dừng / Silence").click()
                await page.wait_for_load_state()
                assert "31/12/2025: Chờ kết quả đoàn kiểm tra" in await page.locator("dl").inner_text()
                await page.get_by_label("Ghi chú khi tiếp nhận / Note on acknowledging").fill("Đã lập đoàn kiểm tra")
                await page.get_by_role("button", name="Tiếp nhận / Acknowledge").click()
                await page.wait_for_load_state()
                await page.get_by_label("Kết luận / Conclusion").fill("Đã nhắc nhở; đơn vị cam kết đạt 70 % tháng 6")
                await page.get_by_role("button", name="Kết luận và đóng / Conclude and close").click()
                await page.wait_for_load_state()
                assert "Đã kết luận" in await page.locator("main").inner_text()
                steps = [
                    await r.locator("td").nth(1).inner_text() for r in await page.locator("#history tbody tr").all()
                ]
                assert [step.split(" (")[0] for step in steps] == [
                    "Phát hiện / raised", "Tạm dừng thông báo / silenced", "Tiếp nhận / acknowledged",
                    "Đã xử lý / resolved",
                ]  # fmt: skip
                last = await page.locator("#history tbody tr").last.locator("td").all_inner_texts()
                assert last[2] == "Võ Thị Lan <lan@ubkt-lamdong.vn>" and last[3].startswith("Đã nhắc nhở")
                await context.close()
                row = await _alert_row(pool, theirs)
                assert (row["status"], row["acknowledged_by"]) == ("resolved", "Võ Thị Lan <lan@ubkt-lamdong.vn>")
                assert row["resolution"] == "Đã nhắc nhở; đơn vị cam kết đạt 70 % tháng 6"

                context, page = await signed_in(portal, "an@ubkt-hue.vn")
                assert await page.locator("#alerts tbody tr", has_text="da-lat").count() == 0
                assert await page.locator("#alerts tbody tr", has_text="Đà Lạt").count() == 0
                response = await page.goto(portal.url + f"/committee/alert?fingerprint={theirs}")
                assert response is not None and response.status == 404
                await context.close()
            finally:
                await browser.close()


async def _alert_row(pool: asyncpg.Pool, fingerprint: str) -> asyncpg.Record:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM alerts WHERE fingerprint = $1", fingerprint)
    assert row is not None
    return row


async def test_the_pages_pass_axe_core_at_phone_width(portal: Portal) -> None:
    """axe-core's checks (labels, contrast, landmarks, keyboard focus…) on the sign-in and the clerk's pages,
    at a phone's width: no violation."""
    axe = Axe()
    context = await portal.browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})
    page = await context.new_page()
    await page.goto(portal.url + "/sign-in")
    found = {"sign-in": (await axe.run(page)).response["violations"]}
    await page.get_by_label("E-mail").fill(portal.clerk_email)
    await page.get_by_label("Mật khẩu / Password").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập / Sign in").click()
    await page.wait_for_load_state()
    found["clerk"] = (await axe.run(page)).response["violations"]
    widths = {"clerk": await page.evaluate("document.documentElement.scrollWidth")}
    await portal.project()
    await page.goto(portal.url + "/unit?code=lam-dong&plan_year=2025")
    found["unit"] = (await axe.run(page)).response["violations"]
    await context.close()
    admin, page = await signed_in(portal, "quantri@pim.vn")
    await page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/admin/accounts", "/admin/tokens", "/admin/categories", "/admin/registry", "/board"):
        await page.goto(portal.url + path)
        found[path] = (await axe.run(page)).response["violations"]
        widths[path] = await page.evaluate("document.documentElement.scrollWidth")
    await admin.close()
    listed = {name: [(v["id"], v["impact"], len(v["nodes"])) for v in violations] for name, violations in found.items()}
    assert listed == {name: [] for name in found}
    assert widths == dict.fromkeys(widths, 390)  # nothing wider than the phone: tables scroll inside themselves


async def test_an_admin_makes_and_disables_an_account_in_the_page(portal: Portal) -> None:
    context, page = await signed_in(portal, "quantri@pim.vn")
    assert page.url.endswith("/admin/accounts")

    async def make(email: str, units: str) -> None:
        await page.get_by_label("E-mail", exact=True).fill(email)
        await page.get_by_label("Họ tên / Full name").fill("Hồ Thị Xuân")
        await page.get_by_label("Vai trò / Role").select_option("clerk")
        await page.get_by_label("Mã đơn vị, cách nhau bởi dấu phẩy / Unit codes, comma-separated").fill(units)
        await page.get_by_label("Mật khẩu ban đầu (ít nhất 10 ký tự) / First password (10 characters or more)").fill(
            PASSWORD)  # fmt: skip
        await page.get_by_role("button", name="Tạo / Make").click()
        await page.wait_for_load_state()

    await make("xuan@hue.gov.vn", "")  # a clerk must act for units
    assert "a clerk acts for units" in await page.locator(".error").inner_text()
    await make("xuan@hue.gov.vn", "hue")
    assert "xuan@hue.gov.vn" in await page.locator("#accounts").inner_text()
    newcomer, theirs = await signed_in(portal, "xuan@hue.gov.vn")
    assert theirs.url.endswith("/clerk") and "Thành phố Huế" in await theirs.locator("main").inner_text()
    await page.get_by_role("button", name="Khóa / Disable xuan@hue.gov.vn").click()
    await page.wait_for_load_state()
    await theirs.goto(portal.url + "/clerk")
    assert "/sign-in" in theirs.url  # a disabled account's session ends with it
    async with portal.pool.acquire() as conn:
        changes = [(r["by_whom"], r["action"], r["subject"]) for r in await conn.fetch(
            "SELECT * FROM access_changes ORDER BY id")]  # fmt: skip
    assert changes == [("Phạm Quản Trị <quantri@pim.vn>", "account_made", "xuan@hue.gov.vn"),
                       ("Phạm Quản Trị <quantri@pim.vn>", "account_changed", "xuan@hue.gov.vn")]  # fmt: skip
    log = await page.locator("#access-changes").inner_text()
    assert "account_changed" in log and "disabled: True" in log
    await newcomer.close()
    await context.close()


async def test_an_admin_makes_and_revokes_a_token_declares_a_category_and_reads_the_registry_on_a_date(
    portal: Portal,
) -> None:
    context, page = await signed_in(portal, "quantri@pim.vn")
    await page.get_by_role("link", name="Mã truy cập / Tokens").click()
    await page.get_by_label("Tên (hệ thống nào dùng) / Name (which system uses it)").fill("Phần mềm Sở Tài chính Huế")
    await page.get_by_label("Vai trò / Role").select_option("department")
    await page.get_by_label("Mã đơn vị, cách nhau bởi dấu phẩy / Unit codes, comma-separated").fill("hue")
    await page.get_by_role("button", name="Tạo mã / Make the token").click()
    await page.wait_for_load_state()
    secret = await page.get_by_label("Mã / Token").input_value()
    ingest = create_app(portal.pool, clock=lambda: TODAY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ingest), base_url="http://ingest") as client:
        mine = await client.get("/v1/units", headers={"Authorization": f"Bearer {secret}"})
        assert [u["unit_code"] for u in mine.json()["units"]] == ["hue"]  # the machine's token works, scoped
        await page.goto(portal.url + "/admin/tokens")
        assert "Phần mềm Sở Tài chính Huế" in await page.locator("#tokens").inner_text()
        assert await page.get_by_label("Mã / Token").count() == 0  # shown once, never again
        await page.get_by_role("button", name="Thu hồi / Revoke Phần mềm Sở Tài chính Huế").click()
        await page.wait_for_load_state()
        assert (await client.get("/v1/units", headers={"Authorization": f"Bearer {secret}"})).status_code == 401

    await page.get_by_role("link", name="Danh mục / Categories").click()
    await page.get_by_label("Chỉ tiêu / Indicator").select_option(DISB)
    await page.get_by_label("Mã (chữ thường, số, gạch dưới) / Code (lower case, digits, underscores)").fill(
        "Trái phiếu"
    )
    await page.get_by_label("Tên: tiếng Việt / English / Name: Vietnamese / English").fill("Trái phiếu / Bonds")
    await page.get_by_role("button", name="Thêm / Add").click()
    await page.wait_for_load_state()
    assert "code:" in await page.locator(".error").inner_text()  # not a code: refused, the field named
    await page.get_by_label("Mã (chữ thường, số, gạch dưới) / Code (lower case, digits, underscores)").fill(
        "trai_phieu_dia_phuong")  # fmt: skip
    await page.get_by_label("Tên: tiếng Việt / English / Name: Vietnamese / English").fill(
        "Trái phiếu chính quyền địa phương / Local government bonds")  # fmt: skip
    await page.get_by_role("button", name="Thêm / Add").click()
    await page.wait_for_load_state()
    listed = await page.locator(f"#categories-{DISB}").inner_text()
    assert "Trái phiếu chính quyền địa phương / Local government bonds" in listed
    async with portal.pool.acquire() as conn:
        who = await conn.fetchval("SELECT submitted_by FROM events WHERE event_type = 'CategoryDeclared'")
    assert who == "Phạm Quản Trị <quantri@pim.vn>"  # in the log under the admin's name

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ingest), base_url="http://ingest") as client:
        async with portal.pool.acquire() as conn:
            admin = await create_token(conn, "admin", "admin")
        renamed = {**UNITS[1], "name": "Thành phố Đà Lạt mới", "effective_from": "2025-07-01"}
        moved = await client.post("/v1/units", json={"units": [renamed]}, headers={"Authorization": f"Bearer {admin}"})
        assert moved.status_code == 201, moved.text
    await portal.project()
    await page.get_by_role("link", name="Đơn vị / Units").click()
    await page.wait_for_load_state()
    now = await page.locator("#registry tbody tr", has_text="da-lat").inner_text()
    assert "Thành phố Đà Lạt mới" in now and "01/07/2025" in now
    assert HOSTILE in await page.locator("#registry").inner_text() and await page.title() != "bị tấn công"
    await page.get_by_label("Như ngày / As it stood on").fill("2025-06-30")
    await page.get_by_role("button", name="Xem / Show").click()
    await page.wait_for_load_state()
    then = await page.locator("#registry tbody tr", has_text="da-lat").inner_text()
    assert "Thành phố Đà Lạt\t" in then and "mới" not in then  # as it stood before the rename
    await context.close()


async def test_a_service_that_is_down_is_said_in_the_page_not_a_traceback(pool: asyncpg.Pool) -> None:
    """The ingest API does not answer (nothing listens where the portal calls it): the clerk signs in and is
    told in the page, with 503; signing in itself needs only the database."""
    chromium = shutil.which("chromium")
    assert chromium is not None
    async with pool.acquire() as conn:
        token = await create_token(conn, "portal", "portal")
        await create_account(conn, "hoa@lamdong.gov.vn", "Nguyễn Thị Hoa", "clerk", ["lam-dong"], password=PASSWORD)
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9", timeout=2) as nowhere:  # the discard port
        app = create_portal_app(pool, Services(nowhere, token, None, nowhere), today=lambda: TODAY)
        async with serving(app) as url, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                portal = Portal(url.replace("127.0.0.1", "localhost"), pool, browser, "", "")
                context, page = await signed_in(portal, "hoa@lamdong.gov.vn")
                assert "tạm thời không trả lời" in await page.locator(".error").inner_text()
                response = await page.goto(portal.url + "/clerk")
                assert response is not None and response.status == 503
                await context.close()
            finally:
                await browser.close()
