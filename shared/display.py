"""Numbers as people in Vietnam write them: money with dots between thousands (`23.478.000.000.000 đ`,
`90.144 tỷ`), rates as percentages with a decimal comma (`46,26 %`); never scientific notation."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

BILLION = Decimal(1_000_000_000)

STANDING_LABELS = {
    "at_or_above": "Bằng hoặc trên bình quân / at or above the average",
    "below": "Dưới bình quân / below the average",
    "not_assessed": "Không đánh giá / not assessed",
}
# The words and colours every screen shows for the projector's and the alerts' codes (the board pack, the
# dashboards' value mappings): one place, Vietnamese first.
STATUS_LABELS = {
    "on_track": "Đạt tiến độ / on track",
    "behind": "Chậm tiến độ / behind pace",
    "critical": "Chậm nghiêm trọng / critically behind",
    "not_assessed": "Không đánh giá / not assessed",
}
INDICATOR_LABELS = {
    "public_investment_disbursement": "Giải ngân vốn đầu tư công / public-investment disbursement",
    "budget_revenue": "Thu ngân sách / budget revenue",
}
PLAN_ASSIGNED_BY_LABELS = {  # whose plan a rate is of
    "prime_minister": "KH Thủ tướng giao / plan assigned by the Prime Minister",
    "province": "KH tỉnh giao / plan assigned by the province",
}
NO_REPORT = {"no_report": "Chưa báo cáo / no report"}  # a unit with a plan and no report yet (counted with 0)
ALERT_STATUS_LABELS = {"open": "Đang mở / open", "resolved": "Đã xử lý / resolved"}
SEVERITY_LABELS = {"warning": "Cảnh báo / warning", "critical": "Nghiêm trọng / critical"}
RULE_LABELS = {
    "below_pace": "Chậm so với tiến độ / below pace",
    "below_peer_average": "Dưới bình quân / below the average",
    "below_share_at_sep30": "Dưới 60 % đến 30/9 / under 60 % by 30 September",
    "year_end_shortfall": "Cả năm chưa đạt / year short of the plan",
    "missing_report": "Thiếu báo cáo / report missing",
    "back_loading": "Dồn việc cuối năm / back-loaded",
    "early_warning": "Dự báo không đạt / projected to fall short",
    "confidence_vote": "Tín nhiệm thấp / low confidence vote",
    "revenue_outturn": "Thu ngân sách lệch dự toán / revenue outturn off the estimate",
    "commitment_missed": "Không giữ cam kết / commitment missed",
}
ROLE_LABELS = {
    "head": "Người đứng đầu / head",
    "acting_head": "Quyền người đứng đầu / acting head",
    "deputy_in_charge": "Phó phụ trách / deputy in charge",
}
VOTE_BAND_LABELS = {  # Regulation 96-QĐ/TW
    "none": "Không thuộc diện xem xét / no action",
    "review": "Trên 1/2 tín nhiệm thấp: xem xét cho thôi giữ chức / over half low: review",
    "dismissal": "Từ 2/3 tín nhiệm thấp: miễn nhiệm / two thirds or more low: dismissal",
}
COLOURS = {  # status, standing and severity: green, amber, red; grey for not assessed
    "on_track": "green", "at_or_above": "green", "behind": "orange", "warning": "orange", "below": "red",
    "critical": "red", "not_assessed": "gray", "none": "green", "review": "orange", "dismissal": "red",
    "no_report": "purple", "open": "orange", "resolved": "green", "kept": "green", "missed": "red",
}  # fmt: skip
NOT_ASSESSED_REASONS = {
    "no_plan": "chưa giao kế hoạch / no plan",
    "late_supplement": "bổ sung vốn sau 30/9 / capital supplemented after 30 September",
}


def _grouped(amount: Decimal, places: int) -> str:
    """`amount` rounded to `places` decimals, thousands separated by dots, decimals after a comma."""
    text = f"{amount.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN):,.{places}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def count(n: int) -> str:
    """A count as Vietnamese write it: `400.000`."""
    return _grouped(Decimal(n), 0)


def vnd(amount: Decimal | None) -> str:
    """`23.478.000.000.000 đ`; decimals (đồng has none in practice) are kept when there are any."""
    if amount is None:
        return "—"
    places = 0 if amount == amount.to_integral_value() else 2
    return f"{_grouped(amount, places)} đ"


def billions(amount: Decimal | None, places: int = 0) -> str:
    """In tỷ đồng (billion VND): `90.144`."""
    return "—" if amount is None else _grouped(amount / BILLION, places)


def percent(fraction: Decimal | None, places: int = 2) -> str:
    """A fraction as a percentage: `0.4626` → `46,26 %`."""
    return "—" if fraction is None else f"{_grouped(fraction * 100, places)} %"


def score(value: Decimal | None) -> str:
    """A score out of 100 as people write it: `76,97`."""
    return "—" if value is None else _grouped(value, 2)


def points(fraction: Decimal | None, places: int = 1) -> str:
    """A difference of fractions in percentage points, signed: `0.039` → `+3,9 pp`."""
    if fraction is None:
        return "—"
    return f"{'+' if fraction >= 0 else '-'}{_grouped(abs(fraction) * 100, places)} pp"


# The causes a head names when explaining an alert: the taxonomy's defaults (the alerts rules file may add more).
CAUSE_LABELS = {
    "site_clearance": "Giải phóng mặt bằng, tái định cư / site clearance and resettlement",
    "investment_procedures": "Thủ tục đầu tư, thẩm định / investment procedures and appraisal",
    "late_allocation": "Giao vốn, phân bổ vốn chậm / capital allocated late",
    "contractor_capacity": "Năng lực nhà thầu / contractor capacity",
    "materials": "Nguồn cung và giá vật liệu / materials supply and prices",
    "disasters_weather": "Thiên tai, thời tiết / natural disasters and weather",
    "design_changes": "Điều chỉnh thiết kế / design changes",
    "other": "Nguyên nhân khác / other",
}
CONCLUSION_LABELS = {  # a committee's conclusion of a review
    "no_fault": "Không có vi phạm / no fault found", "reminder": "Nhắc nhở / reminder",
    "criticism": "Phê bình / criticism", "self_criticism": "Yêu cầu kiểm điểm / self-criticism required",
    "discipline_recommended": "Đề nghị kỷ luật, thay thế / discipline or replacement recommended",
}  # fmt: skip
ALERT_EVENT_LABELS = {  # every step of an alert's life and review, as the ledger names them
    "AlertRaised": "Phát hiện / raised", "AlertRefreshed": "Cập nhật / refreshed",
    "AlertEscalated": "Chuyển cấp trên / escalated", "AlertAcknowledged": "Tiếp nhận / acknowledged",
    "AlertSilenced": "Tạm dừng thông báo / silenced", "AlertResolved": "Đã xử lý / resolved",
    "ExplanationRequested": "Yêu cầu giải trình / explanation asked",
    "ExplanationSubmitted": "Đã giải trình / explained",
    "CommitmentChecked": "Đối chiếu cam kết / promise checked", "DeadlineReminded": "Nhắc hạn / reminded",
}  # fmt: skip
PROMISE_LABELS = {"kept": "Đã giữ / kept", "missed": "Không giữ / missed"}
# The heads' scores (services/projector/head_scores.py): each band and criterion, Vietnamese first.
BAND_LABELS: dict[str, str] = {
    "excellent": "Hoàn thành xuất sắc / excellent", "good": "Hoàn thành tốt / good",
    "complete": "Hoàn thành / complete", "not_complete": "Không hoàn thành / not complete",
}  # fmt: skip
CRITERION_LABELS: dict[str, str] = {
    "disbursement_vs_plan": "Giải ngân so với kế hoạch / disbursement against plan",
    "disbursement_vs_average": "Giải ngân so với bình quân nhóm / disbursement against the group's average",
    "revenue_vs_plan": "Thu ngân sách so với dự toán / revenue against plan",
    "revenue_vs_average": "Thu ngân sách so với bình quân nhóm / revenue against the group's average",
    "reporting_on_time": "Báo cáo đúng hạn / reports on time",
    "commitments_kept": "Cam kết được giữ / commitments kept",
    "conclusions_with_fault": "Kết luận có khuyết điểm / conclusions with fault",
}  # fmt: skip
