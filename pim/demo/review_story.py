"""The sample's review loop, told on its own dates: in August the central committee asks Lâm Đồng's head to
explain the province's slow disbursement; he answers with causes and a promise of 70 % by 31 October; the
October report shows 60,3 %, so the promise is missed and says so; at the meeting the committee concludes
with criticism. Điện Biên's head, asked on 20 October, never answers: the alert climbs a level. Every step
goes through the alerts service as it would from the pages (events in the log, notifications)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg

from services.alerts import AlertsService
from shared.events import Commitment, Indicator
from shared.settings import Settings

COMMITTEE_MEMBER = "Trần Văn Kiểm <kiemtra@ubkt.example.vn>"
DISBURSEMENT = Indicator.DISBURSEMENT


class _Clock:
    def __init__(self, today: dt.date) -> None:
        self.today = today

    def __call__(self) -> dt.date:
        return self.today


async def play_review_story(settings: Settings, pool: asyncpg.Pool, meeting: dt.date) -> list[str]:
    """The story's steps, each recorded as the alerts service records it; the lines say what happened."""
    clock = _Clock(dt.date(2025, 8, 5))
    service = AlertsService.from_settings(settings, pool, clock=clock)
    told = []
    async with pool.acquire() as conn:
        if await conn.fetchval("SELECT count(*) FROM alert_reviews"):
            return ["told already (the sample was loaded before)"]
        lam_dong = await _open_alert(conn, "lam-dong", "below_pace")
        dien_bien = await _open_alert(conn, "dien-bien", None)
    if lam_dong is not None:
        asked = await service.request_explanation(lam_dong, COMMITTEE_MEMBER, "Giải trình nguyên nhân chậm giải ngân")
        clock.today = dt.date(2025, 8, 8)
        promise = Commitment(indicator=DISBURSEMENT, by=dt.date(2025, 10, 31), rate=Decimal("0.70"))
        await service.submit_explanation(
            lam_dong, f"{asked.leader_name} <lanhdao@lamdong.example.vn>", asked.leader_id, False,
            ["site_clearance", "late_allocation"],
            "Vướng giải phóng mặt bằng ở các dự án giao thông; vốn ngân sách trung ương giao chậm hai tháng",
            "Báo cáo số 112/BC-UBND ngày 08/08/2025", [promise],
        )  # fmt: skip
        told.append(f"Lâm Đồng: explanation asked on 05/08 of {asked.leader_name}, given on 08/08, 70 % promised")
    if dien_bien is not None:
        clock.today = dt.date(2025, 10, 20)
        await service.request_explanation(dien_bien, COMMITTEE_MEMBER, "Giải trình nguyên nhân và biện pháp khắc phục")
        told.append("Điện Biên: explanation asked on 20/10, due 27/10, never given")
    clock.today = meeting  # the meeting's day: the figures judge the promise, the clock the silence
    for unit in ("lam-dong", "dien-bien"):
        await service.evaluate(unit, 2025, meeting)
    if lam_dong is not None:
        await service.resolve(lam_dong, COMMITTEE_MEMBER, "Phê bình; yêu cầu kiểm điểm trách nhiệm chậm giải ngân",
                              "criticism", "Thông báo kết luận số 45-TB/UBKTTW")  # fmt: skip
        told.append("Lâm Đồng: the promise missed by the October report; concluded with criticism")
    return told


async def _open_alert(conn: asyncpg.Connection, unit: str, rule: str | None) -> str | None:
    """The unit's open 2025 disbursement alert of `rule` (None: its most severe, by fingerprint)."""
    fingerprint: str | None = await conn.fetchval(
        "SELECT fingerprint FROM alerts WHERE unit_code = $1 AND ($2::text IS NULL OR rule = $2) AND plan_year = 2025"
        " AND indicator = $3 AND status = 'open'"
        " ORDER BY rule IN ('below_pace', 'below_peer_average') DESC, severity = 'critical' DESC, fingerprint LIMIT 1",
        unit, rule, DISBURSEMENT.value,
    )  # fmt: skip
    return fingerprint
