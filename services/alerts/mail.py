"""Alert e-mail a person can work from: one message per person for one evaluation round (what is new, worse,
escalated, asked or resolved, grouped by unit), each alert with that person's signed links.

Who receives a notification: the addresses of the committee it is routed to, and for an explanation request
the head asked (their PIM account's e-mail). An address that belongs to an enabled PIM account gets links
bound to that account: a committee member's "open" and, while nobody has, "acknowledge"; the head's "write
the explanation". Other addresses get the page's plain address (sign-in asked).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import aiosmtplib
import asyncpg

from services.alerts.config import AlertConfig
from services.alerts.outbox import Gathered
from services.alerts.wording import evidence_lines, subject
from shared import action_links
from shared.action_links import ActionLink, Purpose
from shared.display import ALERT_EVENT_LABELS, INDICATOR_LABELS, RULE_LABELS, SEVERITY_LABELS

LINK_LABELS: dict[Purpose, str] = {
    "explain": "Viết giải trình / write the explanation",
    "acknowledge": "Xác nhận đã tiếp nhận / acknowledge it",
    "open": "Mở cảnh báo / open the alert",
}
REMINDER_LABELS = {
    "acknowledgement": "Nhắc hạn tiếp nhận cảnh báo / acknowledge this alert by",
    "explanation": "Nhắc hạn giải trình / your explanation is due by",
    "report": "Nhắc hạn báo cáo / a report is due by",
}
_SEVERITY_ORDER = {"info": 0, "warning": 1, "critical": 2}


class NoRecipient(RuntimeError):
    """An alert e-mail with nobody to send it to."""


@dataclass(frozen=True)
class Person:
    """An address, and the enabled PIM account it belongs to (if any)."""

    address: str
    account_id: str | None = None
    role: str | None = None
    leader_id: str | None = None


@dataclass
class Letter:
    """What one person receives in one round: the notifications (in order) and their links."""

    person: Person
    items: list[tuple[int, dict[str, Any], dict[Purpose, str]]] = field(default_factory=list)


@dataclass(frozen=True)
class Directory:
    """The enabled accounts behind the addresses a round's notifications go to."""

    people: Mapping[str, Person]  # by lower-cased address
    heads: Mapping[str, list[str]]  # a leader's addresses
    clerks: Mapping[str, list[str]]  # a unit's finance clerks' addresses


def reminder_of(message: Mapping[str, Any]) -> str | None:
    """The deadline a reminder is about (acknowledgement, explanation, report); None for another notification."""
    return (message.get("event") or {}).get("deadline") if message["kind"] == "DeadlineReminded" else None


def addresses_for(message: Mapping[str, Any], config: AlertConfig, directory: Directory) -> list[str]:
    """Whoever must act: the committee's addresses, and the head asked for an explanation request; a reminder
    goes only to whoever the deadline is theirs — the committee, the head asked, the unit's finance clerks."""
    event = message.get("event") or {}
    reminder = reminder_of(message)
    if reminder == "report":
        return list(directory.clerks.get(event["unit_code"], []))
    if reminder == "explanation":
        return list(directory.heads.get(event.get("leader_id") or "", []))
    out = list(config.routing.emails_of(message["routed_to"]))
    if message["kind"] == "ExplanationRequested" and (leader := event.get("leader_id")):
        out += [a for a in directory.heads.get(leader, []) if a not in out]
    return out


def purposes_for(message: Mapping[str, Any], person: Person) -> list[Purpose]:
    """The links this person's copy carries: only what their role may do about this alert."""
    alert = message["alert"]
    if person.account_id is None:
        return []
    if alert is None:  # a report owed: the clerk signs in to send it
        return []
    if person.role == "head":
        asked = (message.get("event") or {}).get("leader_id")
        wanted = message["kind"] == "ExplanationRequested" or reminder_of(message) == "explanation"
        pending = wanted and alert["status"] == "open"
        return ["explain"] if pending and asked is not None and asked == person.leader_id else []
    if person.role in ("committee", "admin"):
        unanswered = alert["status"] == "open" and not alert.get("acknowledged_by")
        return ["acknowledge", "open"] if unanswered else ["open"]
    return []


