"""The projector's batch, its pure half: the rows a batch of ledger events writes into the fact tables and
what they touch (which progress rows to recompute, from which date; which "known on" snapshots), in
milliseconds and with no database. fact_tables.py writes these rows; the integration tests hold the tables."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from services.projector.fact_rows import FactRows
from services.projector.touched import EVER, ProgressKey
from shared.events import (
    DisbursementReported,
    Event,
    LeaderAppointed,
    RecordedEvent,
    Role,
    TargetSet,
    UnitRegistered,
    UnitsMerged,
)

DISBURSEMENT = "public_investment_disbursement"
# Recorded just before midnight UTC: already the next day in Vietnam, where a registration's day is counted.
RECORDED_AT = dt.datetime(2025, 3, 31, 20, 30, tzinfo=dt.UTC)


def recorded(position: int, event: Event) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(), position=position, stream_id="s", stream_version=position, event_type=event.type,
        schema_version=1, recorded_at=RECORDED_AT, submitted_by="test", channel="http", correlation_id=None,
        payload=event.model_dump(mode="json"),
    )  # fmt: skip


def test_a_batch_yields_each_tables_rows_with_their_positions_and_what_they_touch() -> None:
    batch = [
        recorded(
            1,
            UnitRegistered(
                unit_code="lam-dong", name="Tỉnh Lâm Đồng", level="province", committee="Ủy ban Kiểm tra Trung ương"
            ),
        ),
        recorded(
            2,
            LeaderAppointed(
                tenure_id="t1",
                unit_code="lam-dong",
                leader_id="l1",
                leader_name="Đặng Văn Mai",
                role=Role.HEAD,
                start_date=dt.date(2025, 6, 1),
            ),
        ),
        recorded(
            3,
            TargetSet(
                unit_code="lam-dong",
                indicator=DISBURSEMENT,
                plan_year=2025,
                amount=Decimal("1000000000000"),
                decision_date=dt.date(2025, 1, 10),
            ),
        ),
        recorded(
            4,
            DisbursementReported(
                unit_code="lam-dong",
                plan_year=2025,
                category="central_budget",
                as_of=dt.date(2025, 6, 30),
                amount=Decimal("412500000000.5"),
            ),
        ),
        recorded(
            5,
            UnitsMerged(
                unit_code="lam-dong",
                predecessor_codes=["dak-nong", "binh-thuan"],
                effective_date=dt.date(2025, 7, 1),
            ),
        ),
    ]
    rows = FactRows.of(batch)

    assert rows.units == [("lam-dong", "Tỉnh Lâm Đồng", "province", None, "Ủy ban Kiểm tra Trung ương", 1)]
    assert rows.versions[0][:4] == (1, "lam-dong", None, dt.date(2025, 4, 1))  # Vietnam's day, not UTC's
    assert rows.appointments == [("t1", "lam-dong", "l1", "Đặng Văn Mai", "head", None, dt.date(2025, 6, 1), 2)]
    assert [t[8] for t in rows.targets] == [3] and rows.targets[0][3] == Decimal("1000000000000")
    assert rows.target_history[0][6:8] == (dt.date(2025, 1, 10), dt.date(2025, 1, 10))  # known on, in force from
    (figure,) = rows.figures
    assert figure[0] == 4 and Decimal("412500000000.5") in figure  # exact money, never a float
    assert sorted(str(m[0]) for m in rows.mergers) == ["binh-thuan", "dak-nong"]

    key = ProgressKey("lam-dong", DISBURSEMENT, 2025)
    assert rows.touched.keys == {key: EVER}  # the plan changes every row of the year, the figure only from 30/06
    assert rows.touched.known[key] == dt.date(2025, 1, 10)
    assert rows.touched.known_span == (dt.date(2025, 1, 10), dt.date(2025, 3, 31))
    assert (rows.touched.registered, rows.touched.retenured, rows.touched.successors) == (
        {"lam-dong"}, {"lam-dong"}, {"lam-dong"},
    )  # fmt: skip


def test_a_figure_alone_touches_its_rows_from_its_date_and_the_snapshots_from_when_it_was_known() -> None:
    rows = FactRows.of([recorded(7, DisbursementReported(unit_code="hue", plan_year=2025, category="other",
                                                         as_of=dt.date(2025, 9, 30), amount=Decimal(5)))])  # fmt: skip
    key = ProgressKey("hue", DISBURSEMENT, 2025)
    assert rows.touched.keys == {key: dt.date(2025, 9, 30)}
    assert rows.touched.known == {key: dt.date(2025, 3, 31)}  # recorded then: no document date given
    assert rows.units == rows.targets == rows.alert_steps == []
    assert rows.touched.registered == rows.touched.retenured == rows.touched.successors == set()
