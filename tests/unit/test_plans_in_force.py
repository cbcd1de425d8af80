"""The plan in force on a date, from the decisions that set and revised it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.projector.plans_in_force import KeyPlans, PlanDecision, decision_in_force

D = Decimal
SET = PlanDecision(dt.date(2024, 12, 10), 1, D(1000), D(0))
REVISED = PlanDecision(dt.date(2025, 12, 28), 7, D(2000), D(0))
BACKFILLED = PlanDecision(dt.date(2025, 6, 1), 9, D(1500), D(0))  # recorded last, decided in between


def test_the_newest_decision_dated_by_the_day_is_in_force() -> None:
    decisions = [REVISED, SET, BACKFILLED]
    assert decision_in_force(decisions, dt.date(2024, 12, 9)) is None
    assert decision_in_force(decisions, dt.date(2025, 5, 31)) == SET
    assert decision_in_force(decisions, dt.date(2025, 12, 27)) == BACKFILLED  # by date, not by recording
    assert decision_in_force(decisions, dt.date(2025, 12, 28)) == REVISED


def test_two_decisions_of_one_day_the_later_recorded_stands() -> None:
    corrected = PlanDecision(SET.in_force_from, 3, D(1100), D(0))
    assert decision_in_force([corrected, SET], dt.date(2025, 1, 1)) == corrected


def test_a_merged_unit_brings_its_plan_in_force_from_the_merger_date() -> None:
    merged_on = dt.date(2025, 7, 1)
    predecessor = (PlanDecision(dt.date(2024, 12, 10), 2, D(500), D(0)),
                   PlanDecision(dt.date(2025, 9, 1), 8, D(600), D(50)))  # fmt: skip
    plans = KeyPlans(own=(SET, REVISED), merged=((merged_on, predecessor),))
    assert plans.on(dt.date(2025, 6, 30)) == (D(1000), D(0))
    assert plans.on(merged_on) == (D(1500), D(0))
    assert plans.on(dt.date(2025, 9, 1)) == (D(1600), D(50))
    assert plans.on(dt.date(2025, 12, 28)) == (D(2600), D(50))
    assert plans.change_dates() == {SET.in_force_from, REVISED.in_force_from, merged_on, dt.date(2025, 9, 1)}


def test_no_decision_yet_no_plan() -> None:
    assert KeyPlans().on(dt.date(2025, 3, 1)) == (None, D(0))
