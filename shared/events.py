"""Domain events: the facts PIM records, as versioned pydantic models.

Each event is past tense, `extra="forbid"`, and carries its own schema version. The event store keeps
the payload as JSON and the envelope (position, stream, who, when) in columns of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, NamedTuple
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, model_validator

from shared.money import Amount
from shared.text import TextModel


class Indicator(StrEnum):
    """What a unit is measured on."""

    BUDGET_REVENUE = "budget_revenue"  # thu ngân sách, against the annual estimate (dự toán)
    DISBURSEMENT = "public_investment_disbursement"  # giải ngân vốn đầu tư công, against the capital plan


def plan_window(indicator: Indicator, plan_year: int) -> tuple[dt.date, dt.date]:
    """The days a plan year's figures count for: revenue the fiscal year; disbursement until 31 January
    of the next year (the end of the disbursement window)."""
    end = dt.date(plan_year + 1, 1, 31) if indicator is Indicator.DISBURSEMENT else dt.date(plan_year, 12, 31)
    return dt.date(plan_year, 1, 1), end


class Role(StrEnum):
    """How a leader answers for a unit (người đứng đầu, quyền, phó phụ trách)."""

    HEAD = "head"
    ACTING_HEAD = "acting_head"
    DEPUTY_IN_CHARGE = "deputy_in_charge"


class DomainEvent(TextModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: ClassVar[int] = 1

    def stream_id(self) -> str:
        """The stream the event belongs to: the unit it is about."""
        unit_code: str = getattr(self, "unit_code")  # noqa: B009 - every concrete event has one
        return unit_code

    def occurred_on(self) -> dt.date | None:
        """The date the fact is about (not when it was recorded), where the event has one."""
        return None


# Field limits, defined once: the models use them, and so do the fast parsers that check rows before a
# model is made (ingest's file rows) and the HTTP query parameters.
CODE_MAX_LENGTH = 64  # unit codes, categories, project codes
UNIT_CODE_PATTERN = r"^[A-Za-z0-9_.\-]+$"
FIRST_PLAN_YEAR, LAST_PLAN_YEAR = 2000, 2100
REASON_MAX_LENGTH = 500  # a correction's or an adjustment's reason
PlanYear = Annotated[int, Field(ge=FIRST_PLAN_YEAR, le=LAST_PLAN_YEAR)]
# The days a fact may be about or decided on: a year 9999 or 0001 is a typing error (and 9999-12-31 is
# stored as `infinity`, which breaks date arithmetic downstream). Written as text: an epoch number is not
# a date a person wrote.
EARLIEST_DATE, LATEST_DATE = dt.date(1990, 1, 1), dt.date(LAST_PLAN_YEAR + 1, 12, 31)
MAX_VOTERS = 100_000  # far above any council or committee that votes on its leaders


def _date_as_text(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("a date is written YYYY-MM-DD, not as a number")
    return value


FactDate = Annotated[dt.date, BeforeValidator(_date_as_text), Field(ge=EARLIEST_DATE, le=LATEST_DATE)]

UnitCode = Annotated[str, Field(min_length=1, max_length=CODE_MAX_LENGTH, pattern=UNIT_CODE_PATTERN)]
Name = Annotated[str, Field(min_length=1, max_length=300)]


class UnitRegistered(DomainEvent):
    type: Literal["UnitRegistered"] = "UnitRegistered"
    unit_code: UnitCode
    name: Name
    level: Literal["central", "province", "department", "district", "commune"]
    parent_code: UnitCode | None = None
    committee: Name = Field(description="the inspection committee (Ủy ban Kiểm tra) overseeing the unit")
    effective_from: FactDate | None = Field(
        default=None,
        description="the day this registration (name, level, parent) takes effect: a unit that exists from a"
        " date, or a unit moved under another parent; none: since always for a first registration, from the"
        " day recorded for a later one (an undated change never rewrites a past list)",
    )

    def occurred_on(self) -> dt.date | None:
        return self.effective_from


class LeaderAppointed(DomainEvent):
    type: Literal["LeaderAppointed"] = "LeaderAppointed"
    tenure_id: Annotated[str, Field(min_length=1, max_length=128)]
    unit_code: UnitCode
    leader_id: Annotated[str, Field(min_length=1, max_length=128)]
    leader_name: Name
    role: Role
    indicator: Indicator | None = Field(default=None, description="for a deputy: the indicator in charge of")
    start_date: FactDate

    @model_validator(mode="after")
    def _deputy_names_indicator(self) -> LeaderAppointed:
        if self.role is Role.DEPUTY_IN_CHARGE and self.indicator is None:
            raise ValueError("a deputy in charge must name the indicator they are in charge of")
        return self

    def occurred_on(self) -> dt.date:
        return self.start_date


class LeaderLeft(DomainEvent):
    type: Literal["LeaderLeft"] = "LeaderLeft"
    tenure_id: Annotated[str, Field(min_length=1, max_length=128)]
    unit_code: UnitCode
    end_date: FactDate = Field(description="last day in the post")

    def occurred_on(self) -> dt.date:
        return self.end_date


# Who assigned a plan: the Prime Minister (kế hoạch Thủ tướng Chính phủ giao: what the Ministry ranks
# localities on) or the province (kế hoạch địa phương giao: with its own local capital, what it holds its
# departments and communes to). A unit may have both; each assessment group says which it ranks on.
PlanAssignedBy = Literal["prime_minister", "province"]


class TargetSet(DomainEvent):
    type: Literal["TargetSet"] = "TargetSet"
    unit_code: UnitCode
    indicator: Indicator
    plan_year: PlanYear
    amount: Amount = Field(ge=0, description="annual estimate / capital plan, VND")
    assigned_by: PlanAssignedBy = "prime_minister"
    decision_number: Annotated[str, Field(max_length=128)] = ""
    decision_date: FactDate | None = None
    decision_authority: Annotated[str, Field(max_length=300)] = ""


AmountKind = Literal["cumulative", "period"]
Category = Annotated[str, Field(min_length=1, max_length=CODE_MAX_LENGTH)]
ProjectCode = Annotated[str, Field(min_length=1, max_length=CODE_MAX_LENGTH)]


class FigureLine(NamedTuple):
    """A figure's values in one flat shape, the one every table of figures takes (ingest's staging and
    state, the projector's `figures`): plain values, `project_code` '' for the unit as a whole."""

    unit_code: str
    indicator: Indicator
    plan_year: int
    category: str
    project_code: str
    as_of: dt.date
    amount_kind: str  # cumulative | period
    amount: Decimal
    correction_reason: str | None
    document_date: dt.date | None  # a backfill's source-document date


