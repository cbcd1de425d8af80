"""The year to date against the pace, drawn as SVG on the server: no script, no chart library to serve,
and the page's CSP holds (presentation attributes, no inline style). It draws the projector's own rates and
expected pace as they are (`GET /v1/units/{code}/progress`); the numbers sit in a table beside it, which is
also what a screen reader reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP, RIGHT = 640, 260, 44, 28, 12, 12


def progress_chart(months: list[dict[str, Any]], plan_year: int, label: str) -> Markup:
    """Two lines over the plan year: the rate reached (solid) and the pace expected by then (dashed), with
    the y axis to 100 % (or the highest rate, when a unit passed its plan)."""
    if not months:
        return Markup("")
    start = dt.date(plan_year, 1, 1)
    days = max((dt.date.fromisoformat(m["as_of"]) - start).days for m in months)
    span = max(days, (dt.date(plan_year, 12, 31) - start).days)
    rates = [Decimal(m["rate"]) for m in months if m["rate"] is not None]
    paces = [Decimal(m["expected_pace"]) for m in months]
    top = max([Decimal(1), *rates, *paces])

    def x(day: str) -> str:
        return f"{LEFT + (dt.date.fromisoformat(day) - start).days * (WIDTH - LEFT - RIGHT) / span:.1f}"

    def y(share: Decimal) -> str:
        return f"{HEIGHT - BOTTOM - float(share / top) * (HEIGHT - BOTTOM - TOP):.1f}"

    rate_points = " ".join(f"{x(m['as_of'])},{y(Decimal(m['rate']))}" for m in months if m["rate"] is not None)
    pace_points = " ".join(f"{x(m['as_of'])},{y(Decimal(m['expected_pace']))}" for m in months)
    grid = "".join(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(Decimal(p) / 100)}" y2="{y(Decimal(p) / 100)}"'
        f' stroke="#c8c8c8"/><text x="{LEFT - 4}" y="{y(Decimal(p) / 100)}" text-anchor="end"'
        f' dominant-baseline="middle" font-size="11" fill="#555">{p} %</text>'
        for p in (0, 25, 50, 75, 100)
    )
    ticks = "".join(
        f'<text x="{x(dt.date(plan_year, month, 1).isoformat())}" y="{HEIGHT - 8}" font-size="11"'
        f' fill="#555">{month}</text>'
        for month in range(1, 13, 2)
    )
    dots = "".join(
        f'<circle cx="{x(m["as_of"])}" cy="{y(Decimal(m["rate"]))}" r="3" fill="#0b5394"><title>'
        f"{dt.date.fromisoformat(m['as_of']):%d/%m/%Y}</title></circle>"
        for m in months
        if m["rate"] is not None
    )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">'
        f"{grid}{ticks}"
        f'<polyline points="{pace_points}" fill="none" stroke="#8a4b00" stroke-width="2" stroke-dasharray="6 4"/>'
        f'<polyline points="{rate_points}" fill="none" stroke="#0b5394" stroke-width="2.5"/>{dots}</svg>'
    )
