"""How a notification reads (pure): a subject that tells alerts apart, evidence in words and as people write
numbers — no raw keys, no long decimals."""

from __future__ import annotations

from services.alerts.wording import evidence_lines, subject


def message(kind: str, **alert: object) -> dict[str, object]:
    base = {"severity": "warning", "unit_code": "son-la", "unit_name": "Tỉnh Sơn La", "rule": "missing_report",
            "indicator": "budget_revenue", "plan_year": 2025, "period": "2025-09"}  # fmt: skip
    return {"kind": kind, "alert": base | alert}


def test_two_missing_reports_of_one_unit_have_different_subjects() -> None:
    september = subject(message("AlertRaised"))
    august = subject(message("AlertRaised", period="2025-08", indicator="public_investment_disbursement"))
    assert (
        september
        == "[PIM · Cảnh báo / warning] Tỉnh Sơn La: Thiếu báo cáo / report missing — Thu ngân sách 2025 (2025-09)"
    )
    assert august != september and "Giải ngân vốn đầu tư công 2025 (2025-08)" in august
    asked = subject(message("ExplanationRequested", rule="below_pace", period=""))
    assert asked.startswith("[PIM · Cảnh báo / warning] Yêu cầu giải trình / explanation asked — Tỉnh Sơn La")


def test_evidence_is_labelled_and_written_as_people_write_it() -> None:
    lines = evidence_lines({"peer_average": "0.886787135123", "actual_ytd": "14147000000000", "as_of": "2025-10-31",
                            "consecutive_reports_behind": 3, "commitment": "0.70", "reached": "0.603"})  # fmt: skip
    assert lines == [
        "  Lũy kế thực hiện / year to date: 14.147.000.000.000 đ",
        "  Số liệu đến / figures as of: 31/10/2025",
        "  Cam kết / promised: 70,00 %",
        "  Số kỳ chậm liên tiếp / reports behind in a row: 3",
        "  Bình quân nhóm / group average: 88,68 %",
        "  Đạt / reached: 60,30 %",
    ]