class FigureFields(DomainEvent):
    """An amount for one unit, category (revenue) or capital source (disbursement), as of a date.

    `cumulative`: the year-to-date total on `as_of` (how most reports come). `period`: the amount of the
    period that ends on `as_of`; the projector adds it to the latest cumulative before it. A later report
    for the same unit, indicator, category, project and date supersedes the earlier one.
    """

    unit_code: UnitCode
    plan_year: PlanYear
    category: Category
    project_code: ProjectCode | None = None
    as_of: FactDate
    amount_kind: AmountKind = "cumulative"
    amount: Amount = Field(description="VND")
    document_date: FactDate | None = Field(
        default=None, description="a backfill's source-document date: when the figure became known"
    )

    def occurred_on(self) -> dt.date:
        return self.as_of

    def line(self) -> FigureLine:
        indicator: Indicator = getattr(self, "indicator")  # noqa: B009 - a class attribute or a field, per kind
        reason: str | None = getattr(self, "reason", None)
        return FigureLine(
            self.unit_code, indicator, self.plan_year, self.category, self.project_code or "", self.as_of,
            self.amount_kind, self.amount, reason, self.document_date,
        )  # fmt: skip


class FigureReported(FigureFields):
    amount: Amount = Field(ge=0, description="VND; a negative amount needs a correction with a reason")

    indicator: ClassVar[Indicator]


