"""A head's score (pure): each criterion's points from its figures, criteria with nothing to measure left
out, the bands of Quy định 366 (excellent needs every report on time; complete allows 20 % late), quarters
throughout and months from 2026, and a scheme file that does not add up refused at start with the reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from services.projector.head_scores import (
    DEFAULT_SCHEME,
    Period,
    ReportDue,
    ScoreInputs,
    ScoringFileError,
    Standing,
    Verdict,
    band,
    parse_scoring_scheme,
    periods_of,
    score,
)
from services.projector.progress_rules import progress_rules
from shared.settings import Settings

D, Q3 = dt.date, Period.parse("2025-Q3")
DISB, REV = "public_investment_disbursement", "budget_revenue"


def _standing(indicator: str, rate: str, pace: str, average: str | None, unit: str = "da-lat") -> Standing:
    return Standing(unit, indicator, 2025, D(2025, 9, 30), Decimal(rate), Decimal(pace),
                    None if average is None else Decimal(average))  # fmt: skip


def _reports(on_time: int, late: int) -> list[ReportDue]:
    months = [D(2025, m, 28) for m in range(6, 6 + on_time + late)]
    return [ReportDue("da-lat", DISB, m, m + dt.timedelta(days=5), m + dt.timedelta(days=2 if i < on_time else 9))
            for i, m in enumerate(months)]  # fmt: skip


def test_every_point_comes_from_its_figures() -> None:
    inputs = ScoreInputs(
        "L3", "Trần Thị Hà", Q3,
        standings=[_standing(DISB, "0.35", "0.70", "0.50"), _standing(REV, "0.80", "0.75", "0.70")],
        reports=_reports(3, 0),
        commitments=[Verdict("f1", D(2025, 8, 5), "kept"), Verdict("f1", D(2025, 9, 5), "missed")],
        faults=[Verdict("f1", D(2025, 9, 20), "criticism")],
    )  # fmt: skip
    made = score(inputs, DEFAULT_SCHEME)
    points = {c.criterion: c.points for c in made.criteria}
    assert points == {
        "disbursement_vs_plan": Decimal("10.00"),  # 20 × 0,35 / 0,70
        "disbursement_vs_average": Decimal("7.00"),  # 10 × 0,35 / 0,50
        "revenue_vs_plan": Decimal("15.00"), "revenue_vs_average": Decimal("5.00"),  # above both: capped at 1
        "reporting_on_time": Decimal("20.00"),
        "commitments_kept": Decimal("7.50"),  # one of two
        "conclusions_with_fault": Decimal("10.00"),  # 15 − 5
    }  # fmt: skip
    assert made.score == Decimal("74.50") and made.band == "good"
    (disbursed,) = [c for c in made.criteria if c.criterion == "disbursement_vs_plan"]
    assert disbursed.inputs == [{"unit_code": "da-lat", "plan_year": 2025, "as_of": "2025-09-30", "rate": "0.35",
                                 "expected_pace": "0.70", "share": "0.50"}]  # fmt: skip


def test_a_criterion_with_nothing_to_measure_is_left_out_and_the_rest_scaled_to_100() -> None:
    inputs = ScoreInputs("L3", "Trần Thị Hà", Q3, standings=[_standing(DISB, "0.70", "0.70", "0.70")],
                         reports=_reports(3, 0))  # fmt: skip
    made = score(inputs, DEFAULT_SCHEME)
    assert "revenue_vs_plan" not in {c.criterion for c in made.criteria}
    assert made.score == Decimal("100.00") and made.band == "excellent"
    assert score(ScoreInputs("L9", "Khuyết", Q3), DEFAULT_SCHEME).score is None  # nothing answered for


def test_the_bands_hold_the_share_of_late_reports() -> None:
    assert band(Decimal("95"), Decimal(0), DEFAULT_SCHEME) == "excellent"
    assert band(Decimal("95"), Decimal("0.1"), DEFAULT_SCHEME) == "good"  # one report late: not excellent
    assert band(Decimal("89.99"), None, DEFAULT_SCHEME) == "good"
    assert band(Decimal("60"), Decimal("0.2"), DEFAULT_SCHEME) == "complete"
    assert band(Decimal("60"), Decimal("0.25"), DEFAULT_SCHEME) == "not_complete"
    assert band(Decimal("49.99"), Decimal(0), DEFAULT_SCHEME) == "not_complete"


def test_quarters_throughout_and_months_from_2026() -> None:
    assert [p.name for p in periods_of(2025, DEFAULT_SCHEME)] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    names = [p.name for p in periods_of(2026, DEFAULT_SCHEME)]
    assert names[:4] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"] and names[4:6] == ["2026-01", "2026-02"]
    assert Period.parse("2025-Q4").last == D(2025, 12, 31) and Period.parse("2026-02").last == D(2026, 2, 28)
    with pytest.raises(ValueError, match="a quarter"):
        Period.parse("2025-Q5")


def test_the_shipped_file_is_the_default_and_a_wrong_one_is_refused_with_the_reason() -> None:
    shipped = Path(__file__).parents[2] / "infra" / "scoring.yaml"
    assert parse_scoring_scheme(shipped.read_text(encoding="utf-8")) == DEFAULT_SCHEME
    text = shipped.read_text(encoding="utf-8").replace("disbursement_vs_plan: 20", "disbursement_vs_plan: 25")
    with pytest.raises(ScoringFileError, match="the weights add up to 105, not 100"):
        parse_scoring_scheme(text)
    with pytest.raises(ScoringFileError, match=r"weights\.speed"):
        parse_scoring_scheme(text.replace("disbursement_vs_plan: 25", "speed: 20"))


def test_the_projector_refuses_to_start_on_a_scheme_file_that_does_not_add_up(tmp_path: Path) -> None:
    wrong = tmp_path / "scoring.yaml"
    wrong.write_text("weights: {reporting_on_time: 50}\nbands: {}\n", encoding="utf-8")
    with pytest.raises(ScoringFileError) as refused:
        progress_rules(Settings(pim_scoring_file=wrong))
    assert "PIM_SCORING_FILE (scoring.yaml)" in str(refused.value) and "add up to 50" in str(refused.value)
    assert progress_rules(Settings()).scoring == DEFAULT_SCHEME
