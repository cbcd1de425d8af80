"""Read models for the alerts tests, built by the real projector from purpose-made events."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import asyncpg

from services.alerts.config import AlertConfig, parse_alert_config
from services.alerts.service import AlertsService
from services.projector.progress_rules import ProgressRules
from shared.events import (
    ConfidenceVoteRecorded,
    DisbursementReported,
    DomainEvent,
    FigureCorrected,
    LeaderAppointed,
    RecordedEvent,
    Role,
    TargetSet,
    UnitRegistered,
)
from shared.settings import Settings
from tests.integration.projector_helpers import apply_events

DISB = "public_investment_disbursement"
PROVINCIAL = "Ủy ban Kiểm tra Tỉnh ủy Lâm Đồng"
CENTRAL = "Ủy ban Kiểm tra Trung ương"


# The same registry as the ingest API takes it (the pages read names and scopes from the ingest's registry).
API_REGISTRY = [
    {"unit_code": "vn", "name": "Cả nước", "level": "central", "committee": "UBKT Trung ương"},
    {"unit_code": "lam-dong", "name": "Tỉnh Lâm Đồng", "level": "province", "parent_code": "vn",
     "committee": "UBKT Tỉnh ủy Lâm Đồng"},
    {"unit_code": "da-lat", "name": "Thành phố Đà Lạt", "level": "district", "parent_code": "lam-dong",
     "committee": "UBKT Tỉnh ủy Lâm Đồng"},
]  # fmt: skip


def month_end(month: int) -> dt.date:
    return dt.date(2025 + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


@dataclass
class Facts:
    """Feeds events to the projector as the ledger would, one batch at a time."""

    pool: asyncpg.Pool
    positions: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_000))

    async def add(self, *events: DomainEvent, recorded_on: dt.date = dt.date(2025, 1, 1)) -> None:
        batch = [
            RecordedEvent(
                event_id=uuid.uuid4(),
                position=next(self.positions),
                stream_id=event.stream_id(),
                stream_version=1,
                event_type=event.model_dump()["type"],
                schema_version=1,
                recorded_at=dt.datetime.combine(recorded_on, dt.time(), tzinfo=dt.UTC),
                submitted_by="test",
                channel="test",
                correlation_id=None,
                payload=event.model_dump(mode="json"),
            )
            for event in events
        ]
        async with self.pool.acquire() as conn, conn.transaction():
            await apply_events(conn, batch, ProgressRules())

    async def registry(self) -> None:
        """Lâm Đồng province under its provincial committee, with a district below it; heads in post."""
        await self.add(
            UnitRegistered(unit_code="vn", name="Cả nước", level="central", committee=CENTRAL),
            UnitRegistered(unit_code="lam-dong", name="Tỉnh Lâm Đồng", level="province", parent_code="vn",
                           committee=PROVINCIAL),
            UnitRegistered(unit_code="da-lat", name="Thành phố Đà Lạt", level="district", parent_code="lam-dong",
                           committee=PROVINCIAL),
            LeaderAppointed(tenure_id="t1", unit_code="lam-dong", leader_id="L1", leader_name="Nguyễn Ngọc Tú",
                            role=Role.HEAD, start_date=dt.date(2021, 6, 1)),
            LeaderAppointed(tenure_id="t2", unit_code="lam-dong", leader_id="L2", leader_name="Đặng Văn Mai",
                            role=Role.HEAD, start_date=dt.date(2025, 6, 1)),
            LeaderAppointed(tenure_id="t3", unit_code="da-lat", leader_id="L3", leader_name="Trần Thị Hà",
                            role=Role.HEAD, start_date=dt.date(2021, 6, 1)),
            TargetSet(unit_code="lam-dong", indicator=DISB, plan_year=2025, amount=Decimal(1000)),
            TargetSet(unit_code="da-lat", indicator=DISB, plan_year=2025, amount=Decimal(1000)),
        )  # fmt: skip

    async def report(self, unit: str, month: int, amount: int, *, late_days: int = 0) -> None:
        as_of = month_end(month)
        await self.add(
            DisbursementReported(unit_code=unit, plan_year=2025, category="central_budget", as_of=as_of,
                                 amount=Decimal(amount), document_date=as_of + dt.timedelta(days=2 + late_days)),
        )  # fmt: skip

    async def correct(self, unit: str, month: int, amount: int) -> None:
        as_of = month_end(month)
        await self.add(
            FigureCorrected(unit_code=unit, plan_year=2025, category="central_budget", as_of=as_of,
                            amount=Decimal(amount), indicator=DISB, reason="số liệu Kho bạc đối chiếu lại",
                            document_date=as_of + dt.timedelta(days=3)),
        )  # fmt: skip

    async def vote(self, unit: str, leader: str, low: int, voters: int = 30) -> None:
        high = (voters - low) // 2
        await self.add(
            ConfidenceVoteRecorded(unit_code=unit, leader_id=leader, vote_date=dt.date(2025, 10, 15), voters=voters,
                                   high=high, confidence=voters - low - high, low=low),
        )  # fmt: skip


class Clock:
    """The alerts service's date, moved by the test."""

    def __init__(self, today: dt.date) -> None:
        self.today = today

    def __call__(self) -> dt.date:
        return self.today


def alerts_service(
    settings: Settings, pool: asyncpg.Pool, clock: Clock, config: AlertConfig | None = None, **overrides: object
) -> AlertsService:
    return AlertsService.from_settings(settings.model_copy(update=overrides), pool, config or AlertConfig(), clock)


ONLY_BELOW_PACE = parse_alert_config(
    "rules:\n"
    + "".join(
        f"  {rule}: {{enabled: false}}\n"
        for rule in ("below_peer_average", "below_share_at_sep30", "year_end_shortfall", "missing_report",
                     "back_loading", "early_warning", "confidence_vote", "revenue_outturn")
    )
)  # fmt: skip
