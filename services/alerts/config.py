"""The alert rules file (infra/alerts/rules.yaml): parsed and validated at start, with errors that name
the setting and the reason."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.config_files import ConfigFileError, parse_yaml_file
from shared.display import CAUSE_LABELS as DEFAULT_CAUSES
from shared.events import Indicator
from shared.working_days import WorkingDays

Severity = Literal["warning", "critical"]
Share = Annotated[Decimal, Field(ge=0, le=2)]
Band = Literal["A", "B", "C", "D"]
ALL_INDICATORS = [Indicator.DISBURSEMENT, Indicator.BUDGET_REVENUE]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    indicators: list[Indicator] = Field(default_factory=lambda: list(ALL_INDICATORS))


class BelowPace(_Rule):
    """Fires on the projector's status: `behind` (more than the pace file's tolerance below the pace) at
    `severity`, `critical` (under half the pace) as critical."""

    severity: Severity = "warning"
    escalate_after_periods: Annotated[int, Field(ge=1)] = 3

    @model_validator(mode="before")
    @classmethod
    def _moved_settings(cls, data: object) -> object:
        if isinstance(data, dict):
            for moved in ("tolerance_pp", "critical_below_half_pace"):
                if moved in data:
                    raise ValueError(
                        f"{moved} is no longer read here: the projector's status decides 'behind' and 'critical',"
                        " with the tolerance_pp of the pace file (PIM_PACE_FILE): the dashboards and alerts agree"
                    )
        return data


class BelowPeerAverage(_Rule):
    margin_pp: Annotated[Decimal, Field(ge=0, le=100)] = Decimal(0)
    severity: Severity = "warning"


class BelowShareAtSep30(_Rule):
    share: Share = Decimal("0.60")
    severity: Severity = "critical"
    indicators: list[Indicator] = Field(default_factory=lambda: [Indicator.DISBURSEMENT])


class YearEndShortfall(_Rule):
    share: Share = Decimal("0.95")
    severity: Severity = "critical"


class MissingReport(_Rule):
    """Fires on the projector's reporting months: a month past its due day with no report, or one late."""

    severity: Severity = "warning"

    @model_validator(mode="before")
    @classmethod
    def _due_day_moved(cls, data: object) -> object:
        if isinstance(data, dict) and "deadline_days" in data:
            raise ValueError(
                "deadline_days has moved: a month's report is due `report_due_days` after the month ends, set in"
                " the assessment groups file (PIM_ASSESSMENT_FILE), so this alert and the reporting-on-time"
                " indicator count from one day"
            )
        return data


class BackLoading(_Rule):
    last_quarter_share: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.40")
    severity: Severity = "warning"
    indicators: list[Indicator] = Field(default_factory=lambda: [Indicator.DISBURSEMENT])


class EarlyWarning(_Rule):
    share: Share = Decimal("0.95")
    min_reports: Annotated[int, Field(ge=1)] = 3
    min_seasonal_share: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.15")
    severity: Severity = "warning"


class ConfidenceVote(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    review_severity: Severity = "warning"
    dismissal_severity: Severity = "critical"


class RevenueOutturn(_Rule):
    flag_bands: list[Band] = Field(default_factory=lambda: ["C", "D"])  # type: ignore[arg-type]
    band_severity: dict[Band, Severity] = Field(default_factory=lambda: {"C": "warning", "D": "critical"})  # type: ignore[arg-type]
    indicators: list[Indicator] = Field(default_factory=lambda: [Indicator.BUDGET_REVENUE])


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    below_pace: BelowPace = BelowPace()
    below_peer_average: BelowPeerAverage = BelowPeerAverage()
    below_share_at_sep30: BelowShareAtSep30 = BelowShareAtSep30()
    year_end_shortfall: YearEndShortfall = YearEndShortfall()
    missing_report: MissingReport = MissingReport()
    back_loading: BackLoading = BackLoading()
    early_warning: EarlyWarning = EarlyWarning()
    confidence_vote: ConfidenceVote = ConfidenceVote()
    revenue_outturn: RevenueOutturn = RevenueOutturn()


class CommitteeContact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    email: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(default_factory=list)


class Routing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    top_committee: Annotated[str, Field(min_length=1)] = "Ủy ban Kiểm tra Trung ương"
    top_escalation: Annotated[str, Field(min_length=1)] = "Lãnh đạo Ủy ban Kiểm tra Trung ương"
    committees: dict[str, CommitteeContact] = Field(default_factory=dict)
    default_email: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(default_factory=list)

    def emails_of(self, committee: str) -> list[str]:
        contact = self.committees.get(committee)
        return list(contact.email) if contact and contact.email else list(self.default_email)


class Review(BaseModel):
    """The review loop: how long an answer may take, in Vietnam's working days, and what may be answered."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    explanation_working_days: Annotated[int, Field(ge=1, le=60)] = 5
    # an alert not acknowledged within this many working days of being raised escalates one level up (as
    # does an explanation not submitted by its due date), once per missed deadline
    acknowledge_working_days: Annotated[int, Field(ge=1, le=60)] = 3
    # a commitment is decided by the first report dated on or after its date; with none after this many
    # working days, by the last report before it
    commitment_grace_working_days: Annotated[int, Field(ge=1, le=60)] = 10
    # this many working days before a deadline (an acknowledgement, an explanation, a month's report), whoever
    # must act is reminded once: the committee, the head asked, the unit's finance department
    remind_working_days: Annotated[int, Field(ge=1, le=20)] = 2
    # the days a year's government decision adds to the holidays library's calendar
    days_off: list[dt.date] = Field(default_factory=list)
    make_up_days: list[dt.date] = Field(default_factory=list)
    causes: dict[Annotated[str, Field(pattern=r"^[a-z0-9_]+$", max_length=64)], Annotated[str, Field(min_length=1)]] = (
        Field(default_factory=lambda: dict(DEFAULT_CAUSES))
    )

    def working_days(self) -> WorkingDays:
        return _working_days(tuple(self.days_off), tuple(self.make_up_days))


@functools.lru_cache(maxsize=8)
def _working_days(days_off: tuple[dt.date, ...], make_up_days: tuple[dt.date, ...]) -> WorkingDays:
    """One calendar per configuration: making one reads the holidays' tables, and every evaluation asks."""
    return WorkingDays(days_off, make_up_days)


class Notifications(BaseModel):
    """How alert e-mails reach people: gathered per person, each with that person's signed links."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # e-mails wait until no new notification has come for this long (at most ten times as long), so one
    # evaluation round (a registration, a morning's sweep) reaches each person as one message
    gather_seconds: Annotated[int, Field(ge=0, le=3600)] = 30
    # a signed link (acknowledge, explain, open) opens nothing after this many days
    link_valid_days: Annotated[int, Field(ge=1, le=90)] = 14


class AlertConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: Rules = Rules()
    routing: Routing = Routing()
    review: Review = Review()
    notifications: Notifications = Notifications()


class RulesFileError(ConfigFileError):
    pass


def parse_alert_config(text: str, source: str = "rules.yaml") -> AlertConfig:
    """Parse and validate the rules file; RulesFileError lists every problem as `source: where: why`."""
    return parse_yaml_file(AlertConfig, text, source, RulesFileError)


def load_alert_config(path: Path | None) -> AlertConfig:
    if path is None:
        return AlertConfig()
    return parse_alert_config(path.read_text(encoding="utf-8"), source=str(path.name))
