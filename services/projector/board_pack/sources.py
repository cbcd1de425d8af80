"""The pack's footnotes: for each plan and year to date, the decisions and reports behind it, in the
words a board reads (Vietnamese first, English beside it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import asyncpg

from services.projector.provenance import Recorded, plan_sources, year_to_date_sources
from services.projector.touched import ProgressKey
from shared.categories import DEFAULT_CATEGORIES
from shared.clock import VIETNAM
from shared.display import vnd
from shared.events import Indicator


@dataclass
class Note:
    number: int
    title: str
    lines: list[str]


@dataclass
class Notes:
    """Numbered in the order first cited; the same source cited twice keeps its number."""

    entries: list[Note] = field(default_factory=list)
    _by_key: dict[object, int] = field(default_factory=dict)

    def cite(self, key: object, title: str, lines: list[str]) -> int:
        if key not in self._by_key:
            self._by_key[key] = len(self.entries) + 1
            self.entries.append(Note(len(self.entries) + 1, title, lines))
        return self._by_key[key]


def _when(moment: dt.datetime) -> str:
    return f"{moment.astimezone(VIETNAM):%d/%m/%Y %H:%M} (giờ Việt Nam / Vietnam time)"


def _arrival(recorded: Recorded) -> str:
    submission = f"báo cáo / report «{recorded.submission}», " if recorded.submission else ""
    return (
        f"{submission}gửi bởi / sent by {recorded.submitted_by} qua / via {recorded.channel},"
        f" ghi nhận / recorded {_when(recorded.recorded_at)}, sự kiện / event #{recorded.position}"
    )


async def plan_note(
    conn: asyncpg.Connection,
    notes: Notes,
    key: ProgressKey,
    as_of: dt.date,
    known_on: dt.date | None,
    assigned_by: str | None = None,
) -> int:
    """The decisions behind the plan in force on `as_of` (a later revision is not in a pack of an earlier date),
    of the plan the unit is ranked on (the other assigner's plan is not its adjustment)."""
    sources = await plan_sources(conn, key, known_on, in_force_on=as_of, assigned_by=assigned_by)
    lines = []
    for number, source in enumerate(sources):
        verb = "Giao / Set" if number == 0 else "Điều chỉnh / Adjusted"
        decided = f" ngày / of {source.decision_date:%d/%m/%Y}" if source.decision_date else ""
        late = f", bổ sung sau 30/9 / supplemented after 30 September {vnd(source.late_supplement)}" if (
            source.late_supplement) else ""  # fmt: skip
        reason = f" — {source.reason}" if source.reason else ""
        lines.append(
            f"{verb}: {vnd(source.amount)}{late} — Quyết định / Decision {source.decision_number or '(không số / none)'}"  # noqa: E501
            f"{decided}, {source.decision_authority or '(không rõ / not given)'}{reason}; {_arrival(source.recorded)}"
        )
    if not sources:
        lines.append("Chưa giao kế hoạch / no plan recorded")
    title = f"Kế hoạch {key.plan_year} của / {key.plan_year} plan of {key.unit_code}"
    return notes.cite(("plan", key, as_of, known_on, assigned_by), title, lines)


async def year_to_date_note(
    conn: asyncpg.Connection, notes: Notes, key: ProgressKey, day: dt.date, total: Decimal, known_on: dt.date | None
) -> int:
    sources = await year_to_date_sources(conn, key, day, known_on)
    lines = []
    for source in sources:
        line = DEFAULT_CATEGORIES[Indicator(key.indicator)].get(source.category, source.category)
        if source.project_code:
            line += f", dự án / project {source.project_code}"
        if source.unit_code != key.unit_code:
            line += f", của đơn vị sáp nhập hoặc giải thể / of a unit merged or dissolved into it: {source.unit_code}"
        kind = "lũy kế / year to date" if source.cumulative else "trong kỳ / for the period"
        text = f"{line}: {vnd(source.amount)} ({kind}) đến ngày / as of {source.as_of:%d/%m/%Y}"
        text += f"; văn bản ngày / document of {source.known_on:%d/%m/%Y}; {_arrival(source.recorded)}"
        if source.correction_reason:
            text += f"; đính chính / correction: {source.correction_reason}"
        for earlier in source.superseded:
            text += f"; thay cho / supersedes event #{earlier.position} ({_arrival(earlier)})"
        lines.append(text)
    if not sources:
        lines.append("Chưa báo cáo, tính bằng 0 / no report yet, counted as 0")
    title = f"Lũy kế {vnd(total)} đến ngày {day:%d/%m/%Y} của / year to date of {key.unit_code}"
    return notes.cite(("actual", key, day, known_on), title, lines)