def plain_link(message: Mapping[str, Any], person: Person, portal_url: str | None) -> str | None:
    """The page without a signed link: a head's explanation form, or the alert's page (sign-in asked)."""
    if portal_url and reminder_of(message) == "report":
        return f"{portal_url.rstrip('/')}/clerk"
    if portal_url and message["kind"] in ("ExplanationRequested", "DeadlineReminded") and person.role == "head":
        fingerprint = quote(message["alert"]["fingerprint"], safe="")
        return f"{portal_url.rstrip('/')}/head/explain?fingerprint={fingerprint}"
    url: str | None = message.get("alert_url")
    return url


def report_block(message: Mapping[str, Any], plain: str | None) -> list[str]:
    """A month's report owed, as the finance department's reminder tells it."""
    event, unit = message["event"], message["unit"]
    indicator = INDICATOR_LABELS.get(event.get("indicator") or "", "—")
    month = dt.date.fromisoformat(f"{event['period']}-01")
    return [
        f"Nhắc hạn báo cáo / a report is due: {dt.date.fromisoformat(event['due']):%d/%m/%Y}",
        *([f"Gửi báo cáo / send it: {plain}"] if plain else []),
        "",
        f"Đơn vị / unit: {unit['unit_name']} ({unit['unit_code']})",
        f"Chỉ tiêu / indicator: {indicator}, năm / plan year {event['plan_year']}",
        f"Tháng / month: {month:%m/%Y}",
        "Chưa nhận được số liệu tháng này / no figure for this month has arrived yet.",
    ]


def alert_block(message: Mapping[str, Any], links: Mapping[Purpose, str], plain: str | None) -> list[str]:
    """One alert as the e-mail tells it: its links first, then what it is, the evidence, where to read more."""
    alert = message["alert"]
    event = message.get("event") or {}
    if alert is None:
        return report_block(message, plain)
    lines: list[str] = []
    if reminder := reminder_of(message):
        lines += [f"{REMINDER_LABELS[reminder]}: {dt.date.fromisoformat(event['due']):%d/%m/%Y}", ""]
    for purpose in ("explain", "acknowledge", "open"):
        if purpose in links:
            due = f" (trước / by {dt.date.fromisoformat(event['due']):%d/%m/%Y})" if purpose == "explain" else ""
            lines.append(f"{LINK_LABELS[purpose]}{due}: {links[purpose]}")
    if not links and plain:
        lines.append(f"Mở cảnh báo để xử lý / open the alert to act on it: {plain}")
    if lines:
        lines.append("")
    if message["kind"] == "AlertResolved":
        lines.append(f"Đã xử lý / resolved: {alert.get('resolution') or ''}")
    if reopened := event.get("reopens"):
        lines.append(f"Mở lại kết luận đã xử lý (tình trạng nặng hơn) / reopens a resolution, now worse: {reopened}")
    if message["kind"] not in ("AlertRaised", "AlertResolved", "DeadlineReminded"):
        lines.append(f"Bước / step: {ALERT_EVENT_LABELS.get(message['kind'], message['kind'])}")
    lines += [
        f"Đơn vị / unit: {alert.get('unit_name') or alert['unit_code']} ({alert['unit_code']})",
        f"Cảnh báo / rule: {RULE_LABELS.get(alert['rule'], alert['rule'])}",
        f"Chỉ tiêu / indicator: {INDICATOR_LABELS.get(alert.get('indicator') or '', '—')},"
        f" năm / plan year {alert['plan_year']}",
        f"Kỳ / period: {alert['period'] or alert['plan_year']}",
        f"Mức độ / severity: {SEVERITY_LABELS.get(alert['severity'], alert['severity'])}",
        f"Người đứng đầu / responsible head: {alert.get('responsible_leader_name') or 'khuyết / vacant'}",
        f"Ủy ban Kiểm tra / committee: {message['routed_to']}",
        "",
        alert.get("summary") or "",
        "",
        "Căn cứ / evidence:",
        *evidence_lines(alert.get("evidence") or {}),
        "",
        f"Bảng theo dõi / dashboard: {message['dashboard_url']}",
        f"Mã cảnh báo / fingerprint: {alert.get('fingerprint') or '-'}",
    ]
    return lines


