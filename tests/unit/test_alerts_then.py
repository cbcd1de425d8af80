"""The alerts open on a date, from the steps the alerts service published."""

from __future__ import annotations

import datetime as dt

from services.projector.alerts_then import AlertStep, alerts_open_on

OCT_31, NOV_10, NOV_30 = dt.date(2025, 10, 31), dt.date(2025, 11, 10), dt.date(2025, 11, 30)


def test_an_alert_stands_as_its_latest_step_dated_by_the_day() -> None:
    def step(position: int, kind: str, on: dt.date | None, **more: object) -> AlertStep:
        fields = {"indicator": None, "plan_year": None, "rule": None, "severity": None, "summary": None,
                  "committee": None, "responsible_leader_id": None, "responsible_leader_name": None} | more  # fmt: skip
        return AlertStep(position, "f", kind, on, "lam-dong", **fields)  # type: ignore[arg-type]

    steps = [
        step(
            1,
            "AlertRaised",
            OCT_31,
            indicator="public_investment_disbursement",
            plan_year=2025,
            rule="behind_pace",
            severity="warning",
            summary="tháng 10",
            committee="UBKT tỉnh",
        ),
        step(2, "AlertAcknowledged", None),
        step(3, "AlertEscalated", dt.date(2025, 11, 5), committee="UBKT trung ương"),
        step(4, "AlertRefreshed", NOV_30, severity="critical", summary="tháng 11"),
        step(5, "AlertResolved", dt.date(2025, 12, 31)),
    ]
    assert alerts_open_on(steps, dt.date(2025, 10, 30)) == []
    (then,) = alerts_open_on(steps, NOV_10)
    assert (then.severity, then.summary, then.escalated_to, then.as_of) == (
        "warning", "tháng 10", "UBKT trung ương", OCT_31,
    )  # fmt: skip
    (later,) = alerts_open_on(steps, dt.date(2025, 12, 1))
    assert (later.severity, later.summary) == ("critical", "tháng 11")
    assert alerts_open_on(steps, dt.date(2026, 1, 1)) == []
