"""How a notification reads to a person: a subject that tells one alert from another (the step, the unit,
the rule, the indicator and the period), and evidence in words, with money and rates written as people
write them (`60,30 %`, `14.147.000.000.000 đ`, `31/10/2025`), never raw keys and long decimals. Pure."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.display import ALERT_EVENT_LABELS, INDICATOR_LABELS, RULE_LABELS, SEVERITY_LABELS, percent, vnd

EVIDENCE_LABELS = {
    "rate": "Tỷ lệ đạt / rate", "expected_pace": "Tiến độ phải đạt / expected pace",
    "peer_average": "Bình quân nhóm / group average", "threshold": "Ngưỡng / threshold",
    "projected_rate": "Dự báo cuối kỳ / projected rate", "seasonal_share": "Tỷ trọng mùa vụ / seasonal share",
    "last_quarter_share": "Tỷ trọng quý IV / share after 30 September", "margin": "Biên / margin",
    "target": "Kế hoạch / plan", "basis": "Kế hoạch làm căn cứ / plan assessed on",
    "actual_ytd": "Lũy kế thực hiện / year to date", "actual_final": "Thực hiện cả năm / final",
    "as_of": "Số liệu đến / figures as of", "deadline": "Hạn báo cáo / due", "arrived": "Nhận ngày / arrived",
    "window_end": "Hết thời hạn / window ends", "vote_date": "Ngày lấy phiếu / vote date",
    "days_late": "Số ngày chậm / days late", "days_overdue": "Số ngày quá hạn / days overdue",
    "consecutive_reports_behind": "Số kỳ chậm liên tiếp / reports behind in a row",
    "period": "Kỳ / period", "status": "Tình trạng / status", "band": "Mức / band", "voters": "Số phiếu / voters",
    "low": "Phiếu thấp / low", "leader_name": "Người được lấy phiếu / leader", "leader_id": "Mã lãnh đạo / leader id",
    "commitment": "Cam kết / promised", "reached": "Đạt / reached", "figures_as_of": "Số liệu đến / figures as of",
    "explanation_of": "Giải trình của cảnh báo / for the alert",
}  # fmt: skip
SHARES = {"rate", "expected_pace", "peer_average", "threshold", "projected_rate", "seasonal_share",
          "last_quarter_share", "margin"}  # fmt: skip
MONEY = {"target", "basis", "actual_ytd", "actual_final"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


REMINDER_SUBJECTS = {
    "acknowledgement": "Tiếp nhận trước / acknowledge by", "explanation": "Giải trình trước / explain by",
    "report": "Báo cáo trước / report by",
}  # fmt: skip


def subject(message: dict[str, Any]) -> str:
    """`[PIM · Nghiêm trọng / critical] Chuyển cấp trên / escalated — Tỉnh Lâm Đồng: Chậm so với tiến độ /
    below pace — Giải ngân vốn đầu tư công 2025 (2025-09)`; a reminder: `[PIM · Nhắc hạn / reminder] Báo cáo
    trước / report by 06/05/2025 — Thành phố Đà Lạt: Giải ngân vốn đầu tư công 2025 (04/2025)`."""
    if message["kind"] == "DeadlineReminded":
        return _reminder_subject(message)
    alert = message["alert"]
    severity = SEVERITY_LABELS.get(alert["severity"], alert["severity"])
    step = None if message["kind"] == "AlertRaised" else ALERT_EVENT_LABELS.get(message["kind"])
    unit = alert.get("unit_name") or alert["unit_code"]
    indicator = INDICATOR_LABELS.get(alert.get("indicator") or "", "").split(" / ")[0]
    period = f" ({alert['period']})" if alert.get("period") and alert["period"] != str(alert["plan_year"]) else ""
    what = f"{indicator} {alert['plan_year']}{period}".strip()
    rule = RULE_LABELS.get(alert["rule"], alert["rule"])
    return f"[PIM · {severity}] {f'{step} — ' if step else ''}{unit}: {rule} — {what}"


def _reminder_subject(message: dict[str, Any]) -> str:
    event, alert = message["event"], message["alert"]
    when = f"{REMINDER_SUBJECTS[event['deadline']]} {dt.date.fromisoformat(event['due']):%d/%m/%Y}"
    if alert is None:  # a report owed
        indicator = INDICATOR_LABELS.get(event.get("indicator") or "", "").split(" / ")[0]
        month = dt.date.fromisoformat(f"{event['period']}-01")
        what = f"{indicator} {event['plan_year']} ({month:%m/%Y})"
        return f"[PIM · Nhắc hạn / reminder] {when} — {message['unit']['unit_name']}: {what}"
    unit = alert.get("unit_name") or alert["unit_code"]
    indicator = INDICATOR_LABELS.get(alert.get("indicator") or "", "").split(" / ")[0]
    rule = RULE_LABELS.get(alert["rule"], alert["rule"])
    return f"[PIM · Nhắc hạn / reminder] {when} — {unit}: {rule} — {indicator} {alert['plan_year']}".rstrip()


def evidence_lines(evidence: dict[str, Any]) -> list[str]:
    """Each piece of evidence, labelled and written as people write it."""
    return [f"  {EVIDENCE_LABELS.get(key, key)}: {shown(key, value)}" for key, value in sorted(evidence.items())]


def shown(key: str, value: Any) -> str:
    if value is None:
        return "—"
    text = str(value)
    if _DATE.match(text):
        return f"{dt.date.fromisoformat(text):%d/%m/%Y}"
    if key in SHARES or key in MONEY or key in ("commitment", "reached"):
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text
        if key in MONEY or (key in ("commitment", "reached") and abs(number) > 2):
            return vnd(number)
        return percent(number)
    return text