class DisbursementReported(FigureReported):
    type: Literal["DisbursementReported"] = "DisbursementReported"
    indicator: ClassVar[Indicator] = Indicator.DISBURSEMENT


class RevenueReported(FigureReported):
    type: Literal["RevenueReported"] = "RevenueReported"
    indicator: ClassVar[Indicator] = Indicator.BUDGET_REVENUE


class FigureCorrected(FigureFields):
    """A figure that replaces what was reported for the same key, with the reason: may be lower than an
    earlier cumulative, or a negative period amount (a recovery, thu hồi)."""

    type: Literal["FigureCorrected"] = "FigureCorrected"
    indicator: Indicator
    reason: Annotated[str, Field(min_length=1, max_length=REASON_MAX_LENGTH)]


class TargetAdjusted(DomainEvent):
    """A mid-year change of the target: `amount` is the new total. `late_supplement` is the part of the total
    supplemented after 30 September, which the "comparable" rate leaves out."""

    type: Literal["TargetAdjusted"] = "TargetAdjusted"
    unit_code: UnitCode
    indicator: Indicator
    plan_year: PlanYear
    amount: Amount = Field(ge=0, description="the adjusted annual target, VND")
    assigned_by: PlanAssignedBy = "prime_minister"  # the plan it adjusts
    late_supplement: Amount = Field(
        default=Decimal(0), ge=0, description="capital supplemented after 30 September, VND"
    )
    reason: Annotated[str, Field(max_length=REASON_MAX_LENGTH)] = ""
    decision_number: Annotated[str, Field(max_length=128)] = ""
    decision_date: FactDate | None = None
    decision_authority: Annotated[str, Field(max_length=300)] = ""

    def occurred_on(self) -> dt.date | None:
        return self.decision_date


class UnitMilestone(TextModel):
    """By `by`, at least `share` of the unit's plan (a fraction: 0.70 is 70 %)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    by: FactDate
    share: Decimal = Field(ge=0, le=Decimal("1.5"), decimal_places=4, description="a fraction of the plan")


class UnitMilestonesSet(DomainEvent):
    """A unit's own pace for a plan year, fixed by a decision (a province's monthly targets for a department,
    say): from `decision_date` its expected pace runs through `milestones` instead of the indicator's curve
    (linear between them, from the curve's share on the decision date; after the last, the curve's later
    milestones). A later decision replaces it from its own date; one with no milestones returns the unit to
    the curve."""

    type: Literal["UnitMilestonesSet"] = "UnitMilestonesSet"
    unit_code: UnitCode
    indicator: Indicator
    plan_year: PlanYear
    milestones: Annotated[list[UnitMilestone], Field(max_length=60)]
    decision_number: Annotated[str, Field(min_length=1, max_length=128)]
    decision_date: FactDate
    decision_authority: Annotated[str, Field(max_length=300)] = ""

    @model_validator(mode="after")
    def _dated_in_order_after_the_decision(self) -> UnitMilestonesSet:
        dates = [m.by for m in self.milestones]
        if dates != sorted(set(dates)):
            raise ValueError("milestones must be in date order, one per date")
        if dates and dates[0] <= self.decision_date:
            raise ValueError(f"the first milestone ({dates[0]}) must come after the decision ({self.decision_date})")
        return self

    def occurred_on(self) -> dt.date:
        return self.decision_date


class UnitsMerged(DomainEvent):
    """Predecessor units merged into `unit_code` (the successor) from `effective_date`.

    `successor_reports`: `consolidated` (the default, as merged provinces reported after 1 July 2025) — from
    the merger date the successor's year-to-date figures already include what its predecessors disbursed
    or collected before it; `own_only` — they cover the successor alone, and the predecessors' last figures
    are added to them."""

    type: Literal["UnitsMerged"] = "UnitsMerged"
    unit_code: UnitCode
    predecessor_codes: Annotated[list[UnitCode], Field(min_length=1, max_length=100)]
    effective_date: FactDate
    successor_reports: Literal["consolidated", "own_only"] = "consolidated"

    def occurred_on(self) -> dt.date:
        return self.effective_date


class Handover(TextModel):
    """What a dissolved unit hands one receiver for an indicator and plan year, in stated amounts."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    receiver_code: UnitCode
    indicator: Indicator
    plan_year: PlanYear
    plan: Amount = Field(ge=0, description="the part of the plan the receiver takes over, VND")
    year_to_date: Amount = Field(ge=0, description="the part of the year to date it takes over, VND")


