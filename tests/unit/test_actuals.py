"""Actual year-to-date per date and category, from the figures of one unit (and the units merged into it)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.projector.actuals import TOTAL, Figure, actuals, counted_reports

D = Decimal
MAY, JUNE, JULY, AUGUST = (dt.date(2025, m, 28) for m in (5, 6, 7, 8))
position = iter(range(1, 1000))


def fig(day: dt.date, amount: int, category: str = "oda", *, period: bool = False, source: str = "hue",
        project: str = "") -> Figure:  # fmt: skip
    return Figure(source, category, project, day, next(position), not period, D(amount))


def test_a_later_report_for_the_same_date_supersedes_an_earlier_one() -> None:
    assert actuals("hue", [fig(MAY, 100), fig(MAY, 120)], {}) == {(MAY, "oda"): 120, (MAY, TOTAL): 120}


def test_supersession_goes_by_position_not_by_arrival() -> None:
    early, late = fig(MAY, 100), fig(MAY, 120)
    assert actuals("hue", [late, early], {})[(MAY, TOTAL)] == 120


def test_period_amounts_add_to_the_last_cumulative_figure() -> None:
    result = actuals("hue", [fig(MAY, 100), fig(JUNE, 30, period=True), fig(JULY, 20, period=True)], {})
    assert [result[(day, TOTAL)] for day in (MAY, JUNE, JULY)] == [100, 130, 150]


def test_a_cumulative_figure_starts_a_new_running_total() -> None:
    result = actuals("hue", [fig(MAY, 30, period=True), fig(JUNE, 200), fig(JULY, 10, period=True)], {})
    assert [result[(day, TOTAL)] for day in (MAY, JUNE, JULY)] == [30, 200, 210]


def test_a_line_that_did_not_report_carries_its_latest_value_forward() -> None:
    figures = [fig(MAY, 100, "oda"), fig(MAY, 50, "central_budget"), fig(JUNE, 70, "central_budget")]
    result = actuals("hue", figures, {})
    assert result[(JUNE, "oda")] == 100 and result[(JUNE, TOTAL)] == 170
    assert (MAY, "central_budget") in result and (JULY, TOTAL) not in result  # only dates it reported


def test_projects_of_a_category_add_up() -> None:
    figures = [fig(MAY, 10, project="DA-1"), fig(MAY, 15, project="DA-2"), fig(JUNE, 20, project="DA-1")]
    result = actuals("hue", figures, {})
    assert (result[(MAY, "oda")], result[(JUNE, "oda")]) == (25, 35)


def test_a_merged_unit_counts_from_the_merger_date_and_only_on_the_successors_dates() -> None:
    figures = [fig(MAY, 100), fig(MAY, 40, source="quang-tri"), fig(JULY, 60, source="quang-tri"), fig(AUGUST, 150)]
    result = actuals("hue", figures, {"quang-tri": dt.date(2025, 7, 1)})
    assert result == {(MAY, "oda"): 100, (MAY, TOTAL): 100, (AUGUST, "oda"): 210, (AUGUST, TOTAL): 210}


def test_no_figure_of_its_own_no_rows() -> None:
    assert actuals("hue", [fig(MAY, 40, source="quang-tri")], {"quang-tri": MAY}) == {}


def _added(reports: list[Figure]) -> Decimal:
    """Amounts added as a reader would: per line in date order, a cumulative replaces, a period adds."""
    lines: dict[tuple[str, str, str], Decimal] = {}
    for report in sorted(reports, key=lambda r: r.as_of):
        key = (report.source, report.category, report.project_code)
        lines[key] = report.amount if report.cumulative else lines.get(key, D(0)) + report.amount
    return sum(lines.values(), D(0))


def test_the_reports_counted_for_a_date_add_up_to_its_year_to_date_and_name_what_they_superseded() -> None:
    first_may = fig(MAY, 100)
    resent_may = fig(MAY, 120)
    figures = [
        first_may, resent_may, fig(JUNE, 30, period=True), fig(MAY, 50, "central_budget"),
        fig(JULY, 200, "central_budget"), fig(AUGUST, 10, "central_budget", period=True),
        fig(JUNE, 999, source="gia-lai"),  # merged in from August: not counted before
    ]  # fmt: skip
    merged = {"gia-lai": AUGUST}
    totals = actuals("hue", figures, merged)
    for day in (MAY, JUNE, JULY, AUGUST):
        counted = counted_reports("hue", figures, merged, day)
        assert _added([c.figure for c in counted]) == totals[(day, TOTAL)], day
    july = counted_reports("hue", figures, merged, JULY)
    assert [c.figure.amount for c in july if c.figure.category == "central_budget"] == [200]  # from its cumulative on
    assert {c.figure.position: c.superseded for c in july}[resent_may.position] == (first_may,)
    assert not any(c.figure.source == "gia-lai" for c in july)
    assert [
        c.figure.amount for c in counted_reports("hue", figures, merged, AUGUST) if c.figure.source == "gia-lai"
    ] == [999]


def test_a_consolidating_successor_carries_its_predecessors_last_figures_until_its_first_report() -> None:
    """Consolidated: from the merger the successor's reports include its predecessors'. Until its first such
    report it carries their last figures with its own, so its year to date does not fall on the merger date."""
    merger = dt.date(2025, 7, 1)
    figures = [fig(MAY, 300, source="lam-dong"), fig(MAY, 100, source="dak-nong"), fig(JUNE, 250, source="binh-thuan"),
               fig(JULY, 900, source="lam-dong"), fig(AUGUST, 1000, source="lam-dong")]  # fmt: skip
    merged = {"dak-nong": merger, "binh-thuan": merger}
    consolidated = set(merged)
    totals = actuals("lam-dong", figures, merged, consolidated, carried_on={merger})
    assert {day: totals[(day, TOTAL)] for day in (MAY, merger, JULY, AUGUST)} == {
        MAY: 300, merger: 300 + 100 + 250, JULY: 900, AUGUST: 1000,
    }  # fmt: skip
    for day in (MAY, merger, JULY, AUGUST):
        counted = counted_reports("lam-dong", figures, merged, day, consolidated)
        assert _added([c.figure for c in counted]) == totals[(day, TOTAL)], day
    # Reporting its own figures only, it keeps adding theirs after its first report too.
    assert actuals("lam-dong", figures, merged, carried_on={merger})[(JULY, TOTAL)] == 900 + 100 + 250


def test_a_new_successor_with_no_report_yet_carries_what_its_predecessors_reported() -> None:
    merger = dt.date(2025, 7, 1)
    figures = [fig(MAY, 100, source="dak-nong"), fig(JUNE, 250, source="binh-thuan")]
    merged = {"dak-nong": merger, "binh-thuan": merger}
    assert actuals("lam-dong", figures, merged, set(merged), carried_on={merger}) == {
        (merger, "oda"): 350, (merger, TOTAL): 350,
    }  # fmt: skip
