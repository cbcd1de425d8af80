"""A head's score for a quarter (and, from 2026, a month), in the shape of Quy định 366-QĐ/TW (2025): a
100-point score and its band, from the results of the units they answered for while they held the post.
Pure: the scheme (infra/scoring.yaml) parsed and validated, and the score worked out from its inputs, every
point with the figures it came from. No I/O (head_score_inputs.py reads the inputs).

The default scheme (docs/services/projector.md "The heads' scores" gives its sources and how a province changes it):
- disbursement against its plan (the pace the plan expects by then) 20 points and against its group's
  average 10; revenue against plan 15 and average 5 — each `min(1, rate / benchmark)`, averaged over the
  units and plan years the head answered for, at the end of the period (or of their stint, if earlier);
- reports on time 20 — the share of months due in the period that arrived by their due day;
- commitments kept 15 — the share of the head's promises the figures decided in the period that were kept
  (none decided: full points);
- conclusions with fault 15 — less `penalty_points` for each review concluded with fault in the period
  (criticism, self-criticism, discipline recommended) of an alert whose explanation was asked of the head;
- a criterion with nothing to measure (no revenue plan, say) is left out and the others scaled to 100;
- bands: excellent from 90 with every report on time; good from 70; complete from 50 with at most 20 %
  late; below that, not complete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.config_files import ConfigFileError, parse_yaml_file

Criterion = Literal[
    "disbursement_vs_plan", "disbursement_vs_average", "revenue_vs_plan", "revenue_vs_average",
    "reporting_on_time", "commitments_kept", "conclusions_with_fault",
]  # fmt: skip
Band = Literal["excellent", "good", "complete", "not_complete"]
Points = Annotated[Decimal, Field(ge=0, le=100)]
HUNDREDTH = Decimal("0.01")


class BandRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_score: Points
    max_late_share: Annotated[Decimal, Field(ge=0, le=1)] = Decimal(1)  # at most this share of reports late


class ScoringScheme(BaseModel):
    """The scheme file: weights (summing to 100), the penalty per conclusion with fault, the bands from the
    top, and from when a month is scored as well as a quarter."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = ""
    weights: dict[Criterion, Points]
    penalty_points: Points = Decimal(5)
    monthly_from: dt.date | None = dt.date(2026, 1, 1)
    bands: dict[Literal["excellent", "good", "complete"], BandRule]

    @model_validator(mode="after")
    def _consistent(self) -> ScoringScheme:
        total = sum(self.weights.values(), Decimal(0))
        if total != 100:
            raise ValueError(f"the weights add up to {total}, not 100")
        if set(self.bands) != {"excellent", "good", "complete"}:
            raise ValueError("bands names excellent, good and complete (below complete: not complete)")
        scores = [self.bands[b].min_score for b in ("excellent", "good", "complete")]
        if scores != sorted(scores, reverse=True) or len(set(scores)) != 3:
            raise ValueError(f"bands' min_score must fall from excellent to complete: {scores}")
        return self


class ScoringFileError(ConfigFileError):
    pass


def parse_scoring_scheme(text: str, source: str = "scoring.yaml") -> ScoringScheme:
    """The scheme, or ScoringFileError listing every problem as `source: where: why`."""
    return parse_yaml_file(ScoringScheme, text, source, ScoringFileError)


@dataclass(frozen=True)
class Period:
    """A quarter (`2025-Q3`) or a month (`2026-02`)."""

    first: dt.date
    last: dt.date
    name: str

    @staticmethod
    def parse(text: str) -> Period:
        try:
            year, part = text.split("-")
            if part.upper().startswith("Q"):
                quarter = int(part[1:])
                if not 1 <= quarter <= 4:
                    raise ValueError(text)
                first = dt.date(int(year), 3 * quarter - 2, 1)
                return Period(first, _month_end(dt.date(int(year), 3 * quarter, 1)), f"{year}-Q{quarter}")
            first = dt.date(int(year), int(part), 1)
            return Period(first, _month_end(first), f"{first:%Y-%m}")
        except ValueError:
            raise ValueError(f"a period is a quarter (2025-Q3) or a month (2026-02), not {text!r}") from None