class UnitDissolved(DomainEvent):
    """A unit abolished from `effective_date` (the districts on 1 July 2025), its plan and year to date handed
    to several receivers in stated amounts (provincial project boards, the new communes). It leaves every
    list that day; each receiver takes its part of the plan from then, and carries its part of the year to
    date — with its own figures — until its first report from then on (`consolidated`: that report includes
    it) or for good (`own_only`)."""

    type: Literal["UnitDissolved"] = "UnitDissolved"
    unit_code: UnitCode
    effective_date: FactDate
    handovers: Annotated[list[Handover], Field(min_length=1, max_length=1000)]
    receivers_report: Literal["consolidated", "own_only"] = "consolidated"
    decision_number: Annotated[str, Field(max_length=128)] = ""

    @model_validator(mode="after")
    def _each_receiver_once_and_not_itself(self) -> UnitDissolved:
        keys = [(h.receiver_code, h.indicator, h.plan_year) for h in self.handovers]
        if len(keys) != len(set(keys)):
            raise ValueError("a receiver is named twice for one indicator and plan year")
        if any(h.receiver_code == self.unit_code for h in self.handovers):
            raise ValueError("a unit cannot hand over to itself")
        return self

    def occurred_on(self) -> dt.date:
        return self.effective_date


class ConfidenceVoteRecorded(DomainEvent):
    """A confidence vote (lấy phiếu tín nhiệm, Regulation 96): high / confidence / low counts."""

    type: Literal["ConfidenceVoteRecorded"] = "ConfidenceVoteRecorded"
    unit_code: UnitCode
    leader_id: Annotated[str, Field(min_length=1, max_length=128)]
    vote_date: FactDate
    voters: int = Field(gt=0, le=MAX_VOTERS)
    high: int = Field(ge=0, le=MAX_VOTERS)
    confidence: int = Field(ge=0, le=MAX_VOTERS)
    low: int = Field(ge=0, le=MAX_VOTERS)

    @model_validator(mode="after")
    def _counts_fit_voters(self) -> ConfidenceVoteRecorded:
        if self.high + self.confidence + self.low > self.voters:
            raise ValueError("high + confidence + low exceeds the number of voters")
        return self

    def occurred_on(self) -> dt.date:
        return self.vote_date


class CategoryDeclared(DomainEvent):
    """A capital source or revenue category added to the registry (beyond the Ministry's classification)."""

    type: Literal["CategoryDeclared"] = "CategoryDeclared"
    indicator: Indicator
    code: Category = Field(pattern=r"^[a-z0-9_]+$")
    name: Name = Field(description="Vietnamese / English label")

    def stream_id(self) -> str:
        return "categories"


AlertSeverity = Literal["warning", "critical"]
SYSTEM_RESOLVER = "system"  # who resolves an alert whose finding is gone; a committee resolves by name


