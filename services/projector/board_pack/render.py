"""The board pack as HTML (a Jinja2 template) and as PDF (WeasyPrint, from the same HTML, with an installed
font that has the Vietnamese diacritics). Nothing is fetched while rendering: charts are inline SVG, the
style is in the page, and any other URL is refused."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import jinja2
import weasyprint

from services.projector.board_pack.changes import UnitChange
from services.projector.board_pack.chart import progress_svg
from services.projector.board_pack.contents import Pack
from shared.clock import vietnam_now
from shared.display import (
    BAND_LABELS,
    CAUSE_LABELS,
    COLOURS,
    CONCLUSION_LABELS,
    INDICATOR_LABELS,
    NOT_ASSESSED_REASONS,
    PLAN_ASSIGNED_BY_LABELS,
    ROLE_LABELS,
    RULE_LABELS,
    SEVERITY_LABELS,
    STANDING_LABELS,
    STATUS_LABELS,
    VOTE_BAND_LABELS,
    billions,
    percent,
    points,
    score,
    vnd,
)
from shared.pace import Milestone

# WeasyPrint reads an inline SVG's presentation attributes through its CSS parser and logs a warning for
# each one it does not know as CSS (`fill`, `stroke`, …: thousands per pack), though it draws them: only
# its errors are worth a reader's terminal.
logging.getLogger("weasyprint").setLevel(logging.ERROR)

SHORT_STANDING_LABELS = {"at_or_above": "≥ bình quân / ≥ average", "below": "< bình quân / < average",
                         "not_assessed": "không đánh giá / not assessed"}  # fmt: skip

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("services.projector.board_pack", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(
    vnd=vnd, billions=billions, percent=percent, points=points, score=score,
    day=lambda d: "—" if d is None else f"{dt.date.fromisoformat(d) if isinstance(d, str) else d:%d/%m/%Y}",
    number=lambda v: None if v is None else Decimal(v),  # an exact decimal written as text (in JSON)
)  # fmt: skip


def _label(labels: dict[str, str], code: str | None) -> str:
    return "—" if code is None else labels.get(code, code)


def render_html(
    pack: Pack, milestones: Sequence[Milestone], changes: list[UnitChange] | None, report_due_days: int
) -> str:
    charts = {
        page.unit.unit_code: progress_svg(
            page.unit.unit_code, page.history, milestones, pack.plan_year, page.group.average
        )
        for page in pack.units
    }
    context: dict[str, Any] = {
        "pack": pack, "charts": charts, "changes": changes, "generated": vietnam_now(),
        "report_due_days": report_due_days,
        "indicator": INDICATOR_LABELS.get(pack.indicator, pack.indicator),
        "status": lambda c: _label(STATUS_LABELS, c), "standing": lambda c: _label(STANDING_LABELS, c),
        "short_standing": lambda c: _label(SHORT_STANDING_LABELS, c),
        "severity": lambda c: _label(SEVERITY_LABELS, c), "rule": lambda c: _label(RULE_LABELS, c),
        "role": lambda c: _label(ROLE_LABELS, c), "band": lambda c: _label(VOTE_BAND_LABELS, c),
        "reason": lambda c: _label(NOT_ASSESSED_REASONS, c),
        "assigned_by": lambda c: _label(PLAN_ASSIGNED_BY_LABELS, c), "colour": lambda c: COLOURS.get(c or "", "black"),
        "indicator_of": lambda c: INDICATOR_LABELS.get(c or "", c or "—"),
        "cause": lambda c: _label(CAUSE_LABELS, c), "conclusion": lambda c: _label(CONCLUSION_LABELS, c),
        "score_band": lambda c: _label(BAND_LABELS, c),
    }  # fmt: skip
    return _environment.get_template("board_pack.html.j2").render(context)


def _refuse(url: str, *args: object, **kwargs: object) -> dict[str, Any]:
    raise ValueError(f"the board pack fetches nothing while rendering: {url}")


def render_pdf(html: str) -> bytes:
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=_refuse).write_pdf()
    return pdf
