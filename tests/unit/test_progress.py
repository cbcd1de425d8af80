import datetime as dt
from decimal import Decimal

import pytest

from shared.pace import (
    DISBURSEMENT_MILESTONES,
    REVENUE_MILESTONES,
    Status,
    assess,
    expected_pace,
    unit_pace,
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


def test_the_shipped_pace_file_holds_the_defaults() -> None:
    from pathlib import Path

    from shared.pace import DEFAULT_CURVES, DEFAULT_TOLERANCES, parse_pace_file

    shipped = Path(__file__).resolve().parents[2] / "infra" / "pace.toml"
    assert parse_pace_file(shipped.read_text(encoding="utf-8")) == (DEFAULT_CURVES, DEFAULT_TOLERANCES)


BAD_PACE_FILES = [
    '[x]\ncurve = "linear"',
    '[budget_revenue]\nmilestones = [{ by = "06-30", share = "1.5" }]',
    '[budget_revenue]\nmilestones = [{ by = "09-30", share = "0.6" }, { by = "06-30", share = "0.4" }]',
    "[budget_revenue]\nmilestones = [",
    "[budget_revenue]\ntolerance_pp = 101",
    "[budget_revenue]\ntolerence_pp = 5",
]


def test_a_pace_file_changes_the_curve_and_bad_ones_are_refused() -> None:
    from shared.events import Indicator
    from shared.pace import PaceRules, parse_pace_file

    curves, _ = parse_pace_file('[public_investment_disbursement]\nmilestones = [{ by = "12-31", share = "1" }]')
    rules = PaceRules(curves=curves)
    assert rules.pace(Indicator.DISBURSEMENT, 2025, dt.date(2025, 12, 31)) == Decimal(1)
    for bad in BAD_PACE_FILES:
        with pytest.raises(ValueError):
            parse_pace_file(bad)


def test_the_pace_file_setting_is_honoured(tmp_path: object) -> None:
    from pathlib import Path

    from services.projector.progress_rules import progress_rules
    from shared.events import Indicator
    from shared.settings import Settings

    pace = Path(str(tmp_path)) / "pace.toml"
    pace.write_text(
        '[budget_revenue]\nmilestones = [{ by = "06-30", share = "0.5" }, { by = "12-31", share = "1" }]\n'
        "[public_investment_disbursement]\ntolerance_pp = 3\n"
    )
    rules = progress_rules(Settings(pim_pace_file=pace))
    assert rules.tolerances == {Indicator.DISBURSEMENT: Decimal("0.03"), Indicator.BUDGET_REVENUE: Decimal("0.05")}
    assert rules.pace(Indicator.BUDGET_REVENUE, 2025, dt.date(2025, 6, 30)) == Decimal("0.5")
    assert rules.pace(Indicator.DISBURSEMENT, 2025, dt.date(2025, 6, 30)) == Decimal("0.4")  # the default curve
    assert rules.assess(Indicator.DISBURSEMENT, Decimal(100), Decimal(36), Decimal("0.4")).status.value == "behind"
    assert rules.assess(Indicator.BUDGET_REVENUE, Decimal(100), Decimal(36), Decimal("0.4")).status.value == "on_track"


def test_the_old_tolerance_setting_stops_the_service_naming_where_it_went(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.projector.progress_rules import progress_rules
    from shared.settings import Settings

    monkeypatch.setenv("PIM_DISBURSEMENT_TOLERANCE_PP", "3")
    with pytest.raises(ValueError, match="PIM_DISBURSEMENT_TOLERANCE_PP is no longer read: set `tolerance_pp`"):
        progress_rules(Settings())


def test_a_units_own_milestones_replace_the_curve_from_their_decision() -> None:
    """Decided on 1 October: 70 % by 31 October, 85 % by 30 November; then the curve's 95 % by 31 January."""
    decided = dt.date(2025, 10, 1)
    own = [(dt.date(2025, 10, 31), Decimal("0.70")), (dt.date(2025, 11, 30), Decimal("0.85"))]

    def pace(day: dt.date) -> Decimal:
        return unit_pace(DISBURSEMENT_MILESTONES, 2025, day, decided, own)

    def curve(day: dt.date) -> Decimal:
        return expected_pace(DISBURSEMENT_MILESTONES, 2025, day)

    assert pace(dt.date(2025, 9, 30)) == curve(dt.date(2025, 9, 30)) == Decimal("0.60")  # before the decision
    assert pace(decided) == curve(decided)  # from the curve's share that day …
    assert pace(dt.date(2025, 10, 31)) == Decimal("0.70") > curve(dt.date(2025, 10, 31))  # … to its own milestones
    assert pace(dt.date(2025, 11, 30)) == Decimal("0.85")
    assert pace(dt.date(2026, 1, 31)) == Decimal("0.95")  # then on to the curve's later milestones
    assert Decimal("0.85") < pace(dt.date(2025, 12, 31)) < Decimal("0.95")
    assert unit_pace(DISBURSEMENT_MILESTONES, 2025, dt.date(2025, 12, 31), decided, []) == curve(dt.date(2025, 12, 31))
