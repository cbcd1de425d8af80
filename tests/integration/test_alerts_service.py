"""The alerts service against real PostgreSQL: lifecycle events in the store, one open alert per
fingerprint, escalation up the registry, the clock driving deadline rules, committees' actions."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.alerts.api import create_alerts_app
from services.alerts.service import AlertClosed
from services.alerts.unit_year_facts import load_facts, stale_evaluations
from shared.auth import create_token
from shared.events import AlertRefreshed, TargetSet, UnitRegistered
from shared.pace import PaceRules
from shared.settings import Settings
from tests.integration.alert_fixtures import CENTRAL, DISB, PROVINCIAL, Clock, Facts, alerts_service
from tests.integration.receivers import serving

pytestmark = pytest.mark.postgres
PACE_KEY = f"lam-dong/{DISB}/below_pace/2025"


async def stored_alert_events(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event_type, payload->>'fingerprint' AS fingerprint FROM events"
            " WHERE event_type LIKE 'Alert%' ORDER BY position"
        )
    return [(r["event_type"], r["fingerprint"]) for r in rows]


async def alert(pool: asyncpg.Pool, fingerprint: str) -> asyncpg.Record:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM alerts WHERE fingerprint = $1", fingerprint)
    assert row is not None, fingerprint
    return row


async def test_raised_once_refreshed_while_open_and_resolved_when_back_on_track(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    facts, clock = Facts(pool), Clock(dt.date(2025, 5, 3))
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.report("lam-dong", 3, 60)  # 6 % against a pace of ~20 %: critical
    raised = await service.evaluate("lam-dong", 2025)
    assert ("AlertRaised", PACE_KEY) in [(type(e).__name__, getattr(e, "fingerprint", "")) for e in raised]
    row = await alert(pool, PACE_KEY)
    assert (row["severity"], row["responsible_leader_name"], row["committee"]) == (
        "critical",
        "Nguyễn Ngọc Tú",
        PROVINCIAL,
    )

    await facts.report("lam-dong", 4, 150)  # still behind: the same alert carries the new evidence, by an event
    (refreshed,) = [e for e in await service.evaluate("lam-dong", 2025) if getattr(e, "fingerprint", "") == PACE_KEY]
    assert isinstance(refreshed, AlertRefreshed)
    assert (refreshed.previous_severity, refreshed.severity, refreshed.evidence["as_of"]) == (
        "critical", "warning", "2025-04-30",
    )  # fmt: skip
    row = await alert(pool, PACE_KEY)
    assert row["evidence"]["as_of"] == "2025-04-30" and row["severity"] == "warning"
    assert await service.evaluate("lam-dong", 2025, dt.date(2025, 5, 3)) == []  # nothing changed: no event

    await facts.correct("lam-dong", 4, 260)  # corrected figures: on track again
    events = await service.evaluate("lam-dong", 2025)
    assert ("AlertResolved", PACE_KEY) in [(type(e).__name__, getattr(e, "fingerprint", "")) for e in events]
    assert (await alert(pool, PACE_KEY))["status"] == "resolved"
    stored = [e for e in await stored_alert_events(pool) if e[1] == PACE_KEY]
    assert stored == [("AlertRaised", PACE_KEY), ("AlertRefreshed", PACE_KEY), ("AlertResolved", PACE_KEY)]
    async with pool.acquire() as conn:  # each lifecycle event went to the outbox for the Kafka topic
        kinds = await conn.fetch("SELECT payload->>'kind' AS kind FROM alert_outbox WHERE channel = 'kafka'")
    assert {"AlertRaised", "AlertResolved"} <= {r["kind"] for r in kinds}


async def test_behind_on_three_reports_escalates_once_to_the_committee_one_level_up(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    facts, clock = Facts(pool), Clock(dt.date(2025, 6, 3))
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    for month, amount in ((3, 60), (4, 80)):
        await facts.report("lam-dong", month, amount)
    await service.evaluate("lam-dong", 2025)
    assert (await alert(pool, PACE_KEY))["escalated_to"] is None
    await facts.report("lam-dong", 5, 100)
    events = await service.evaluate("lam-dong", 2025)
    (escalated,) = [e for e in events if type(e).__name__ == "AlertEscalated"]
    assert (escalated.from_committee, escalated.to_committee) == (PROVINCIAL, CENTRAL)  # type: ignore[attr-defined]
    assert (await alert(pool, PACE_KEY))["escalated_to"] == CENTRAL
    await facts.report("lam-dong", 5, 110)
    assert not [e for e in await service.evaluate("lam-dong", 2025) if type(e).__name__ == "AlertEscalated"]


async def test_the_clock_alone_raises_a_missing_report_and_the_sweep_finds_it(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    facts, clock = Facts(pool), Clock(dt.date(2025, 2, 3))
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.report("da-lat", 1, 30)
    await service.sweep()
    async with pool.acquire() as conn:
        assert await stale_evaluations(conn, clock.today) == []
        clock.today = dt.date(2025, 3, 6)  # February's report was due on 5 March
        assert ("da-lat", 2025) in await stale_evaluations(conn, clock.today)
    events = await service.sweep()
    keys = {getattr(e, "fingerprint", "") for e in events}
    assert f"da-lat/{DISB}/missing_report/2025/2025-02" in keys
    missing = await alert(pool, f"da-lat/{DISB}/missing_report/2025/2025-02")
    assert missing["responsible_leader_name"] == "Trần Thị Hà" and missing["evidence"]["days_overdue"] == "1"


async def test_backfill_as_of_a_past_date_sees_only_what_was_known_then(settings: Settings, pool: asyncpg.Pool) -> None:
    facts, clock = Facts(pool), Clock(dt.date(2025, 12, 1))
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.report("da-lat", 1, 30)
    await facts.report("da-lat", 2, 60, late_days=20)  # known on 20 March, after its deadline
    await service.evaluate("da-lat", 2025, dt.date(2025, 3, 10))
    row = await alert(pool, f"da-lat/{DISB}/missing_report/2025/2025-02")
    assert "days_overdue" in row["evidence"] and "arrived" not in row["evidence"]
    await service.evaluate("da-lat", 2025, dt.date(2025, 3, 25))  # now known, and late
    row = await alert(pool, f"da-lat/{DISB}/missing_report/2025/2025-02")
    assert row["status"] == "open" and row["evidence"]["days_late"] == "17"


async def test_confidence_vote_names_the_leader_voted_on(settings: Settings, pool: asyncpg.Pool) -> None:
    facts, clock = Facts(pool), Clock(dt.date(2025, 10, 20))
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.vote("lam-dong", "L2", low=20)
    await service.sweep()
    row = await alert(pool, "lam-dong/-/confidence_vote/2025/L2@2025-10-15")
    assert (row["severity"], row["responsible_leader_name"], row["indicator"]) == ("critical", "Đặng Văn Mai", None)


async def test_committee_actions_are_events_and_a_silence_holds_back_people_channels(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    facts, clock = Facts(pool), Clock(dt.date(2025, 6, 3))
    service = alerts_service(
        settings, pool, clock, pim_alert_webhook_url="http://127.0.0.1:9/hook", pim_alert_webhook_secret="s"
    )
    await facts.registry()
    await facts.report("lam-dong", 3, 60)
    await service.evaluate("lam-dong", 2025)
    await service.acknowledge(PACE_KEY, "Ủy viên Phạm Thị Nga", "đã giao Đoàn kiểm tra")
    await service.silence(PACE_KEY, dt.date(2025, 7, 1), "chờ kết quả kiểm tra", "Ủy viên Phạm Thị Nga")
    await facts.report("lam-dong", 4, 80)
    await facts.report("lam-dong", 5, 100)
    await service.evaluate("lam-dong", 2025)  # escalates while silenced
    await service.resolve(PACE_KEY, "Chủ nhiệm Ủy ban", "Đã kiểm điểm, yêu cầu khắc phục trong quý III")
    with pytest.raises(AlertClosed):
        await service.acknowledge(PACE_KEY, "someone")

    stored = [kind for kind, key in await stored_alert_events(pool) if key == PACE_KEY]
    assert stored == [
        "AlertRaised", "AlertAcknowledged", "AlertSilenced", "AlertRefreshed", "AlertEscalated", "AlertResolved",
    ]  # fmt: skip
    row = await alert(pool, PACE_KEY)
    assert (row["status"], row["resolved_by"], row["acknowledged_by"]) == (
        "resolved", "Chủ nhiệm Ủy ban", "Ủy viên Phạm Thị Nga",
    )  # fmt: skip
    assert row["resolution"] == "Đã kiểm điểm, yêu cầu khắc phục trong quý III"
    async with pool.acquire() as conn:
        outbox = await conn.fetch(
            "SELECT payload->>'kind' AS kind, array_agg(channel ORDER BY channel) AS channels FROM alert_outbox"
            " WHERE payload->'alert'->>'fingerprint' = $1 GROUP BY 1",
            PACE_KEY,
        )
    channels = {r["kind"]: r["channels"] for r in outbox}
    assert channels == {
        "AlertRaised": ["kafka", "webhook"],
        "AlertAcknowledged": ["kafka"],
        "AlertSilenced": ["kafka"],
        "AlertRefreshed": ["kafka"],  # the evidence of May: the severity stayed
        "AlertEscalated": ["kafka"],  # silenced: people are not told
        "AlertResolved": ["kafka", "webhook"],  # a resolution always goes out
    }
    async with pool.acquire() as conn:
        await conn.execute("UPDATE alert_outbox SET delivered_at = now() WHERE channel = 'kafka'")
        admin = await create_token(conn, "admin", "admin")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_alerts_app(pool, service)),
                                 base_url="http://alerts") as client:  # fmt: skip
        found = await client.get(f"/v1/alerts/{PACE_KEY}", headers={"Authorization": f"Bearer {admin}"})
    history = found.json()["history"]  # the alert page's "every event, every notification"
    assert [(step["type"], step["by"]) for step in history] == [
        ("AlertRaised", "system"), ("AlertAcknowledged", "Ủy viên Phạm Thị Nga"),
        ("AlertSilenced", "Ủy viên Phạm Thị Nga"), ("AlertRefreshed", "system"), ("AlertEscalated", "system"),
        ("AlertResolved", "Chủ nhiệm Ủy ban"),
    ]  # fmt: skip
    assert (history[1]["text"], history[2]["until"]) == ("đã giao Đoàn kiểm tra", "2025-07-01")
    assert history[-1]["text"] == "Đã kiểm điểm, yêu cầu khắc phục trong quý III"
    assert [(n["channel"], n["state"]) for n in history[0]["notifications"]] == [
        ("kafka", "delivered"), ("webhook", "waiting"),
    ]  # fmt: skip


async def test_committee_http_api_is_scoped_to_the_token_jurisdiction(settings: Settings, pool: asyncpg.Pool) -> None:
    facts, clock = Facts(pool), Clock(dt.date(2025, 5, 3))
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.report("lam-dong", 3, 60)
    await facts.report("da-lat", 3, 60)
    await service.sweep()
    async with pool.acquire() as conn:
        # the ingest registry drives jurisdiction; da-lat lies below lam-dong
        await conn.execute(
            "INSERT INTO ingest_units (unit_code, parent_code) VALUES ('lam-dong', NULL), ('da-lat', 'lam-dong')"
        )
        provincial = await create_token(conn, "UBKT Tỉnh ủy Lâm Đồng", "committee", ["da-lat"])
        department = await create_token(conn, "Sở Tài chính", "department", ["da-lat"])
    app = create_alerts_app(pool, service)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://alerts") as client:
        auth = {"Authorization": f"Bearer {provincial}"}
        listed = (await client.get("/v1/alerts", headers=auth)).json()
        assert listed["count"] > 0 and {a["unit_code"] for a in listed["alerts"]} == {"da-lat"}
        assert {a["dashboard_url"] for a in listed["alerts"]} == {
            "http://localhost:3000/d/pim-unit/pim-unit?var-unit=da-lat"
        }
        theirs = f"da-lat/{DISB}/below_pace/2025"
        response = await client.post(f"/v1/alerts/{theirs}/ack", json={"note": "đã nhận"}, headers=auth)
        assert response.status_code == 200, response.text
        assert (await alert(pool, theirs))["acknowledged_by"] == "UBKT Tỉnh ủy Lâm Đồng"
        outside = await client.post(f"/v1/alerts/{PACE_KEY}/ack", json={}, headers=auth)
        assert outside.status_code == 404
        past = await client.post(
            f"/v1/alerts/{theirs}/silence", json={"until": "2025-01-01", "reason": "x"}, headers=auth
        )
        assert past.status_code == 422
        no_conclusion = await client.post(f"/v1/alerts/{theirs}/resolve", json={}, headers=auth)
        assert no_conclusion.status_code == 422
        done = await client.post(f"/v1/alerts/{theirs}/resolve", json={"conclusion": "Đã xử lý"}, headers=auth)
        assert done.status_code == 200
        again = await client.post(f"/v1/alerts/{theirs}/resolve", json={"conclusion": "lần nữa"}, headers=auth)
        assert again.status_code == 409
        as_department = {"Authorization": f"Bearer {department}"}
        read = await client.get("/v1/alerts", params={"status": "all"}, headers=as_department)
        assert read.status_code == 200 and {a["unit_code"] for a in read.json()["alerts"]} == {"da-lat"}  # its own
        forbidden = await client.post(f"/v1/alerts/{theirs}/ack", json={}, headers=as_department)
        assert forbidden.status_code == 403  # a finance department reads its units' alerts; committees act
        assert (await client.get("/v1/alerts")).status_code == 401
        by_committee = (
            await client.get("/v1/alerts", params={"committee": PROVINCIAL, "status": "all"}, headers=auth)
        ).json()
        assert {a["fingerprint"] for a in by_committee["alerts"]} >= {theirs}


async def test_pim_alerts_evaluate_backfills_as_of_a_date(settings: Settings, pool: asyncpg.Pool) -> None:
    facts = Facts(pool)
    await facts.registry()
    await facts.report("da-lat", 1, 30)
    env = os.environ | {"DATABASE_URL": str(settings.database_url), "PIM_ALERTS_TODAY": "2030-01-01"}
    pim = str(Path(sys.executable).with_name("pim"))
    run = [pim, "alerts", "evaluate", "--as-of", "2025-03-06"]
    done = await asyncio.to_thread(subprocess.run, run, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Evaluated as of 2025-03-06" in done.stdout and "AlertRaised" in done.stdout
    missing = await alert(pool, f"da-lat/{DISB}/missing_report/2025/2025-02")
    assert missing["evidence"]["deadline"] == "2025-03-05" and missing["evidence"]["days_overdue"] == "1"
    async with pool.acquire() as conn:  # as of March 2025, nothing of later deadlines
        later = await conn.fetchval("SELECT count(*) FROM alerts WHERE period > '2025-02' AND rule = 'missing_report'")
    assert later == 0


async def _lam_dong_and_a_peer(facts: Facts) -> None:
    """The registry, and Gia Lai: a province of the same national group with a plan of its own."""
    await facts.registry()
    await facts.add(
        UnitRegistered(unit_code="gia-lai", name="Tỉnh Gia Lai", level="province", parent_code="vn", committee=CENTRAL),
        TargetSet(unit_code="gia-lai", indicator=DISB, plan_year=2025, amount=Decimal(1000)),
    )


async def test_a_peer_reporting_moves_a_unit_below_the_average_and_the_sweep_notices(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """Lâm Đồng's own facts do not change, but a peer's report lowers its standing: it is evaluated again."""
    facts, clock = Facts(pool), Clock(dt.date(2025, 4, 3))
    service = alerts_service(settings, pool, clock)
    await _lam_dong_and_a_peer(facts)
    await facts.report("lam-dong", 3, 190)  # 19 %: on pace, and alone in its peer group so far
    await service.sweep()
    peer_key = f"lam-dong/{DISB}/below_peer_average/2025"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM alerts WHERE fingerprint = $1", peer_key) == 0
    await facts.report("gia-lai", 3, 400)  # the national average rises above Lâm Đồng's rate
    async with pool.acquire() as conn:
        assert ("lam-dong", 2025) in await stale_evaluations(conn, clock.today)
    await service.sweep()
    row = await alert(pool, peer_key)
    assert row["status"] == "open" and Decimal(row["evidence"]["peer_average"]) == Decimal("0.295")


async def test_the_alerts_table_is_rebuilt_from_the_alert_events_row_for_row(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """After a mixed history — raised, refreshed (severity changed), acknowledged, silenced, escalated,
    resolved by the committee, raised again, a vote — `pim alerts rebuild` gives the same rows, timestamps
    included (an event's recorded_at is the now() of the transaction that applied it live)."""
    facts, clock = Facts(pool), Clock(dt.date(2025, 6, 3))
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.report("lam-dong", 3, 60)
    await service.evaluate("lam-dong", 2025)
    await service.acknowledge(PACE_KEY, "Ủy viên Phạm Thị Nga", "đã giao Đoàn kiểm tra")
    await facts.report("lam-dong", 4, 150)  # warning now: refreshed
    await service.silence(PACE_KEY, dt.date(2025, 7, 1), "chờ kết quả kiểm tra", "Ủy viên Phạm Thị Nga")
    await facts.report("lam-dong", 5, 160)
    await service.evaluate("lam-dong", 2025)
    await service.resolve(PACE_KEY, "Chủ nhiệm Ủy ban", "Đã kiểm điểm")
    await facts.report("lam-dong", 6, 170)
    await service.evaluate("lam-dong", 2025, dt.date(2025, 7, 3))  # raised again
    await facts.vote("lam-dong", "L2", low=20)
    await service.sweep(dt.date(2025, 10, 20))
    kinds = {kind for kind, _ in await stored_alert_events(pool)}
    assert {"AlertRaised", "AlertRefreshed", "AlertAcknowledged", "AlertSilenced", "AlertResolved"} <= kinds

    async def table() -> list[tuple[object, ...]]:
        async with pool.acquire() as conn:
            return [tuple(r) for r in await conn.fetch("SELECT * FROM alerts ORDER BY fingerprint")]

    live = await table()
    assert len(live) >= 2
    async with pool.acquire() as conn:  # damage it: a row lost, another changed by hand
        await conn.execute("DELETE FROM alerts WHERE rule = 'confidence_vote'")
        await conn.execute("UPDATE alerts SET severity = 'warning', summary = 'sửa tay'")
    env = {**os.environ, "DATABASE_URL": str(settings.database_url)}
    pim = str(Path(sys.executable).with_name("pim"))
    done = await asyncio.to_thread(subprocess.run, [pim, "alerts", "rebuild"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Rebuilt the alerts from" in done.stdout
    assert await table() == live


async def test_a_committees_resolution_sticks_when_a_peer_report_moves_the_average(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """The committee resolved Lâm Đồng's "below the average" finding; another province's report moves the
    average, Lâm Đồng is still below it, no worse: the resolution holds (it came back as a new alert)."""
    facts, clock = Facts(pool), Clock(dt.date(2025, 4, 3))
    service = alerts_service(settings, pool, clock)
    await _lam_dong_and_a_peer(facts)
    await facts.report("lam-dong", 3, 190)
    await facts.report("gia-lai", 3, 400)
    await service.sweep()
    peer_key = f"lam-dong/{DISB}/below_peer_average/2025"
    assert (await alert(pool, peer_key))["status"] == "open"
    await service.resolve(peer_key, "Chủ nhiệm Ủy ban", "Đã làm việc với tỉnh; chênh lệch do giải ngân ODA chậm")

    await facts.report("gia-lai", 3, 450)  # the average moves; Lâm Đồng is still below it
    async with pool.acquire() as conn:
        assert ("lam-dong", 2025) in await stale_evaluations(conn, clock.today)
    await service.sweep()

    row = await alert(pool, peer_key)
    assert (row["status"], row["resolved_by"]) == ("resolved", "Chủ nhiệm Ủy ban")
    after = [kind for kind, key in await stored_alert_events(pool) if key == peer_key]
    assert after == ["AlertRaised", "AlertResolved"]


async def test_a_committee_works_its_alerts_from_the_command_line_with_a_token_only(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    """`pim alerts list | ack | silence | resolve` are clients of the alerts API: no DATABASE_URL here."""
    facts, clock = Facts(pool), Clock(dt.date(2025, 4, 3))
    service = alerts_service(settings, pool, clock)
    await facts.registry()
    await facts.report("lam-dong", 3, 60)
    await facts.report("da-lat", 3, 60)
    await service.evaluate("lam-dong", 2025)
    await service.evaluate("da-lat", 2025)
    async with pool.acquire() as conn:
        provincial = await create_token(conn, "UBKT Tỉnh ủy Lâm Đồng", "committee", ["da-lat"])
    pim = str(Path(sys.executable).with_name("pim"))
    theirs, not_theirs = f"da-lat/{DISB}/below_pace/2025", PACE_KEY
    async with serving(create_alerts_app(pool, service)) as url:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env |= {"PIM_TOKEN": provincial, "PIM_ALERTS_API_URL": url}

        async def run(*args: str) -> subprocess.CompletedProcess[str]:
            return await asyncio.to_thread(subprocess.run, [pim, "alerts", *args], env=env, capture_output=True,
                                           text=True)  # fmt: skip

        listed = await run("list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert {json.loads(line)["unit_code"] for line in listed.stdout.splitlines()} == {"da-lat"}
        assert (await run("ack", theirs, "--note", "đã giao Đoàn kiểm tra")).returncode == 0
        silenced = await run("silence", theirs, "--until", "2025-05-01", "--reason", "chờ kết quả")
        assert silenced.returncode == 0, silenced.stdout + silenced.stderr
        resolved = await run("resolve", theirs, "--conclusion", "Đã kiểm điểm")
        assert resolved.returncode == 0 and "AlertResolved" in resolved.stdout
        outside = await run("resolve", not_theirs, "--conclusion", "x")
        assert outside.returncode == 1 and "404" in outside.stdout  # outside its jurisdiction: as if absent
    row = await alert(pool, theirs)
    assert (row["status"], row["acknowledged_by"], row["resolved_by"]) == ("resolved", "UBKT Tỉnh ủy Lâm Đồng",
                                                                           "UBKT Tỉnh ủy Lâm Đồng")  # fmt: skip
    assert (await alert(pool, not_theirs))["status"] == "open"


async def test_the_facts_version_counts_every_vote_of_the_year_not_only_each_leaders_latest(
    pool: asyncpg.Pool,
) -> None:
    """A vote recorded late about an earlier date (a backfill) is newer in the log than the leader's latest
    vote: the facts' version must see it, or a sweep would take the unit's evaluation for current."""
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO confidence_votes (position, unit_code, leader_id, vote_date, voters, high, confidence, low,"
            " band) VALUES ($1, 'lam-dong', $2, $3, 60, 10, 10, $4, 'none')",
            [
                (7, "L2", dt.date(2025, 10, 15), 20),
                (9, "L2", dt.date(2025, 3, 1), 5),
                (8, "L3", dt.date(2025, 6, 1), 1),
            ],
        )
        facts = await load_facts(conn, "lam-dong", 2025, PaceRules())
    assert facts.version == 9
    assert sorted((v.leader_id, v.vote_date) for v in facts.votes) == [
        ("L2", dt.date(2025, 10, 15)), ("L3", dt.date(2025, 6, 1))
    ]  # fmt: skip
