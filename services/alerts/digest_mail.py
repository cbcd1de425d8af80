"""Each committee's month by e-mail: on the first evaluation of a month, last month's digest (the same counts
as the page `/committee/digest`, from `queries.monthly_digest`) to every committee the rules file gives
addresses, over the units of its jurisdiction (those it oversees and all below them)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import asyncpg

from services.alerts.config import AlertConfig
from services.alerts.mail import EmailSender
from services.alerts.queries import monthly_digest

DIGEST_LINES = (  # the page's rows, in its order
    ("opened", "Cảnh báo mới / Alerts opened"),
    ("asked", "Yêu cầu giải trình / Explanations asked"),
    ("explained", "Đã giải trình / Explanations given"),
    ("concluded", "Đã kết luận / Reviews concluded"),
    ("concluded_with_fault", "  trong đó có khuyết điểm / of which with fault"),
    ("promises_due", "Cam kết đến hạn / Promises due"),
    ("promises_kept", "  đã giữ / kept"),
    ("promises_missed", "  không giữ / missed"),
    ("explanations_overdue", "Giải trình quá hạn (hôm nay) / Explanations overdue (today)"),
    ("open_now", "Đang mở (hôm nay) / Open (today)"),
)


def last_month(today: dt.date) -> tuple[dt.date, dt.date]:
    last = today.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


def digest_text(committee: str, first: dt.date, counts: dict[str, Any], page: str | None) -> tuple[str, str]:
    """The e-mail's subject and body."""
    subject = f"[PIM] Tổng hợp tháng {first:%m/%Y} / The month — {committee}"
    width = max(len(label) for _, label in DIGEST_LINES)
    lines = [
        f"{committee}: tháng {first:%m/%Y}, theo ngày ghi nhận từng bước / by the day each step was recorded",
        "",
        *(f"{label.ljust(width)}  {counts[key]}" for key, label in DIGEST_LINES),
        "",
        *([f"Xem và lọc / see and filter: {page}"] if page else []),
    ]
    return subject, "\n".join(lines)


async def send_due_digests(pool: asyncpg.Pool, config: AlertConfig, mailer: EmailSender, today: dt.date,
                           portal_url: str | None) -> int:  # fmt: skip
    """Last month's digest to each committee with addresses that has not had it; return how many were sent.
    Each is recorded in the transaction that sends it: a failure leaves it for the next tick."""
    first, last = last_month(today)
    sent = 0
    for committee, contact in sorted(config.routing.committees.items()):
        if not contact.email:
            continue
        async with pool.acquire() as conn, conn.transaction():
            made = await conn.fetchval(
                "INSERT INTO alert_digests_sent (committee, month, addresses) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING RETURNING 1",
                committee, first, list(contact.email),
            )  # fmt: skip
            if not made:
                continue
            scope = [r["unit_code"] for r in await conn.fetch(
                "WITH RECURSIVE scope AS (SELECT unit_code FROM units WHERE committee = $1"
                " UNION SELECT u.unit_code FROM units u JOIN scope s ON u.parent_code = s.unit_code)"
                " SELECT unit_code FROM scope", committee)]  # fmt: skip
            counts = await monthly_digest(conn, first, last, today, scope)
            page = f"{portal_url.rstrip('/')}/committee/digest?month={first:%Y-%m}" if portal_url else None
            subject, body = digest_text(committee, first, counts, page)
            key = hashlib.sha256(committee.encode()).hexdigest()[:16]
            for address in contact.email:  # a failure rolls the record back: the next tick sends it again
                await mailer.send_text(address, subject, body, f"<pim-digest-{first:%Y-%m}.{key}@pim>")
            sent += 1
    return sent
