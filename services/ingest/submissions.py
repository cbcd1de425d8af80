"""The bodies the ingest API (and the raw topic) accept: lists of facts, each validated by its event model."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.events import (
    ConfidenceVoteRecorded,
    DisbursementReported,
    DomainEvent,
    FigureCorrected,
    LeaderAppointed,
    LeaderLeft,
    RevenueReported,
    Role,
    TargetAdjusted,
    TargetSet,
    UnitRegistered,
    UnitsMerged,
)

MAX_ITEMS = 10_000


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")


Items = Field(min_length=1, max_length=MAX_ITEMS)


class UnitsSubmission(Submission):
    units: Annotated[list[UnitRegistered], Items]


class MergersSubmission(Submission):
    mergers: Annotated[list[UnitsMerged], Items]


class TenureRecord(Submission):
    """A tenure in one record: the appointment and, if it has ended, the departure."""

    tenure_id: Annotated[str, Field(min_length=1, max_length=128)]
    unit_code: str
    leader_id: Annotated[str, Field(min_length=1, max_length=128)]
    leader_name: Annotated[str, Field(min_length=1, max_length=300)]
    role: Role
    indicator: str | None = None
    start_date: dt.date
    end_date: dt.date | None = None

    def events(self) -> list[DomainEvent]:
        fields = self.model_dump(exclude={"end_date"})
        appointed: list[DomainEvent] = [LeaderAppointed.model_validate(fields)]
        if self.end_date is None:
            return appointed
        return [*appointed, LeaderLeft(tenure_id=self.tenure_id, unit_code=self.unit_code, end_date=self.end_date)]


class TenuresSubmission(Submission):
    tenures: Annotated[list[TenureRecord], Items]


class DeparturesSubmission(Submission):
    departures: Annotated[list[LeaderLeft], Items]


class TargetsSubmission(Submission):
    targets: Annotated[list[TargetSet], Field(max_length=MAX_ITEMS)] = []
    adjustments: Annotated[list[TargetAdjusted], Field(max_length=MAX_ITEMS)] = []


class VotesSubmission(Submission):
    votes: Annotated[list[ConfidenceVoteRecorded], Items]


class FiguresSubmission(Submission):
    disbursements: Annotated[list[DisbursementReported], Field(max_length=MAX_ITEMS)] = []
    revenues: Annotated[list[RevenueReported], Field(max_length=MAX_ITEMS)] = []
    corrections: Annotated[list[FigureCorrected], Field(max_length=MAX_ITEMS)] = []
