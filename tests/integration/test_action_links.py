"""Signed action links, from the e-mail to the page, in Debian's headless Chromium: the committee asks Đà Lạt's
head to explain; the head, who has never signed in, opens the e-mail's link and sends causes and a commitment;
the committee member acknowledges from their own e-mail. A link used, expired, tampered with, or opened in
another person's browser opens nothing; two clicks at once act once. And the e-mail itself: one message per
person for one round, a retry reaching only the address that failed."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiosmtplib
import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from services.alerts.api import create_alerts_app
from services.alerts.config import AlertConfig, parse_alert_config
from services.alerts.digest_mail import send_due_digests
from services.alerts.mail import EmailSender
from services.alerts.outbox import Dispatcher
from services.alerts.service import AlertsService
from services.ingest.bootstrap import create_app
from services.portal import Services, create_portal_app
from shared import action_links
from shared.action_links import ActionLink
from shared.auth import create_account, create_token
from shared.settings import Settings
from tests.integration.alert_fixtures import (
    API_REGISTRY,
    DISB,
    ONLY_BELOW_PACE,
    PROVINCIAL,
    Clock,
    Facts,
    alerts_service,
)
from tests.integration.explain_form import SITE_CLEARANCE, send_explanation
from tests.integration.ingest_fixtures import projector_client
from tests.integration.receivers import SmtpInbox, serving, smtp_inbox

pytestmark = pytest.mark.postgres
TODAY = dt.date(2025, 5, 5)
PASSWORD = "mật-khẩu-của-Lan-2025"
SECRET = "khóa-ký-liên-kết-của-tỉnh"
THEIRS = f"da-lat/{DISB}/below_pace/2025"
MEMBER, HEAD = "lan@ubkt-lamdong.vn", "ha@dalat.gov.vn"
CONFIG = parse_alert_config(
    f'routing:\n  committees:\n    "{PROVINCIAL}": {{ email: [{MEMBER}, thuky@ubkt-lamdong.vn] }}\n'
    "notifications: { gather_seconds: 0 }\n"
)


@dataclass
class Loop:
    url: str
    browser: Browser
    pool: asyncpg.Pool
    service: AlertsService
    inbox: SmtpInbox
    dispatcher: Dispatcher
    inbox_port: int

    async def deliver(self) -> None:
        while await self.dispatcher.deliver_due():
            pass

    def link(self, address: str, purpose: str) -> str:
        """The last e-mail to `address`: its link for `purpose`, as the person would click it."""
        body = self.inbox.to(address)[-1].get_content()
        label = {"explain": "Viết giải trình", "acknowledge": "Xác nhận đã tiếp nhận", "open": "Mở cảnh báo /"}
        found = re.search(re.escape(label[purpose]) + r"[^\n]*: (\S+/act/\S+)", body)
        assert found, body
        return found.group(1)

    async def browser_page(self) -> Page:
        return await (await self.browser.new_context(locale="vi-VN")).new_page()


def _config(config: AlertConfig) -> AlertConfig:
    return config.model_copy(update={"routing": CONFIG.routing, "notifications": CONFIG.notifications})


@pytest.fixture
async def loop(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Loop]:
    chromium = shutil.which("chromium")
    assert chromium is not None, "make test installs Debian's chromium"
    facts, clock = Facts(pool), Clock(TODAY)
    # e-mail on: its outbox rows are written with each step (the sender below delivers them)
    service = alerts_service(settings, pool, clock, _config(ONLY_BELOW_PACE), pim_smtp_host="127.0.0.1",
                             pim_portal_public_url="https://pim.lamdong.example.vn")  # fmt: skip
    await facts.registry()
    await facts.report("da-lat", 3, 60)
    await service.sweep()
    async with pool.acquire() as conn:
        token, admin = await create_token(conn, "portal", "portal"), await create_token(conn, "admin", "admin")
        await create_account(conn, MEMBER, "Võ Thị Lan", "committee", ["lam-dong"], password=PASSWORD)
        await create_account(conn, HEAD, "Trần Thị Hà", "head", ["da-lat"], leader_id="L3")  # never signed in
        await create_account(conn, "tu@lamdong.gov.vn", "Nguyễn Ngọc Tú", "head", ["lam-dong"], leader_id="L1",
                             password=PASSWORD)  # fmt: skip
    ingest_app, alerts_app = create_app(pool, clock=lambda: TODAY), create_alerts_app(pool, service)
    async with (
        smtp_inbox() as (port, inbox),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=ingest_app), base_url="http://ingest") as ingest,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=alerts_app), base_url="http://alerts") as alerts,
    ):
        added = await ingest.post(
            "/v1/units", json={"units": API_REGISTRY}, headers={"Authorization": f"Bearer {admin}"}
        )
        assert added.status_code == 201, added.text
        app = create_portal_app(
            pool, Services(ingest, token, alerts, projector_client(pool)), today=lambda: TODAY, link_secret=SECRET
        )
        async with serving(app) as served, async_playwright() as playwright:
            url = served.replace("127.0.0.1", "localhost")
            sender = EmailSender("127.0.0.1", port, "pim@ubkt-lamdong.vn", service.config, portal_url=url,
                                 link_secret=SECRET)  # fmt: skip
            browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                yield Loop(url, browser, pool, service, inbox, Dispatcher(pool, {"email": sender}), port)
            finally:
                await browser.close()


async def _asked(loop: Loop) -> None:
    await loop.service.request_explanation(THEIRS, f"Võ Thị Lan <{MEMBER}>", "Giải trình nguyên nhân chậm giải ngân")
    await loop.deliver()


async def test_the_head_explains_from_the_emails_link_without_signing_in_and_the_link_works_once(loop: Loop) -> None:
    await _asked(loop)
    (mail,) = loop.inbox.to(HEAD)  # the head asked gets their own e-mail, with the link to their form
    assert "Yêu cầu giải trình / explanation asked" in mail["Subject"] and "Thành phố Đà Lạt" in mail["Subject"]
    link = loop.link(HEAD, "explain")
    assert "Viết giải trình / write the explanation (trước / by 12/05/2025)" in mail.get_content()

    head = await loop.browser_page()
    await head.goto(link)
    assert "Hạn giải trình / Due by: 12/05/2025" in await head.locator("main").inner_text()
    await send_explanation(head, [SITE_CLEARANCE], "Vướng mặt bằng vành đai", by="2025-06-30", rate="abc")
    assert "'abc' không phải tỷ lệ" in await head.locator("main").inner_text()  # a mistake, said in the page
    await head.goto(link)  # the refused form did not spend the link
    await send_explanation(head, [SITE_CLEARANCE], "Vướng mặt bằng vành đai", by="2025-06-30", rate="30,5")
    assert "Đã gửi giải trình / the explanation is sent" in await head.locator("main").inner_text()
    async with loop.pool.acquire() as conn:
        review = await conn.fetchrow("SELECT explained_by, on_behalf, causes FROM alert_reviews")
        rate = await conn.fetchval("SELECT rate FROM alert_commitments")
    assert review["explained_by"] == f"Trần Thị Hà <{HEAD}>" and review["on_behalf"] is False
    assert review["causes"] == ["site_clearance"] and str(rate) == "0.305"

    await head.goto(link)  # a replay: refused, and nothing more recorded
    assert "Liên kết đã được dùng" in await head.locator("main").inner_text()
    response = await head.request.post(link, form={"text": "lần hai", "causes": "other"}, max_redirects=0)
    assert response.status == 410
    async with loop.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM alert_commitments") == 1
        assert await conn.fetchval("SELECT count(*) FROM portal_action_link_uses WHERE purpose = 'explain'") == 1


async def test_a_link_tampered_with_expired_or_opened_in_another_persons_browser_opens_nothing(loop: Loop) -> None:
    await _asked(loop)
    link = loop.link(MEMBER, "acknowledge")
    base, token = link.rsplit("/", 1)
    browser = await loop.browser_page()
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token.replace(".", "..", 1), "x"):
        response = await browser.goto(f"{base}/{forged}")
        assert response is not None and response.status == 403
        assert "Liên kết không hợp lệ / the link is not valid" in await browser.locator("main").inner_text()
    # another alert's link cannot be made from this one: its fingerprint is inside the signature
    other = action_links.read(SECRET, token, dt.datetime.now(dt.UTC))
    expired = ActionLink(other.link_id + "-old", other.account_id, other.fingerprint, "acknowledge",
                         dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))  # fmt: skip
    response = await browser.goto(f"{base}/{action_links.sign(SECRET, expired)}")
    assert response is not None and response.status == 410
    assert "Liên kết đã hết hạn" in await browser.locator("main").inner_text()
    foreign = action_links.sign("another province's secret", other)
    response = await browser.goto(f"{base}/{foreign}")
    assert response is not None and response.status == 403

    someone = await loop.browser_page()  # the browser of another head, signed in
    await someone.goto(loop.url + "/sign-in")
    await someone.get_by_label("E-mail").fill("tu@lamdong.gov.vn")
    await someone.get_by_label("Mật khẩu / Password").fill(PASSWORD)
    await someone.get_by_role("button", name="Đăng nhập / Sign in").click()
    await someone.wait_for_load_state()
    response = await someone.goto(link)
    assert response is not None and response.status == 403
    assert "Liên kết này dành cho người khác" in await someone.locator("main").inner_text()
    async with loop.pool.acquire() as conn:
        assert await conn.fetchval("SELECT acknowledged_by FROM alerts WHERE fingerprint = $1", THEIRS) is None
        assert await conn.fetchval("SELECT count(*) FROM portal_action_link_uses") == 0


async def test_the_member_acknowledges_from_the_email_once_even_with_two_clicks_at_once(loop: Loop) -> None:
    await _asked(loop)
    mail = loop.inbox.to(MEMBER)[-1]  # the alert and the request, gathered in one message for this round
    assert "2 thông báo / notifications" in mail["Subject"]
    assert "thuky@ubkt-lamdong.vn" not in mail["To"]  # each person their own copy, with their own links
    (clerks,) = loop.inbox.to("thuky@ubkt-lamdong.vn")  # no PIM account: the page, which asks to sign in
    assert "/act/" not in clerks.get_content() and "/committee/alert?fingerprint=" in clerks.get_content()
    link = loop.link(MEMBER, "acknowledge")
    member = await loop.browser_page()
    await member.goto(link)  # the GET shows what the link does and changes nothing (mail scanners open links)
    async with loop.pool.acquire() as conn:
        assert await conn.fetchval("SELECT acknowledged_by FROM alerts WHERE fingerprint = $1", THEIRS) is None
    async with httpx.AsyncClient() as client:
        both = await asyncio.gather(client.post(link), client.post(link))
    assert sorted(r.status_code for r in both) == [200, 410]
    async with loop.pool.acquire() as conn:
        by = await conn.fetchval("SELECT acknowledged_by FROM alerts WHERE fingerprint = $1", THEIRS)
        steps = await conn.fetchval("SELECT count(*) FROM events WHERE event_type = 'AlertAcknowledged'")
    assert by == f"Võ Thị Lan <{MEMBER}>" and steps == 1

    opened = await loop.browser_page()  # the "open" link: the alert's page to read, its forms behind sign-in
    await opened.goto(loop.link(MEMBER, "open"))
    await opened.get_by_role("button", name="Mở cảnh báo / Open the alert").click()
    await opened.wait_for_load_state()
    assert "chỉ để xem / opened by the e-mail's link, to read only" in await opened.locator("#by-link").inner_text()
    assert await opened.locator("form").count() == 0


async def test_one_email_per_person_per_round_and_a_retry_reaches_only_the_address_that_failed(loop: Loop) -> None:
    loop.inbox.refused.add("thuky@ubkt-lamdong.vn")
    await _asked(loop)
    assert len(loop.inbox.to(MEMBER)) == 1 and loop.inbox.to("thuky@ubkt-lamdong.vn") == []
    async with loop.pool.acquire() as conn:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM alert_outbox WHERE channel = 'email' AND delivered_at IS NULL AND attempts = 1"
        )
        assert waiting == 2  # the alert and the request, for the address not reached
        loop.inbox.refused.clear()
        await conn.execute("UPDATE alert_outbox SET next_attempt_at = now() WHERE channel = 'email'")
    await loop.deliver()
    assert len(loop.inbox.to(MEMBER)) == 1 and len(loop.inbox.to("thuky@ubkt-lamdong.vn")) == 1
    async with loop.pool.acquire() as conn:
        reached = await conn.fetch("SELECT DISTINCT address FROM alert_email_recipients ORDER BY address")
    assert [r["address"] for r in reached] == [HEAD, MEMBER, "thuky@ubkt-lamdong.vn"]
    # the alert's page lists, for each step, whom its e-mail reached and after how many attempts
    member = await loop.browser_page()
    await member.goto(loop.link(MEMBER, "open"))
    await member.get_by_role("button", name="Mở cảnh báo / Open the alert").click()
    await member.wait_for_load_state()
    history = await member.locator("#history").inner_text()
    assert "email: đã gửi / delivered" in history and "(2 lần / attempts)" in history
    assert f"→ {HEAD}, {MEMBER}, thuky@ubkt-lamdong.vn" in history


async def test_the_head_and_the_finance_department_are_reminded_before_their_deadlines_once(loop: Loop) -> None:
    async with loop.pool.acquire() as conn:
        await create_account(conn, "ketoan@dalat.gov.vn", "Lê Văn Toán", "clerk", ["da-lat"])
    await _asked(loop)  # the explanation is due Monday 12 May 2025
    await loop.service.sweep(dt.date(2025, 5, 7))
    await loop.deliver()
    assert len(loop.inbox.to(HEAD)) == 1  # the request only: too early for a reminder
    for day in (dt.date(2025, 5, 8), dt.date(2025, 5, 8), dt.date(2025, 5, 9)):
        await loop.service.sweep(day)
        await loop.deliver()
    reminder = loop.inbox.to(HEAD)[-1]
    assert len(loop.inbox.to(HEAD)) == 2 and reminder["Subject"] == (
        "[PIM · Nhắc hạn / reminder] Giải trình trước / explain by 12/05/2025 — Thành phố Đà Lạt: Chậm so với tiến độ"
        " / below pace — Giải ngân vốn đầu tư công 2025"
    )
    assert "Nhắc hạn giải trình / your explanation is due by: 12/05/2025" in reminder.get_content()
    assert loop.link(HEAD, "explain")  # the reminder carries the head's own link to the form

    await loop.service.sweep(dt.date(2025, 6, 3))  # May's report is due Thursday 5 June; nothing has come
    await loop.deliver()
    (owed,) = loop.inbox.to("ketoan@dalat.gov.vn")
    assert owed["Subject"] == ("[PIM · Nhắc hạn / reminder] Báo cáo trước / report by 05/06/2025 — Thành phố Đà Lạt:"
                               " Giải ngân vốn đầu tư công 2025 (05/2025)")  # fmt: skip
    assert f"Gửi báo cáo / send it: {loop.url}/clerk" in owed.get_content()
    async with loop.pool.acquire() as conn:
        reminded = await conn.fetch(
            "SELECT payload->>'unit_code' AS unit, payload->>'deadline' AS deadline FROM events"
            " WHERE event_type = 'DeadlineReminded' AND payload->>'on' > $1 ORDER BY 1, 2",
            str(TODAY),  # (April's reports were reminded on the fixture's sweep, before the clerk had an account)
        )
        emailed = await conn.fetchval(
            "SELECT count(*) FROM alert_outbox WHERE channel = 'email' AND payload->>'kind' = 'DeadlineReminded'"
        )
    # Lâm Đồng owes May too and is reminded in the log; with no clerk's account, no e-mail waits for nobody
    assert [tuple(r) for r in reminded] == [("da-lat", "explanation"), ("da-lat", "report"), ("lam-dong", "report")]
    assert emailed == 2


async def test_each_committee_gets_last_months_digest_by_email_once_and_again_after_a_failure(loop: Loop) -> None:
    await _asked(loop)
    async with loop.pool.acquire() as conn:  # the digest counts by the day each step was recorded
        asked_on = await conn.fetchval("SELECT (requested_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date FROM alert_reviews")
    next_month = (asked_on.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    sender = EmailSender("127.0.0.1", loop.inbox_port, "pim@ubkt-lamdong.vn", loop.service.config)
    loop.inbox.refused.add("thuky@ubkt-lamdong.vn")  # the server refuses one address: nothing counts as sent
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send_due_digests(loop.pool, loop.service.config, sender, next_month, loop.url)
    loop.inbox.refused.clear()
    assert await send_due_digests(loop.pool, loop.service.config, sender, next_month, loop.url) == 1
    assert await send_due_digests(loop.pool, loop.service.config, sender, next_month, loop.url) == 0  # once
    (digest,) = [m for m in loop.inbox.to("thuky@ubkt-lamdong.vn") if "Tổng hợp tháng" in m["Subject"]]
    assert digest["Subject"] == f"[PIM] Tổng hợp tháng {asked_on:%m/%Y} / The month — {PROVINCIAL}"
    body = digest.get_content()
    assert re.search(r"Yêu cầu giải trình / Explanations asked +1\n", body)
    assert re.search(r"Đang mở \(hôm nay\) / Open \(today\) +1\n", body)
    assert f"{loop.url}/committee/digest?month={asked_on:%Y-%m}" in body
    assert any("Tổng hợp tháng" in m["Subject"] for m in loop.inbox.to(MEMBER))