class AlertRaised(DomainEvent):
    """A rule found a condition: one alert per fingerprint (unit, indicator, rule, period) while open."""

    type: Literal["AlertRaised"] = "AlertRaised"
    fingerprint: str
    unit_code: UnitCode
    indicator: Indicator | None  # None for findings about a leader (confidence votes)
    plan_year: int
    rule: str
    period: str = ""
    severity: AlertSeverity
    as_of: FactDate
    summary: str = ""
    responsible_leader_id: str | None
    responsible_leader_name: str | None
    committee: str
    evidence: dict[str, Any]
    reopens: str | None = Field(
        default=None,
        description="the committee's resolution of this finding that it reopens, having got worse since",
    )

    def occurred_on(self) -> dt.date:
        return self.as_of


class AlertEscalated(DomainEvent):
    """Behind for long enough: the alert goes to the committee one level up."""

    type: Literal["AlertEscalated"] = "AlertEscalated"
    fingerprint: str
    unit_code: UnitCode
    from_committee: str
    to_committee: str
    reason: str
    as_of: FactDate
    # escalated for a missed deadline (not for periods behind): which one, and its date
    deadline: Literal["acknowledgement", "explanation"] | None = None
    deadline_due: FactDate | None = None


class AlertAcknowledged(DomainEvent):
    type: Literal["AlertAcknowledged"] = "AlertAcknowledged"
    fingerprint: str
    unit_code: UnitCode
    by: Annotated[str, Field(min_length=1, max_length=300)]
    note: Annotated[str, Field(max_length=2000)] = ""


class AlertSilenced(DomainEvent):
    """No notifications until `until` (the alert stays open and is still evaluated)."""

    type: Literal["AlertSilenced"] = "AlertSilenced"
    fingerprint: str
    unit_code: UnitCode
    until: FactDate
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    by: Annotated[str, Field(min_length=1, max_length=300)]


class AlertRefreshed(DomainEvent):
    """A finding that persists, with what changed on the open alert: its severity, summary, evidence or the
    head answerable now. `previous_severity` is set when the severity changed (people are told then)."""

    type: Literal["AlertRefreshed"] = "AlertRefreshed"
    fingerprint: str
    unit_code: UnitCode
    severity: AlertSeverity
    previous_severity: AlertSeverity | None = None
    as_of: FactDate
    summary: str = ""
    responsible_leader_id: str | None
    responsible_leader_name: str | None
    evidence: dict[str, Any]

    def occurred_on(self) -> dt.date:
        return self.as_of


# The committee's conclusion of a review, in the words of Party discipline: no fault found; a reminder
# (nhắc nhở); criticism (phê bình); self-criticism required (yêu cầu kiểm điểm); discipline or replacement
# recommended (đề nghị kỷ luật, thay thế).
ConclusionOutcome = Literal["no_fault", "reminder", "criticism", "self_criticism", "discipline_recommended"]
CONCLUSIONS_WITH_FAULT: tuple[ConclusionOutcome, ...] = ("criticism", "self_criticism", "discipline_recommended")


class AlertResolved(DomainEvent):
    """Back on track (resolved by the system), or closed by the committee with its conclusion: its kind
    (`outcome`), its text and the document that records it. A committee's conclusion closes the review."""

    type: Literal["AlertResolved"] = "AlertResolved"
    fingerprint: str
    unit_code: UnitCode
    as_of: FactDate
    reason: str
    resolved_by: str = SYSTEM_RESOLVER
    conclusion: Annotated[str, Field(max_length=4000)] = ""
    outcome: ConclusionOutcome | None = None  # None: resolved by the system, or concluded before outcomes
    document: Annotated[str, Field(max_length=200)] = ""  # e.g. Thông báo kết luận số 12-TB/UBKTTU


CauseCode = Annotated[str, Field(min_length=1, max_length=CODE_MAX_LENGTH, pattern=r"^[a-z0-9_]+$")]