def _month_end(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def periods_of(year: int, scheme: ScoringScheme) -> list[Period]:
    """A year's quarters, and its months when they fall on or after the scheme's `monthly_from`."""
    quarters = [Period.parse(f"{year}-Q{q}") for q in range(1, 5)]
    months = [Period.parse(f"{year}-{m:02d}") for m in range(1, 13)]
    monthly = [m for m in months if scheme.monthly_from is not None and m.first >= scheme.monthly_from]
    return quarters + monthly


@dataclass(frozen=True)
class Standing:
    """A unit's result the head answers for: its total on the last report by the end of the period (or of
    the head's stint there, if earlier)."""

    unit_code: str
    indicator: str
    plan_year: int
    as_of: dt.date
    rate: Decimal | None
    expected_pace: Decimal
    peer_average: Decimal | None


@dataclass(frozen=True)
class ReportDue:
    unit_code: str
    indicator: str
    period_end: dt.date
    due_on: dt.date
    received_on: dt.date | None


@dataclass(frozen=True)
class Verdict:
    """A commitment the figures decided, or a conclusion of a review of the head's explanation."""

    fingerprint: str
    on_date: dt.date
    what: str  # kept | missed, or the conclusion's outcome


@dataclass(frozen=True)
class ScoreInputs:
    leader_id: str
    leader_name: str
    period: Period
    standings: Sequence[Standing] = ()
    reports: Sequence[ReportDue] = ()
    commitments: Sequence[Verdict] = ()
    faults: Sequence[Verdict] = ()


@dataclass(frozen=True)
class CriterionScore:
    criterion: str
    weight: Decimal
    points: Decimal
    rule: str  # how the points follow from the inputs
    inputs: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class HeadScore:
    leader_id: str
    leader_name: str
    period: str
    score: Decimal | None  # None: nothing to score (no unit with a figure or a report due)
    band: Band | None
    late_share: Decimal | None
    criteria: list[CriterionScore]


def _ratio(value: Decimal | None, benchmark: Decimal | None) -> Decimal | None:
    if value is None or benchmark is None:
        return None
    return Decimal(1) if benchmark <= 0 else min(Decimal(1), max(Decimal(0), value / benchmark))


def _against(scheme: ScoringScheme, criterion: Criterion, standings: Sequence[Standing], indicator: str,
             benchmark: str) -> CriterionScore | None:  # fmt: skip
    rows = [s for s in standings if s.indicator == indicator]
    shares = []
    inputs = []
    for s in rows:
        against = s.expected_pace if benchmark == "expected_pace" else s.peer_average
        share = _ratio(s.rate, against)
        if share is None:
            continue
        shares.append(share)
        inputs.append({"unit_code": s.unit_code, "plan_year": s.plan_year, "as_of": s.as_of.isoformat(),
                       "rate": str(s.rate), benchmark: str(against),
                       "share": str(share.quantize(HUNDREDTH))})  # fmt: skip
    if not shares:
        return None
    weight = scheme.weights.get(criterion, Decimal(0))
    points = weight * sum(shares, Decimal(0)) / len(shares)
    rule = f"{weight} × mean over units of min(1, rate / {benchmark.replace('_', ' ')})"
    return CriterionScore(criterion, weight, points, rule, inputs)


def score(inputs: ScoreInputs, scheme: ScoringScheme) -> HeadScore:
    """The head's score for the period, each criterion's points with the figures they came from."""
    criteria: list[CriterionScore] = []
    for criterion, indicator, benchmark in (
        ("disbursement_vs_plan", "public_investment_disbursement", "expected_pace"),
        ("disbursement_vs_average", "public_investment_disbursement", "peer_average"),
        ("revenue_vs_plan", "budget_revenue", "expected_pace"),
        ("revenue_vs_average", "budget_revenue", "peer_average"),
    ):
        if criterion in scheme.weights and (made := _against(scheme, criterion, inputs.standings, indicator,
                                                             benchmark)) is not None:  # fmt: skip
            criteria.append(made)
    late_share = None
    if inputs.reports:
        on_time = [r for r in inputs.reports if r.received_on is not None and r.received_on <= r.due_on]
        late_share = Decimal(len(inputs.reports) - len(on_time)) / len(inputs.reports)
        weight = scheme.weights.get("reporting_on_time", Decimal(0))
        criteria.append(CriterionScore(
            "reporting_on_time", weight, weight * len(on_time) / len(inputs.reports),
            f"{weight} × months received by their due day / months due ({len(on_time)}/{len(inputs.reports)})",
            [{"unit_code": r.unit_code, "indicator": r.indicator, "month": f"{r.period_end:%Y-%m}",
              "due_on": r.due_on.isoformat(), "received_on": r.received_on and r.received_on.isoformat()}
             for r in inputs.reports],
        ))  # fmt: skip
    has_results = bool(criteria)
    weight = scheme.weights.get("commitments_kept", Decimal(0))
    kept = [c for c in inputs.commitments if c.what == "kept"]
    criteria.append(CriterionScore(
        "commitments_kept", weight,
        weight * len(kept) / len(inputs.commitments) if inputs.commitments else weight,
        f"{weight} × promises kept / promises decided ({len(kept)}/{len(inputs.commitments)}; none decided: all)",
        [{"fingerprint": c.fingerprint, "decided_on": c.on_date.isoformat(), "outcome": c.what}
         for c in inputs.commitments],
    ))  # fmt: skip
    weight = scheme.weights.get("conclusions_with_fault", Decimal(0))
    criteria.append(CriterionScore(
        "conclusions_with_fault", weight, max(Decimal(0), weight - scheme.penalty_points * len(inputs.faults)),
        f"{weight} − {scheme.penalty_points} per review concluded with fault ({len(inputs.faults)}), at least 0",
        [{"fingerprint": f.fingerprint, "concluded_on": f.on_date.isoformat(), "outcome": f.what}
         for f in inputs.faults],
    ))  # fmt: skip
    if not has_results:
        return HeadScore(inputs.leader_id, inputs.leader_name, inputs.period.name, None, None, None, criteria)
    counted = sum((c.weight for c in criteria), Decimal(0))
    total = (sum((c.points for c in criteria), Decimal(0)) * 100 / counted) if counted else Decimal(0)
    total = total.quantize(HUNDREDTH, ROUND_HALF_UP)
    return HeadScore(inputs.leader_id, inputs.leader_name, inputs.period.name, total, band(total, late_share, scheme),
                     late_share, [_rounded(c) for c in criteria])  # fmt: skip


def _rounded(criterion: CriterionScore) -> CriterionScore:
    return CriterionScore(criterion.criterion, criterion.weight, criterion.points.quantize(HUNDREDTH, ROUND_HALF_UP),
                          criterion.rule, criterion.inputs)  # fmt: skip


def band(total: Decimal, late_share: Decimal | None, scheme: ScoringScheme) -> Band:
    """The highest band whose score and share of late reports the result meets."""
    late = late_share or Decimal(0)
    for name in ("excellent", "good", "complete"):
        rule = scheme.bands[name]
        if total >= rule.min_score and late <= rule.max_late_share:
            return name
    return "not_complete"


DEFAULT_SCHEME = ScoringScheme(
    source="Quy định 366-QĐ/TW (2025) của Bộ Chính trị về kiểm điểm, đánh giá, xếp loại chất lượng; Nghị định"
    " 335/2025/NĐ-CP (đánh giá hằng tháng từ 2026) — PIM's reading of their measurable part",
    weights={
        "disbursement_vs_plan": Decimal(20),
        "disbursement_vs_average": Decimal(10),
        "revenue_vs_plan": Decimal(15),
        "revenue_vs_average": Decimal(5),
        "reporting_on_time": Decimal(20),
        "commitments_kept": Decimal(15),
        "conclusions_with_fault": Decimal(15),
    },
    penalty_points=Decimal(5),
    monthly_from=dt.date(2026, 1, 1),
    bands={
        "excellent": BandRule(min_score=Decimal(90), max_late_share=Decimal(0)),
        "good": BandRule(min_score=Decimal(70)),
        "complete": BandRule(min_score=Decimal(50), max_late_share=Decimal("0.2")),
    },
)
