"""A unit's year to date against its pace, as an SVG (vector, drawn with no network): the projector's rate
and expected pace on each report date, the pace curve's milestones and the group's average."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from decimal import Decimal

import matplotlib

matplotlib.use("svg")  # no display, no GUI toolkit: only SVG is drawn
from matplotlib import pyplot
from matplotlib.dates import DateFormatter, date2num

from services.projector.board_pack.contents import ChartPoint
from shared.pace import Milestone

# Text stays text (searchable, drawn with the pack's font).
matplotlib.rcParams.update({"font.family": "DejaVu Sans", "font.size": 8, "svg.fonttype": "none"})


def _pct(value: Decimal) -> float:
    return float(value * 100)  # a position on the drawing only: every number printed is the exact one


def _day(day: dt.date) -> float:
    return float(date2num(day))  # type: ignore[no-untyped-call]


def progress_svg(
    name: str, points: Sequence[ChartPoint], milestones: Sequence[Milestone], plan_year: int, average: Decimal | None
) -> str:
    """`name` seeds the drawing's element ids: the same input draws the same file, and the charts of one
    page never share an id (a clip path would cut another chart)."""
    with matplotlib.rc_context({"svg.hashsalt": name}):
        return _draw(points, milestones, plan_year, average)


def _draw(
    points: Sequence[ChartPoint], milestones: Sequence[Milestone], plan_year: int, average: Decimal | None
) -> str:
    figure, axes = pyplot.subplots(figsize=(6.4, 2.6))
    try:
        axes.plot([_day(p.as_of) for p in points], [_pct(p.expected_pace) for p in points], color="#7f7f7f",
                  linestyle="--", label="Tiến độ yêu cầu / expected pace")  # fmt: skip
        rated = [(p.as_of, _pct(p.rate)) for p in points if p.rate is not None]
        axes.plot([_day(d) for d, _ in rated], [r for _, r in rated], color="#c0392b", marker="o", markersize=3,
                  label="Lũy kế / year to date")  # fmt: skip
        for milestone in milestones:
            day, share = milestone.on(plan_year), _pct(milestone.share)
            axes.plot([_day(day)], [share], marker="D", color="#2c3e50", markersize=4)
            axes.annotate(f"{share:.0f} % {day:%d/%m}", (_day(day), share), textcoords="offset points",
                          xytext=(4, -10), fontsize=7)  # fmt: skip
        if average is not None:
            axes.axhline(_pct(average), color="#2980b9", linewidth=0.8,
                         label="Bình quân nhóm / group average")  # fmt: skip
        axes.set_ylabel("% kế hoạch / % of plan")
        axes.set_ylim(0, max([100.0, *(r for _, r in rated)]) + 5)
        if points:
            end = max([*(p.as_of for p in points), *(m.on(plan_year) for m in milestones)]) + dt.timedelta(days=20)
            axes.set_xlim(_day(dt.date(plan_year, 1, 1)), _day(end))
        axes.xaxis.set_major_formatter(DateFormatter("%m/%Y"))  # type: ignore[no-untyped-call]
        axes.grid(True, linewidth=0.3)
        axes.legend(loc="upper left", fontsize=7, frameon=False)
        figure.autofmt_xdate()
        figure.tight_layout()
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata=dict.fromkeys(("Creator", "Date", "Format", "Type")))
        return _unreferenced_ids_dropped(out.getvalue())
    finally:
        pyplot.close(figure)


def _unreferenced_ids_dropped(svg: str) -> str:
    """Matplotlib numbers its elements' ids per figure (`text_21`, `line2d_39`), so two charts on one page
    repeat them; only the ids something points at (clip paths, seeded per unit) are kept."""
    referenced = set(re.findall(r"(?:url\(#|href=\"#)([^)\"]+)", svg))
    return re.sub(r' id="([^"]+)"', lambda m: m[0] if m[1] in referenced else "", svg)
