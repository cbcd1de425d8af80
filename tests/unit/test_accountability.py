import datetime as dt
from decimal import Decimal

from services.projector.accountability import ProgressPoint, attribute, split_period
from shared.events import Role
from shared.responsibility import Tenure

D = dt.date
YEAR = (D(2025, 1, 1), D(2025, 12, 31))


def head(leader: str, start: dt.date, end: dt.date | None = None, role: Role = Role.HEAD) -> Tenure:
    return Tenure(leader, f"Ông/Bà {leader}", role, None, start, end)


def point(month: int, rate: str, pace: str, status: str, day: int = 28) -> ProgressPoint:
    return ProgressPoint(D(2025, month, day), Decimal(rate), Decimal(pace), status)


HISTORY = [
    point(3, "0.10", "0.10", "on_track"),
    point(5, "0.15", "0.30", "behind"),
    point(7, "0.30", "0.45", "behind"),
    point(9, "0.58", "0.60", "on_track"),
]


def test_a_change_of_head_mid_year_splits_the_year_and_the_gap() -> None:
    first, second = head("A", D(2021, 6, 1), D(2025, 5, 31)), head("B", D(2025, 6, 1))
    stints = attribute([first, second], HISTORY, *YEAR)
    assert [(s.tenure, s.start, s.end) for s in stints] == [
        (first, D(2025, 1, 1), D(2025, 5, 31)),
        (second, D(2025, 6, 1), D(2025, 12, 31)),
    ]
    a, b = stints
    assert (a.gap_at_start, a.gap_at_end, a.gap_arisen, a.months_behind) == (0, Decimal("0.15"), Decimal("0.15"), 1)
    # B inherits A's gap and closes most of it
    assert (b.rate_at_start, b.gap_at_start, b.gap_at_end) == (Decimal("0.15"), Decimal("0.15"), Decimal("0.02"))
    assert b.gap_arisen == Decimal("-0.13") and b.months_behind == 1


def test_a_head_changing_mid_month_leaves_the_month_end_report_to_the_successor() -> None:
    stints = attribute([head("A", D(2020, 1, 1), D(2025, 5, 15)), head("B", D(2025, 5, 16))], HISTORY, *YEAR)
    assert [s.months_behind for s in stints] == [0, 2]


def test_an_acting_head_then_confirmed_answers_for_both_stints() -> None:
    acting = head("C", D(2025, 3, 16), D(2025, 7, 31), Role.ACTING_HEAD)
    confirmed = head("C", D(2025, 8, 1))
    stints = attribute([head("A", D(2020, 1, 1), D(2025, 3, 15)), acting, confirmed], HISTORY, *YEAR)
    assert [(s.tenure.role if s.tenure else None, s.start) for s in stints] == [
        (Role.HEAD, D(2025, 1, 1)),
        (Role.ACTING_HEAD, D(2025, 3, 16)),
        (Role.HEAD, D(2025, 8, 1)),
    ]


def test_a_vacant_period_is_attributed_to_no_one() -> None:
    stints = attribute([head("A", D(2020, 1, 1), D(2025, 6, 15))], HISTORY, *YEAR)
    assert [(s.vacant, s.start, s.end) for s in stints] == [
        (False, D(2025, 1, 1), D(2025, 6, 15)),
        (True, D(2025, 6, 16), D(2025, 12, 31)),
    ]
    assert stints[1].months_behind == 1  # July, with nobody in post


def test_overlapping_records_hand_over_at_the_later_start() -> None:
    pieces = split_period([head("A", D(2020, 1, 1)), head("B", D(2025, 6, 1))], [Role.HEAD], *YEAR)
    assert [(t.leader_id if t else None, s, e) for t, s, e in pieces] == [
        ("A", D(2025, 1, 1), D(2025, 5, 31)),
        ("B", D(2025, 6, 1), D(2025, 12, 31)),
    ]


def test_deputies_in_charge_are_attributed_separately() -> None:
    deputy = Tenure("L9", "Phó Chủ tịch", Role.DEPUTY_IN_CHARGE, "public_investment_disbursement", D(2025, 4, 1), None)
    stints = attribute([head("A", D(2020, 1, 1)), deputy], HISTORY, *YEAR, roles=[Role.DEPUTY_IN_CHARGE])
    assert [(s.vacant, s.start) for s in stints] == [(True, D(2025, 1, 1)), (False, D(2025, 4, 1))]


def test_regulation_96_bands() -> None:
    from services.projector.accountability import vote_band

    assert [vote_band(90, low) for low in (45, 46, 59, 60, 90)] == [
        "none",
        "review",
        "review",
        "dismissal",
        "dismissal",
    ]
