"""A group's totals corrected by its touched members' change equal the totals summed over every member,
to the digit and the scale (real PostgreSQL): a large group's lists are no longer summed again on each
report, and nothing a reader sees may tell the two apart."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import services.projector.recompute as recompute_module
from services.projector.assessment_totals import SharesBefore, shares_before
from shared.events import DisbursementReported, DomainEvent, FigureCorrected, TargetSet, UnitRegistered
from tests.integration.test_projection_order import project, recorded

pytestmark = pytest.mark.postgres

PROVINCES = ("hue", "da-nang", "quang-tri", "nghe-an", "ha-tinh", "lam-dong")
# As a reader gets them: the sums and the average as PostgreSQL writes them (scale included).
TOTALS_AS_TEXT = (
    "SELECT group_id, indicator, plan_year, as_of, members, assessed, no_report, not_assessed, total_basis::text,"
    " total_actual::text, average::text FROM assessment_totals ORDER BY 1, 2, 3, 4"
)


def setup() -> list[DomainEvent]:
    return [
        *(UnitRegistered(unit_code=u, name=f"Tỉnh {u}", level="province", committee="UBKT Trung ương")
          for u in PROVINCES),
        *(TargetSet(unit_code=u, indicator="public_investment_disbursement", plan_year=2025,
                    amount=Decimal(10**10 + n)) for n, u in enumerate(PROVINCES)),
    ]  # fmt: skip


def reported(unit: str, month: int, amount: Decimal) -> DisbursementReported:
    return DisbursementReported(unit_code=unit, plan_year=2025, category="central_budget",
                                as_of=dt.date(2025, month, 28), amount=amount)  # fmt: skip


class Corrections:
    """Counts the lists whose totals were corrected rather than summed again (the path under test)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lists = 0

        async def counted(*args: object) -> SharesBefore:
            before = await shares_before(*args)  # type: ignore[arg-type]
            self.lists += len(before.since)
            return before

        monkeypatch.setattr(recompute_module, "shares_before", counted)


async def totals_after(conn: asyncpg.Connection, batches: Sequence[Sequence[DomainEvent]]) -> list[tuple[object, ...]]:
    events, start = [], 1
    for batch in batches:
        events.append(recorded(list(batch), start))
        start += len(batch)
    await project(conn, events)
    return [tuple(r) for r in await conn.fetch(TOTALS_AS_TEXT)]


async def test_a_sum_whose_finest_figure_is_corrected_away_is_written_as_a_full_sum_would_be(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One province reports 10.25 (two decimals), the others whole numbers: the totals carry two decimals.
    Its figure corrected to 11 leaves every figure whole, and a sum over every member has no decimals; a
    correction by the change alone (−10.25 + 11) would keep them."""
    corrections = Corrections(monkeypatch)
    whole = [reported(u, 3, Decimal(1000 + n)) for n, u in enumerate(PROVINCES[1:])]
    finer = reported("hue", 3, Decimal("10.25"))
    corrected = FigureCorrected(unit_code="hue", plan_year=2025, category="central_budget",
                                indicator="public_investment_disbursement", as_of=dt.date(2025, 3, 28),
                                amount=Decimal(11), reason="đối chiếu Kho bạc")  # fmt: skip
    async with pool.acquire() as conn:
        one_by_one = await totals_after(conn, [setup(), [*whole, finer], [corrected]])
        assert corrections.lists > 0  # the correction's batch went the corrected path
        at_once = await totals_after(conn, [[*setup(), *whole, finer, corrected]])
    assert one_by_one == at_once
    march = [r for r in at_once if r[3] == dt.date(2025, 3, 28)]
    assert march and all(r[9] == str(sum(range(1000, 1005)) + 11) for r in march)


amounts = st.one_of(
    st.integers(0, 10**9).map(Decimal),
    st.integers(0, 10**9).map(lambda n: Decimal(n) / 10),
    st.integers(0, 10**9).map(lambda n: Decimal(n) / 100),
)
report = st.builds(reported, st.sampled_from(PROVINCES), st.integers(1, 12), amounts)


async def test_totals_corrected_report_by_report_equal_those_summed_at_once(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random reports (late, superseding, new dates, finer and coarser figures) for six provinces, a few
    at a time as they come: every list's totals, as text, equal those of one batch of all of them with the
    registry (a new registry sums every list over every member)."""
    corrections = Corrections(monkeypatch)
    loop = asyncio.get_running_loop()
    async with pool.acquire() as conn:

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)  # fmt: skip
        @given(reports=st.lists(report, min_size=2, max_size=24), data=st.data())
        def check(reports: list[DisbursementReported], data: st.DataObject) -> None:
            cuts = sorted(data.draw(st.sets(st.integers(1, len(reports) - 1), max_size=12)))
            batches = [reports[a:b] for a, b in zip([0, *cuts], [*cuts, len(reports)], strict=True)]
            at_once = asyncio.run_coroutine_threadsafe(totals_after(conn, [[*setup(), *reports]]), loop).result(60)
            batched = asyncio.run_coroutine_threadsafe(totals_after(conn, [setup(), *batches]), loop).result(60)
            assert batched == at_once

        await asyncio.to_thread(check)
    assert corrections.lists > 0