def letter_subject(letter: Letter) -> str:
    """One notification: its own subject. Several: how many, on which units, at the gravest severity."""
    messages = [m for _, m, _ in letter.items]
    if len(messages) == 1:
        return subject(messages[0])
    gravest = max((m["alert"]["severity"] for m in messages if m["alert"]), key=lambda s: _SEVERITY_ORDER.get(s, 0),
                  default="info")  # fmt: skip
    units = list(dict.fromkeys(_unit(m)[0] for m in messages))
    named = ", ".join(units[:2]) + (f" và {len(units) - 2} đơn vị khác / and {len(units) - 2} more" if len(units) > 2
                                    else "")  # fmt: skip
    return f"[PIM · {SEVERITY_LABELS.get(gravest, gravest)}] {len(messages)} thông báo / notifications — {named}"


def letter_body(letter: Letter, portal_url: str | None) -> str:
    """The notifications grouped by unit, each unit's in the order they were recorded."""
    if len(letter.items) == 1:
        _, message, links = letter.items[0]
        return "\n".join(alert_block(message, links, plain_link(message, letter.person, portal_url)))
    by_unit: dict[str, list[tuple[dict[str, Any], dict[Purpose, str]]]] = defaultdict(list)
    for _, message, links in letter.items:
        name, code = _unit(message)
        by_unit[f"{name} ({code})"].append((message, links))
    lines = [f"{len(letter.items)} thông báo về {len(by_unit)} đơn vị / {len(letter.items)} notifications on"
             f" {len(by_unit)} units", ""]  # fmt: skip
    for unit, items in by_unit.items():
        lines += [f"== {unit} ==", ""]
        for n, (message, links) in enumerate(items, 1):
            plain = plain_link(message, letter.person, portal_url)
            lines += [f"-- {n}. {subject(message)}", *alert_block(message, links, plain), ""]
    return "\n".join(lines)


def _unit(message: Mapping[str, Any]) -> tuple[str, str]:
    """The unit a notification is about: its name and code."""
    about = message["alert"] or message["unit"]
    return about.get("unit_name") or about["unit_code"], about["unit_code"]


def message_id(letter: Letter) -> str:
    """One letter, one id: the same positions to the same address on a re-delivery give the same id."""
    positions = ",".join(str(p) for p, _, _ in letter.items)
    digest = hashlib.sha256(f"{positions}\n{letter.person.address}".encode()).hexdigest()[:16]
    first = letter.items[0][1]["idempotency_key"]
    return f"<{first}.{digest}@pim>"


def _nobody(message: Mapping[str, Any]) -> str:
    """Why a notification has no recipient: what to set so that it has one."""
    reminder = reminder_of(message)
    if reminder == "report":
        return f"no enabled finance clerk account with an e-mail for unit {message['event']['unit_code']}"
    if reminder == "explanation":
        return f"no enabled head account for leader {message['event'].get('leader_id')}"
    return f"no e-mail recipient for {message['routed_to']} and no routing.default_email"


