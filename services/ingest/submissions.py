"""The bodies the ingest API (and the raw topic) accept: lists of facts, each validated by its event model."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from shared.events import (
    CategoryDeclared,
    ConfidenceVoteRecorded,
    DisbursementReported,
    DomainEvent,
    FactDate,
    FigureCorrected,
    Indicator,
    LeaderAppointed,
    LeaderLeft,
    RevenueReported,
    Role,
    TargetAdjusted,
    TargetSet,
    UnitCode,
    UnitDissolved,
    UnitMilestonesSet,
    UnitRegistered,
    UnitsMerged,
)
from shared.text import TextModel

MAX_ITEMS = 10_000


class Submission(TextModel):
    model_config = ConfigDict(extra="forbid")


Items = Field(min_length=1, max_length=MAX_ITEMS)


class UnitsSubmission(Submission):
    units: Annotated[list[UnitRegistered], Items]


class MergersSubmission(Submission):
    mergers: list[UnitsMerged] = Field(default_factory=list, max_length=MAX_ITEMS)
    dissolutions: list[UnitDissolved] = Field(default_factory=list, max_length=MAX_ITEMS)


class TenureRecord(Submission):
    """A tenure in one record: the appointment and, if it has ended, the departure."""

    tenure_id: Annotated[str, Field(min_length=1, max_length=128)]
    unit_code: UnitCode
    leader_id: Annotated[str, Field(min_length=1, max_length=128)]
    leader_name: Annotated[str, Field(min_length=1, max_length=300)]
    role: Role
    indicator: Indicator | None = None
    start_date: FactDate
    end_date: FactDate | None = None

    @model_validator(mode="after")
    def _makes_its_events(self) -> TenureRecord:
        # what the events would refuse (a deputy naming no indicator) is refused here, as a 422 naming the
        # tenure, and not while it is being stored, as a 500
        try:
            self.events()
        except ValidationError as refused:
            raise ValueError("; ".join(str(error["msg"]) for error in refused.errors())) from None
        return self

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


class TargetAdjustment(TargetAdjusted):
    """An adjustment as submitted: a late supplement is capital supplemented after 30 September, so its
    decision must be dated after 30 September of the plan year (the comparable rate and the standings
    leave it out from that date)."""

    decision_date: dt.date | None = Field(default=None, validate_default=True)

    @field_validator("decision_date")
    @classmethod
    def _late_supplement_decided_late(cls, decision_date: dt.date | None, info: ValidationInfo) -> dt.date | None:
        late, year = info.data.get("late_supplement"), info.data.get("plan_year")
        if not late or year is None:
            return decision_date
        if decision_date is None or decision_date <= dt.date(year, 9, 30):
            raise ValueError(
                f"a late supplement needs its decision dated after 30/09/{year}; got "
                f"{'none' if decision_date is None else f'{decision_date:%d/%m/%Y}'}"
                f" — bổ sung sau 30/9 phải có quyết định ban hành sau ngày 30/09/{year}"
            )
        return decision_date


class TargetsSubmission(Submission):
    targets: list[TargetSet] = Field(default_factory=list, max_length=MAX_ITEMS)
    adjustments: list[TargetAdjustment] = Field(default_factory=list, max_length=MAX_ITEMS)
    milestones: list[UnitMilestonesSet] = Field(default_factory=list, max_length=MAX_ITEMS)


class CategoriesSubmission(Submission):
    categories: Annotated[list[CategoryDeclared], Items]


class VotesSubmission(Submission):
    votes: Annotated[list[ConfidenceVoteRecorded], Items]


class FiguresSubmission(Submission):
    disbursements: list[DisbursementReported] = Field(default_factory=list, max_length=MAX_ITEMS)
    revenues: list[RevenueReported] = Field(default_factory=list, max_length=MAX_ITEMS)
    corrections: list[FigureCorrected] = Field(default_factory=list, max_length=MAX_ITEMS)
