import datetime as dt
from decimal import Decimal

import pytest

from services.projector.progress import (
    DISBURSEMENT_MILESTONES,
    REVENUE_MILESTONES,
    Status,
    assess,
    expected_pace,
)

TOLERANCE = Decimal("0.05")


@pytest.mark.parametrize(
    ("day", "pace"),
    [
        (dt.date(2025, 6, 30), Decimal("0.4")),
        (dt.date(2025, 9, 30), Decimal("0.6")),
        (dt.date(2026, 1, 31), Decimal("0.95")),
        (dt.date(2026, 3, 1), Decimal("0.95")),
    ],
)
def test_disbursement_pace_meets_each_milestone(day: dt.date, pace: Decimal) -> None:
    assert expected_pace(DISBURSEMENT_MILESTONES, 2025, day) == pace


def test_disbursement_pace_is_linear_between_milestones() -> None:
    # 31 of the 123 days from 30 September to 31 January: 60 % + 35 % × 31/123
    assert expected_pace(DISBURSEMENT_MILESTONES, 2025, dt.date(2025, 10, 31)) == Decimal("0.688211")


def test_revenue_pace_is_linear_over_the_calendar_year() -> None:
    assert expected_pace(REVENUE_MILESTONES, 2025, dt.date(2025, 12, 31)) == Decimal(1)
    assert expected_pace(REVENUE_MILESTONES, 2025, dt.date(2025, 1, 1)) == Decimal("0.002740")


def test_unit_on_pace_is_on_track() -> None:
    assert assess(Decimal(100), Decimal(60), Decimal("0.6"), TOLERANCE).status is Status.ON_TRACK


def test_unit_within_tolerance_is_on_track_and_beyond_it_behind() -> None:
    assert assess(Decimal(100), Decimal(55), Decimal("0.6"), TOLERANCE).status is Status.ON_TRACK
    assert assess(Decimal(100), Decimal("54.99"), Decimal("0.6"), TOLERANCE).status is Status.BEHIND


def test_unit_under_half_of_pace_is_critical() -> None:
    assert assess(Decimal(100), Decimal("29.99"), Decimal("0.6"), TOLERANCE).status is Status.CRITICAL


@pytest.mark.parametrize("target", [None, Decimal(0)])
def test_unit_without_a_target_or_with_a_target_cut_to_zero_is_not_assessed(target: Decimal | None) -> None:
    progress = assess(target, Decimal(5), Decimal("0.6"), TOLERANCE)
    assert progress.status is Status.NOT_ASSESSED
    assert progress.rate is None


def test_rate_is_exact_for_large_amounts() -> None:
    progress = assess(Decimal(3 * 10**15), Decimal(10**15), Decimal("0.5"), TOLERANCE)
    assert progress.rate == Decimal("0.333333")