class EmailSender:
    """Gathers each round's notifications per person and sends each person one plain-text e-mail."""

    def __init__(
        self, host: str, port: int, sender: str, config: AlertConfig, *, portal_url: str | None = None,
        link_secret: str | None = None, now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:  # fmt: skip
        self._host = host
        self._port = port
        self._from = sender
        self._config = config
        self._portal_url = portal_url.rstrip("/") if portal_url else None
        self._secret = link_secret if portal_url else None  # a link needs the pages to open it
        self._now = now
        self.gather_seconds = float(config.notifications.gather_seconds)

    async def directory(self, conn: asyncpg.Connection, messages: Sequence[Mapping[str, Any]]) -> Directory:
        """The enabled accounts behind the committees' addresses, the heads asked (by leader), and the finance
        clerks of the units that owe a report."""
        committee_addresses = {a.lower() for m in messages for a in self._config.routing.emails_of(m["routed_to"])}
        events = [m.get("event") or {} for m in messages]
        leaders = sorted({e["leader_id"] for e in events if e.get("leader_id")})
        owing = sorted({m["event"]["unit_code"] for m in messages if reminder_of(m) == "report"})
        rows = await conn.fetch(
            "SELECT lower(email) AS address, account_id, role, leader_id, units FROM accounts"
            " WHERE disabled_at IS NULL AND (lower(email) = ANY($1) OR (role = 'head' AND leader_id = ANY($2))"
            " OR (role = 'clerk' AND units && $3::text[]))",
            sorted(committee_addresses), leaders, owing,
        )  # fmt: skip
        people = {r["address"]: Person(r["address"], r["account_id"], r["role"], r["leader_id"]) for r in rows}
        heads: dict[str, list[str]] = defaultdict(list)
        clerks: dict[str, list[str]] = defaultdict(list)
        for r in rows:
            if r["role"] == "head" and r["leader_id"]:
                heads[r["leader_id"]].append(r["address"])
            if r["role"] == "clerk":
                for unit in set(r["units"]) & set(owing):
                    clerks[unit].append(r["address"])
        return Directory(people, heads, clerks)

    def links(self, message: Mapping[str, Any], person: Person) -> dict[Purpose, str]:
        if self._secret is None or person.account_id is None:
            return {}
        expires = self._now() + dt.timedelta(days=self._config.notifications.link_valid_days)
        out: dict[Purpose, str] = {}
        for purpose in purposes_for(message, person):
            link = ActionLink(action_links.link_id(message["idempotency_key"], person.account_id, purpose),
                              person.account_id, message["alert"]["fingerprint"], purpose, expires)  # fmt: skip
            out[purpose] = f"{self._portal_url}/act/{action_links.sign(self._secret, link)}"
        return out

    def compose(self, letter: Letter) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._from
        mail["To"] = letter.person.address
        mail["Subject"] = letter_subject(letter)
        mail["Message-ID"] = message_id(letter)
        mail["Date"] = email.utils.format_datetime(self._now())
        mail.set_content(letter_body(letter, self._portal_url))
        return mail

    async def send_text(self, address: str, subject: str, body: str, message_id: str) -> None:
        """One plain-text e-mail (a committee's monthly digest); raises when the server refuses it."""
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self._from, address, subject
        mail["Message-ID"], mail["Date"] = message_id, email.utils.format_datetime(self._now())
        mail.set_content(body)
        await self._send(mail, address)

    async def _send(self, mail: EmailMessage, address: str) -> None:
        # Flattened here, not by aiosmtplib (which folds at 78): Python's folding of a long encoded subject
        # drops the space between two encoded words ("TỉnhLâm Đồng"); a line stays within e-mail's 998.
        data = mail.as_bytes(policy=email.policy.SMTP.clone(max_line_length=998))
        await aiosmtplib.send(data, sender=self._from, recipients=[address], hostname=self._host, port=self._port,
                              timeout=15)  # fmt: skip

    async def letters(
        self, conn: asyncpg.Connection, due: Sequence[Gathered], reached: set[tuple[int, str]]
    ) -> tuple[list[Letter], dict[int, Exception]]:
        """Each person's letter of the due notifications not yet sent to them; a notification nobody would
        receive fails (never counted as sent to nobody)."""
        directory = await self.directory(conn, [g.message for g in due])
        letters: dict[str, Letter] = {}
        nobody: dict[int, Exception] = {}
        for g in due:
            addresses = addresses_for(g.message, self._config, directory)
            if not addresses:
                nobody[g.position] = NoRecipient(_nobody(g.message))
            for address in addresses:
                if (g.position, address) in reached:
                    continue
                person = directory.people.get(address.lower(), Person(address))
                # the account's person, under the address as the rules file or the account spells it
                letter = letters.setdefault(address, Letter(replace(person, address=address)))
                letter.items.append((g.position, dict(g.message), self.links(g.message, person)))
        return list(letters.values()), nobody

    async def send_gathered(
        self, conn: asyncpg.Connection, due: Sequence[Gathered], reached: set[tuple[int, str]]
    ) -> tuple[list[tuple[int, str]], dict[int, Exception]]:
        """Send each person their letter; return who was reached with what, and what failed."""
        letters, failed = await self.letters(conn, due, reached)
        now_reached: list[tuple[int, str]] = []
        for letter in letters:
            try:
                await self._send(self.compose(letter), letter.person.address)
            except Exception as error:  # this person's letter is sent again; the others' are not
                failed.update({position: error for position, _, _ in letter.items})
                continue
            now_reached += [(position, letter.person.address) for position, _, _ in letter.items]
        return now_reached, failed