class Commitment(BaseModel):
    """What a head promises: a rate of the plan, or an amount, for an indicator by a date. The figures
    decide whether it was kept: the unit's reported year to date on that date."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    indicator: Indicator
    by: FactDate
    rate: Annotated[Decimal, Field(gt=0, le=2, description="a share of the plan: 0.70 = 70 %")] | None = None
    amount: Amount | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Commitment:
        if (self.rate is None) == (self.amount is None):
            raise ValueError("a commitment is a rate or an amount by its date, one of the two")
        return self


class ExplanationRequested(DomainEvent):
    """The committee asks the head PIM names as answerable (or the deputy in charge) to explain an alert
    by `due`, a date counted in working days."""

    type: Literal["ExplanationRequested"] = "ExplanationRequested"
    fingerprint: str
    unit_code: UnitCode
    leader_id: str | None  # None: the post was vacant; the unit answers
    leader_name: str | None
    on: FactDate  # the day it was asked (the alerts service's date)
    due: FactDate
    by: Annotated[str, Field(min_length=1, max_length=300)]
    note: Annotated[str, Field(max_length=2000)] = ""

    def occurred_on(self) -> dt.date:
        return self.on


class ExplanationSubmitted(DomainEvent):
    """The head's explanation (or their unit's clerk's on their behalf, `on_behalf`): the causes from the
    taxonomy, the text, a document, and the commitments the figures will be held to."""

    type: Literal["ExplanationSubmitted"] = "ExplanationSubmitted"
    fingerprint: str
    unit_code: UnitCode
    leader_id: str | None
    on: FactDate  # the day it was given (the alerts service's date)
    by: Annotated[str, Field(min_length=1, max_length=300)]
    on_behalf: bool = False
    causes: Annotated[list[CauseCode], Field(min_length=1, max_length=10)]
    text: Annotated[str, Field(min_length=1, max_length=4000)]
    document: Annotated[str, Field(max_length=200)] = ""
    commitments: Annotated[list[Commitment], Field(max_length=10)] = Field(default_factory=list)

    def occurred_on(self) -> dt.date:
        return self.on


class CommitmentChecked(DomainEvent):
    """The figures' verdict on a commitment (the `ordinal`-th of the explanation at `commitment_position`):
    kept or missed by the unit's reported year to date in the first report dated on or after its date (or,
    when none came within the grace period, the last before it)."""

    type: Literal["CommitmentChecked"] = "CommitmentChecked"
    fingerprint: str  # the alert whose review holds the commitment
    unit_code: UnitCode
    leader_id: str | None
    commitment_position: int
    ordinal: int
    indicator: Indicator
    due: FactDate
    rate: Decimal | None = None  # what was promised: a share of the plan, or
    amount: Decimal | None = None  # an amount
    kept: bool
    figures_as_of: FactDate | None  # None: no report at all by the end of the grace period
    reached: Decimal | None  # the rate (or the amount) the figures show


class DeadlineReminded(DomainEvent):
    """A deadline near and not met: whoever must act is reminded, once per deadline — the committee to
    acknowledge an alert, the head asked to explain, the unit's finance department to report a month."""

    type: Literal["DeadlineReminded"] = "DeadlineReminded"
    unit_code: UnitCode
    deadline: Literal["acknowledgement", "explanation", "report"]
    due: FactDate
    on: FactDate  # the day of the reminder (the alerts service's date)
    plan_year: PlanYear
    fingerprint: str | None = None  # the alert to acknowledge or explain
    leader_id: str | None = None  # the head asked (an explanation)
    indicator: Indicator | None = None  # the report owed: its indicator and month (YYYY-MM)
    period: str | None = None

    def occurred_on(self) -> dt.date:
        return self.on

    def subject(self) -> str:
        """What the reminder is about: the alert, or the report's indicator and month."""
        return self.fingerprint or self.report_subject(self.unit_code, self.indicator, self.period)

    @staticmethod
    def report_subject(unit_code: str, indicator: Indicator | None, period: str | None) -> str:
        return f"{unit_code}/{indicator}/{period}"


ALERT_EVENTS = (
    AlertRaised, AlertRefreshed, AlertEscalated, AlertAcknowledged, AlertSilenced, AlertResolved,
    ExplanationRequested, ExplanationSubmitted, CommitmentChecked, DeadlineReminded,
)  # fmt: skip


