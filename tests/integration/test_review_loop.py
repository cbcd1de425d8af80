"""The review loop in the alerts service and its API: the committee asks the answerable head to explain an
alert by a date in working days; the head asked (and no one else) answers with causes from the taxonomy and
commitments; the committee concludes with a typed outcome. Every step is an event; the review's tables
rebuilt from the log equal the live ones."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg
import httpx

from services.alerts import AlertsService
from services.alerts.api import create_alerts_app
from services.alerts.queries import monthly_digest
from services.alerts.rebuild import rebuild_alerts
from shared.auth import ACCOUNT_HEADER, create_account, create_token
from shared.events import Commitment
from shared.settings import Settings
from tests.integration.alert_fixtures import DISB, Clock, Facts, alerts_service

THEIRS = f"da-lat/{DISB}/below_pace/2025"


async def _rows(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    async with pool.acquire() as conn:
        return {
            table: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]
            for table in (
                "alert_reviews",
                "alert_commitments",
                "alert_deadline_escalations",
                "alert_reminders",
                "alerts",
            )
        }


async def test_a_committee_asks_the_head_explains_with_commitments_and_the_committee_concludes(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    facts, clock = Facts(pool), Clock(dt.date(2025, 5, 5))  # a Monday
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.report("da-lat", 3, 60)
    await service.sweep()
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO ingest_units (unit_code, parent_code) VALUES ('lam-dong', NULL), ('da-lat', 'lam-dong')"
        )
        committee = {"Authorization": f"Bearer {await create_token(conn, 'UBKT Lâm Đồng', 'committee', ['da-lat'])}"}
        portal = await create_token(conn, "portal", "portal")
        ha = await create_account(conn, "ha@dalat.gov.vn", "Trần Thị Hà", "head", ["da-lat"], leader_id="L3")
        tu = await create_account(conn, "tu@lamdong.gov.vn", "Nguyễn Ngọc Tú", "head", ["lam-dong"], leader_id="L1")
    as_ha = {"Authorization": f"Bearer {portal}", ACCOUNT_HEADER: ha.account_id}
    as_tu = {"Authorization": f"Bearer {portal}", ACCOUNT_HEADER: tu.account_id}
    explanation = {
        "causes": ["site_clearance", "late_allocation"],
        "text": "Vướng giải phóng mặt bằng dự án đường vành đai; vốn giao chậm 2 tháng",
        "document": "Báo cáo số 45/BC-UBND",
        "commitments": [{"indicator": DISB, "by": "2025-06-30", "rate": "0.30"}],
    }
    app = create_alerts_app(pool, service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://alerts") as client:
        early = await client.post(f"/v1/alerts/{THEIRS}/explanation", json=explanation, headers=as_ha)
        assert early.status_code == 409 and "no explanation" in early.json()["detail"]  # not asked yet
        asked = await client.post(
            f"/v1/alerts/{THEIRS}/explanation-request", json={"note": "Giải trình trước cuộc họp"}, headers=committee
        )
        assert asked.status_code == 200, asked.text
        assert asked.json()["event"]["due"] == "2025-05-12"  # five working days from Monday 5 May
        assert asked.json()["event"]["leader_name"] == "Trần Thị Hà"  # the head PIM names for those months
        again = await client.post(f"/v1/alerts/{THEIRS}/explanation-request", json={}, headers=committee)
        assert again.status_code == 409

        unknown = await client.post(f"/v1/alerts/{THEIRS}/explanation", headers=as_ha,
                                    json=explanation | {"causes": ["weather_gods"]})  # fmt: skip
        assert unknown.status_code == 422 and "unknown cause 'weather_gods'" in unknown.json()["detail"]
        no_target = explanation | {"commitments": [{"indicator": DISB, "by": "2025-06-30"}]}
        vague = await client.post(f"/v1/alerts/{THEIRS}/explanation", headers=as_ha, json=no_target)
        assert vague.status_code == 422 and "a rate or an amount" in vague.text
        other_head = await client.post(f"/v1/alerts/{THEIRS}/explanation", json=explanation, headers=as_tu)
        assert other_head.status_code == 404  # asked of someone else: as if there were none
        answered = await client.post(f"/v1/alerts/{THEIRS}/explanation", json=explanation, headers=as_ha)
        assert answered.status_code == 200, answered.text
        twice = await client.post(f"/v1/alerts/{THEIRS}/explanation", json=explanation, headers=as_ha)
        assert twice.status_code == 409

        found = (await client.get(f"/v1/alerts/{THEIRS}", headers=committee)).json()
        assert found["review"]["explained_by"] == "Trần Thị Hà <ha@dalat.gov.vn>" and not found["review"]["on_behalf"]
        assert found["review"]["causes"] == ["site_clearance", "late_allocation"]
        assert [(c["due"], c["rate"], c["amount"]) for c in found["commitments"]] == [("2025-06-30", "0.30", None)]
        naming = (await client.get("/v1/alerts/naming-me", headers=as_ha)).json()["alerts"]
        assert [(a["fingerprint"], a["explanation_due"]) for a in naming if a["explanation_due"]] == [
            (THEIRS, "2025-05-12")
        ]  # the head sees what is asked of them, and by when

        concluded = await client.post(f"/v1/alerts/{THEIRS}/resolve", headers=committee, json={
            "conclusion": "Phê bình; yêu cầu đạt 30 % trước 30/6", "outcome": "criticism",
            "document": "Thông báo kết luận số 12-TB/UBKT"})  # fmt: skip
        assert concluded.status_code == 200, concluded.text
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT conclusion_outcome, conclusion_document FROM alerts WHERE fingerprint = $1",
                                  THEIRS)  # fmt: skip
        kinds = [r[0] for r in await conn.fetch(
            "SELECT event_type FROM events WHERE payload->>'fingerprint' = $1 ORDER BY position", THEIRS)]  # fmt: skip
    assert tuple(row) == ("criticism", "Thông báo kết luận số 12-TB/UBKT")
    assert kinds == ["AlertRaised", "ExplanationRequested", "ExplanationSubmitted", "AlertResolved"]

    async with pool.acquire() as conn:  # the month the steps were recorded in (Vietnam's time)
        month = await conn.fetchval(
            "SELECT to_char(requested_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM') FROM alert_reviews"
        )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://alerts") as client:
        digest = (await client.get("/v1/review/digest", params={"month": month}, headers=committee)).json()
        wrong = await client.get("/v1/review/digest", params={"month": "2025-13"}, headers=committee)
    assert wrong.status_code == 422
    assert {k: digest[k] for k in ("asked", "explained", "concluded", "concluded_with_fault", "promises_due")} == {
        "asked": 1, "explained": 1, "concluded": 1, "concluded_with_fault": 1, "promises_due": 0,
    }  # its jurisdiction's month: the promise is due in June 2025, not in this month  # fmt: skip
    assert digest["opened"] >= 1

    live = await _rows(pool)
    await rebuild_alerts(pool)
    assert await _rows(pool) == live  # the review is a projection of its events


async def test_a_clerk_answers_on_the_heads_behalf_only_for_their_own_unit(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    service, _, _ = await _asked(settings, pool)
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO ingest_units (unit_code, parent_code) VALUES ('da-lat', NULL), ('hue', NULL)")
        theirs = await create_token(conn, "Sở Tài chính Lâm Đồng", "department", ["da-lat"])
        other = await create_token(conn, "Sở Tài chính Huế", "department", ["hue"])
    body = {"causes": ["contractor_capacity"], "text": "Nhà thầu thiếu năng lực thi công"}
    app = create_alerts_app(pool, service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://alerts") as client:
        outside = await client.post(f"/v1/alerts/{THEIRS}/explanation", json=body,
                                    headers={"Authorization": f"Bearer {other}"})  # fmt: skip
        assert outside.status_code == 404
        on_behalf = await client.post(f"/v1/alerts/{THEIRS}/explanation", json=body,
                                      headers={"Authorization": f"Bearer {theirs}"})  # fmt: skip
        assert on_behalf.status_code == 200, on_behalf.text
        event = on_behalf.json()["event"]
    assert (event["on_behalf"], event["by"], event["leader_id"]) == (True, "Sở Tài chính Lâm Đồng", "L3")


async def test_the_figures_decide_each_commitment_and_a_missed_one_raises_an_alert_naming_its_maker(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """Đà Lạt's head promised 30 % and 10 % by 30 June: its report of 30 June shows 20 %. The first is
    missed (an alert of its own, naming her, that the next sweeps leave open), the second kept; a promise for
    31 July with no report is decided by the last report once the grace period is over."""
    service, clock, facts = await _asked(settings, pool)
    promises = [
        Commitment(indicator=DISB, by=dt.date(2025, 6, 30), rate=Decimal("0.30")),
        Commitment(indicator=DISB, by=dt.date(2025, 6, 30), rate=Decimal("0.10")),
        Commitment(indicator=DISB, by=dt.date(2025, 7, 31), amount=Decimal(500)),
    ]
    await service.submit_explanation(THEIRS, "Trần Thị Hà <ha@dalat.gov.vn>", "L3", False, ["site_clearance"],
                                     "Vướng mặt bằng", commitments=promises)  # fmt: skip
    clock.today = dt.date(2025, 6, 30)
    await service.sweep()
    assert await _outcomes(pool) == [None, None, None]  # the date has come; no report of it yet
    await facts.report("da-lat", 6, 200)
    clock.today = dt.date(2025, 7, 3)
    await service.sweep()
    assert await _outcomes(pool) == [("missed", "2025-06-30", "0.2"), ("kept", "2025-06-30", "0.2"), None]
    missed = await _open_missed(pool)
    assert [(m["responsible_leader_name"], m["committee"]) for m in missed] == [
        ("Trần Thị Hà", "Ủy ban Kiểm tra Tỉnh ủy Lâm Đồng")
    ]
    assert missed[0]["summary"].startswith("Không giữ cam kết đạt 30,00 % trước 30/06/2025: đạt 20,00 %")
    clock.today = dt.date(2025, 8, 1)
    await service.sweep()  # the grace period of the 31 July promise runs: undecided still
    assert (await _outcomes(pool))[2] is None
    clock.today = dt.date(2025, 8, 15)  # ten working days after 31 July have passed with no report
    await service.sweep()
    assert (await _outcomes(pool))[2] == ("missed", "2025-06-30", "200")  # the last report before: 200 of 500
    assert len(await _open_missed(pool)) == 2  # the sweeps leave the committee's to close
    async with pool.acquire() as conn:  # June's promises, in a committee's monthly digest
        june = await monthly_digest(conn, dt.date(2025, 6, 1), dt.date(2025, 6, 30), clock.today, None)
    assert (june["promises_due"], june["promises_kept"], june["promises_missed"]) == (2, 1, 1)

    live = await _rows(pool)
    await rebuild_alerts(pool)
    assert await _rows(pool) == live


async def _outcomes(pool: asyncpg.Pool) -> list[tuple[str, str, str] | None]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT outcome, figures_as_of, reached FROM alert_commitments ORDER BY ordinal")
    return [None if r["outcome"] is None else (r["outcome"], str(r["figures_as_of"]), f"{r['reached'].normalize():f}")
            for r in rows]  # fmt: skip


async def _open_missed(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        rows: list[asyncpg.Record] = await conn.fetch(
            "SELECT * FROM alerts WHERE rule = 'commitment_missed' AND status = 'open' ORDER BY fingerprint"
        )
    return rows


async def test_an_explanation_not_given_by_its_due_date_escalates_once_one_level_up(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    service, clock, _ = await _asked(settings, pool)  # due Monday 12 May
    for day in (dt.date(2025, 5, 12), dt.date(2025, 5, 13), dt.date(2025, 5, 14)):
        clock.today = day
        await service.sweep()
    escalations = await _escalations(pool)
    assert escalations == [
        (THEIRS, "Ủy ban Kiểm tra Tỉnh ủy Lâm Đồng", "Ủy ban Kiểm tra Trung ương",
         "không giải trình trước hạn 12/05/2025 / no explanation by 2025-05-12", "2025-05-13"),
    ]  # the day after its due date, once; not before, not again  # fmt: skip
    live = await _rows(pool)
    await rebuild_alerts(pool)
    assert await _rows(pool) == live


async def _escalations(pool: asyncpg.Pool) -> list[tuple[str, ...]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT payload FROM events WHERE event_type = 'AlertEscalated' AND payload->>'deadline' IS NOT NULL"
            " ORDER BY position"
        )
    return [tuple(r["payload"][k] for k in ("fingerprint", "from_committee", "to_committee", "reason", "as_of"))
            for r in rows]  # fmt: skip


async def _asked(settings: Settings, pool: asyncpg.Pool) -> tuple[AlertsService, Clock, Facts]:
    """Đà Lạt behind pace on Monday 5 May 2025, and its head asked to explain (due Monday 12 May)."""
    facts, clock = Facts(pool), Clock(dt.date(2025, 5, 5))
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.report("da-lat", 3, 60)
    await service.sweep()
    await service.request_explanation(THEIRS, "UBKT Lâm Đồng")
    return service, clock, facts
