"""Reporting on time is an indicator of its own: the months a unit owes, received, received by the due day,
its rate and rank in its group, as of a date; a past record never moves; the missing-report alert reads the
same months."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import asyncpg
import pytest

from services.alerts.config import AlertConfig
from services.alerts.rules import evaluate
from services.alerts.unit_year_facts import load_facts
from services.projector.assessment import DEFAULT_CONFIG
from services.projector.progress_rules import ProgressRules
from services.projector.reporting_on_time import reporting, reporting_json
from shared.events import DisbursementReported, UnitsMerged
from tests.integration.test_past_lists import DISB, apply, plan, unit

pytestmark = pytest.mark.postgres
D = Decimal


def month_end(month: int) -> dt.date:
    return dt.date(2025, month + 1, 1) - dt.timedelta(days=1)


def report(code: str, month: int, known_on: dt.date) -> DisbursementReported:
    """A cumulative report for the month, its document dated `known_on` (the day it counts as received)."""
    return DisbursementReported(unit_code=code, plan_year=2025, category="central_budget", as_of=month_end(month),
                                amount=D(100 * month), document_date=known_on)  # fmt: skip


async def record_on(conn: asyncpg.Connection, day: dt.date) -> str:
    return json.dumps(reporting_json(await reporting(conn, day, DISB, 2025, "national")), ensure_ascii=False)


async def test_months_due_received_and_on_time_rank_the_units_and_a_past_record_stays(pool: asyncpg.Pool) -> None:
    """a: January on time (due 5 February), February late (9 March), March missing; b: all on time. As of
    10 April (March due on the 5th): a 1 of 3 on time, b 3 of 3, the group 4 of 6. March arriving on 20 April
    leaves the record of 10 April as it was, and makes a's March late, not missing, from then."""
    async with pool.acquire() as conn:
        await apply(conn, [unit("a"), unit("b"), plan("a", 1000), plan("b", 1000),
                           report("a", 1, dt.date(2025, 2, 3)), report("a", 2, dt.date(2025, 3, 9)),
                           report("b", 1, dt.date(2025, 2, 1)), report("b", 2, dt.date(2025, 3, 1)),
                           report("b", 3, dt.date(2025, 4, 5))], start=1)  # fmt: skip
        on_april_10 = await record_on(conn, dt.date(2025, 4, 10))
        (group,) = await reporting(conn, dt.date(2025, 4, 10), DISB, 2025, "national")
        await apply(conn, [report("a", 3, dt.date(2025, 4, 20))], start=100)
        assert await record_on(conn, dt.date(2025, 4, 10)) == on_april_10
        (later,) = await reporting(conn, dt.date(2025, 4, 20), DISB, 2025, "national")
    assert (group.expected, group.on_time, round(group.rate, 4)) == (6, 4, D("0.6667"))
    b, a = group.units
    assert (b.unit_code, b.expected, b.on_time, b.rate, b.rank, b.standing) == ("b", 3, 3, 1, 1, "at_or_above")
    assert (a.unit_code, a.received, a.on_time, a.late, a.missing, a.rank, a.standing) == ("a", 2, 1, 1, 1, 2, "below")
    a_later = next(u for u in later.units if u.unit_code == "a")
    assert (a_later.received, a_later.on_time, a_later.late, a_later.missing) == (3, 1, 2, 0)
    assert json.loads(on_april_10)[0]["rate"] == "0.66666666666666666667"  # a decimal string, never a float


async def test_the_missing_report_alert_reads_the_projectors_months(pool: asyncpg.Pool) -> None:
    """The alert finds March missing and February late from the projector's months and due days; a unit
    merged away on 1 March owes nothing from March on (its successor reports)."""
    async with pool.acquire() as conn:
        await apply(conn, [unit("a"), unit("c"), plan("a", 1000), plan("c", 1000),
                           report("a", 1, dt.date(2025, 2, 3)), report("a", 2, dt.date(2025, 3, 9)),
                           report("c", 1, dt.date(2025, 2, 3)),
                           UnitsMerged(unit_code="a", predecessor_codes=["c"], effective_date=dt.date(2025, 2, 1))],
                    start=1)  # fmt: skip
        facts = await load_facts(conn, "a", 2025, ProgressRules())
        merged_away = await load_facts(conn, "c", 2025, ProgressRules())
        due = {r["period_end"]: r["due_on"] for r in await conn.fetch("SELECT * FROM reporting_periods")}
    findings = {f.period: f.evidence for year in facts.indicators for f in evaluate(year, AlertConfig(),
                dt.date(2025, 4, 10)) if f.rule == "missing_report"}  # fmt: skip
    assert findings["2025-03"]["days_overdue"] == "5" and findings["2025-02"]["days_late"] == "4"
    assert "2025-01" not in findings
    assert due[month_end(3)] == month_end(3) + dt.timedelta(days=DEFAULT_CONFIG.report_due_days)
    assert not [f for year in merged_away.indicators for f in evaluate(year, AlertConfig(), dt.date(2025, 4, 10))
                if f.rule == "missing_report"]  # fmt: skip
