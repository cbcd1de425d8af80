import datetime as dt
from decimal import Decimal

from services.alerts.rules import ProgressSnapshot, below_pace, fingerprint


def snapshot(status: str, rate: str | None = "0.3") -> ProgressSnapshot:
    return ProgressSnapshot(
        "gia-lai",
        "public_investment_disbursement",
        2025,
        dt.date(2025, 10, 31),
        Decimal(100),
        Decimal(30),
        None if rate is None else Decimal(rate),
        Decimal("0.688211"),
        status,
    )


def test_below_pace_fires_for_behind_and_critical_with_evidence() -> None:
    warning = below_pace(snapshot("behind"), Decimal("0.05"))
    critical = below_pace(snapshot("critical"), Decimal("0.05"))
    assert warning is not None and warning.severity == "warning"
    assert critical is not None and critical.severity == "critical"
    assert critical.evidence["rate"] == "0.3" and critical.evidence["expected_pace"] == "0.688211"


def test_below_pace_stays_quiet_on_track_and_when_not_assessed() -> None:
    assert below_pace(snapshot("on_track"), Decimal("0.05")) is None
    assert below_pace(snapshot("not_assessed", rate=None), Decimal("0.05")) is None


def test_fingerprint_is_per_unit_indicator_rule_and_year() -> None:
    assert fingerprint("gia-lai", "budget_revenue", "below_pace", 2025) != fingerprint(
        "gia-lai", "budget_revenue", "below_pace", 2026
    )