Event = Annotated[
    UnitRegistered
    | LeaderAppointed
    | LeaderLeft
    | TargetSet
    | TargetAdjusted
    | UnitMilestonesSet
    | UnitsMerged
    | UnitDissolved
    | ConfidenceVoteRecorded
    | CategoryDeclared
    | DisbursementReported
    | RevenueReported
    | FigureCorrected
    | AlertRaised
    | AlertRefreshed
    | AlertEscalated
    | AlertAcknowledged
    | AlertSilenced
    | AlertResolved
    | ExplanationRequested
    | ExplanationSubmitted
    | CommitmentChecked
    | DeadlineReminded,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class RecordedEvent(BaseModel):
    """An event as the store holds it and the ledger topic carries it: envelope plus payload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID
    position: int
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    recorded_at: dt.datetime
    submitted_by: str
    channel: str
    correlation_id: UUID | None
    payload: dict[str, Any]

    def event(self) -> Event:
        return EVENT_ADAPTER.validate_python(upcast(self.event_type, self.schema_version, self.payload))


# Each figure event type with the indicator its type implies (None: the payload names it): the one place
# the ingest SQL that builds payloads, the projector SQL that reads them and the ingest rebuild look up.
FIGURE_EVENT_TYPES: dict[str, Indicator | None] = {
    DisbursementReported.model_fields["type"].default: Indicator.DISBURSEMENT,
    RevenueReported.model_fields["type"].default: Indicator.BUDGET_REVENUE,
    FigureCorrected.model_fields["type"].default: None,
}


def figure_event_types() -> tuple[list[str], list[str | None]]:
    """`FIGURE_EVENT_TYPES` as two parallel arrays, for SQL's `unnest($1::text[], $2::text[])`."""
    types = sorted(FIGURE_EVENT_TYPES)
    return types, [None if FIGURE_EVENT_TYPES[t] is None else str(FIGURE_EVENT_TYPES[t]) for t in types]


def figure_schema_version() -> int:
    """The version the figure events are at now: the payload shape the SQL fast paths read and write. A
    figure stored at another version is read through the models instead (`upcast`: an older one brought to
    this shape, a newer one refused loudly), never misread by the SQL."""
    versions = {CURRENT_SCHEMA_VERSIONS[t] for t in FIGURE_EVENT_TYPES}
    if len(versions) != 1:
        raise RuntimeError(f"the figure events are at several versions {sorted(versions)}: the SQL reads one shape")
    return versions.pop()


# The upcast hook: when an event's shape changes, its class's `schema_version` goes up and a function
# from the stored payload of the version before to the new shape is registered here, keyed by event type
# and the version it reads. Stored events are never rewritten; every reader of the log decodes through
# `upcast`. None are needed yet: every event is at version 1.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcast(event_type: str, schema_version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """`payload`, stored at `schema_version`, in the current shape of its event type."""
    current = CURRENT_SCHEMA_VERSIONS.get(event_type, schema_version)
    if schema_version > current:
        raise ValueError(f"{event_type} version {schema_version} is newer than this code ({current})")
    while schema_version < current:
        step = UPCASTERS.get((event_type, schema_version))
        if step is None:
            raise ValueError(f"no upcaster for {event_type} from version {schema_version}")
        payload, schema_version = step(payload), schema_version + 1
    return payload


def _current_schema_versions() -> dict[str, int]:
    versions: dict[str, int] = {}
    for cls in DomainEvent.__subclasses__():
        stack: list[type[DomainEvent]] = [cls]
        while stack:
            model = stack.pop()
            stack.extend(model.__subclasses__())
            field = model.model_fields.get("type")
            if field is not None and isinstance(field.default, str):
                versions[field.default] = model.schema_version
    return versions


CURRENT_SCHEMA_VERSIONS = _current_schema_versions()
