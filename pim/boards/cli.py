"""`pim standings` (the Ministry-style monthly lists, as a table, CSV or XLSX) and `pim progress`, from
DATABASE_URL."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from pim.boards.progress_report import progress_table
from pim.boards.standings_report import csv_text, reporting_table, standings_tables, write_xlsx
from services.projector import (
    GroupReporting,
    GroupStandings,
    plan_years_on,
    progress_rules,
    reporting,
    standings,
    write_board_pack,
)
from shared.db import connect, connected
from shared.events import Indicator
from shared.settings import Settings

console = Console()


def standings_command(
    as_of: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="the lists as of this date (YYYY-MM-DD)")],
    group: Annotated[str | None, typer.Option(help="one assessment group, e.g. national or province/lam-dong")] = None,
    indicator: Annotated[Indicator, typer.Option(help="the indicator")] = Indicator.DISBURSEMENT,
    plan_year: Annotated[
        int | None, typer.Option(help="plan year; default: every plan year open on the date (two in January)")
    ] = None,
    output_format: Annotated[Literal["table", "csv", "xlsx"], typer.Option("--format")] = "table",
    out: Annotated[Path | None, typer.Option(help="write to this file (needed for xlsx)")] = None,
) -> None:
    """Print the Ministry-style lists from DATABASE_URL: per group the average, the counts, and the units at
    or above, below and not assessed, with rate and rank."""
    settings = Settings()
    if settings.database_url is None:
        raise typer.BadParameter("set DATABASE_URL to the PIM database")
    if output_format == "xlsx" and out is None:
        raise typer.BadParameter("--format xlsx needs --out FILE.xlsx")
    groups = asyncio.run(_read(settings.database_url, as_of.date(), indicator, plan_year, group))
    if not groups:
        console.print(f"No standings on or before {as_of:%d/%m/%Y} — chưa có số liệu xếp loại.")
        raise typer.Exit(1)
    if output_format == "xlsx" and out is not None:
        write_xlsx(groups, out)
        console.print(f"Written to {out}")
    elif output_format == "csv":
        if out is None:
            typer.echo(csv_text(groups), nl=False)
        else:
            out.write_text(csv_text(groups), encoding="utf-8-sig")  # with a BOM: Excel reads the diacritics
    else:
        for item in groups:
            for table in standings_tables(item):
                console.print(table)


async def _read(
    dsn: str, as_of: dt.date, indicator: Indicator, plan_year: int | None, group: str | None
) -> list[GroupStandings]:
    conn = await connect(dsn)
    try:
        years = [plan_year] if plan_year else await plan_years_on(conn, indicator.value, as_of)
        return [g for year in years for g in await standings(conn, as_of, indicator.value, year, group)]
    finally:
        await conn.close()


def reporting_command(
    as_of: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="the record as of this date (YYYY-MM-DD)")],
    group: Annotated[str | None, typer.Option(help="one assessment group, e.g. national or province/lam-dong")] = None,
    indicator: Annotated[Indicator, typer.Option(help="the indicator")] = Indicator.DISBURSEMENT,
    plan_year: Annotated[int | None, typer.Option(help="plan year; default: every plan year open on the date")] = None,
) -> None:
    """Print reporting on time from DATABASE_URL: per group, each member's monthly reports due, on time,
    late and missing, its rate and rank, and the group's rate."""
    settings = Settings()
    if settings.database_url is None:
        raise typer.BadParameter("set DATABASE_URL to the PIM database")

    async def read() -> list[GroupReporting]:
        async with connected(settings.database_url or "") as conn:
            years = [plan_year] if plan_year else await plan_years_on(conn, indicator.value, as_of.date())
            return [g for year in years for g in await reporting(conn, as_of.date(), indicator.value, year, group)]

    groups = asyncio.run(read())
    if not groups:
        console.print(f"No reports due by {as_of:%d/%m/%Y} — chưa có kỳ báo cáo đến hạn.")
        raise typer.Exit(1)
    for item in groups:
        console.print(reporting_table(item))


report = typer.Typer(help="Reports for organization boards.", no_args_is_help=True)


@report.command("board")
def board_command(
    as_of: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="the figures as of this date (YYYY-MM-DD)")],
    out: Annotated[Path, typer.Option(help="FILE.pdf or FILE.html")],
    known_on: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="as known on this past meeting date, with what changed since"),
    ] = None,
    group: Annotated[str | None, typer.Option(help="one assessment group, e.g. national; default: every group")] = None,
    indicator: Annotated[Indicator, typer.Option(help="the indicator")] = Indicator.DISBURSEMENT,
    plan_year: Annotated[int | None, typer.Option(help="plan year; default: the newest open on the date")] = None,
) -> None:
    """The monthly board pack from DATABASE_URL: the lists, a page per unit below the average (its year to
    date against the pace, who answered stint by stint, its open alerts), each answerable leader's
    scorecard, and where every figure came from."""
    settings = Settings()
    if settings.database_url is None:
        raise typer.BadParameter("set DATABASE_URL to the PIM database")
    if out.suffix.lower() not in (".pdf", ".html"):
        raise typer.BadParameter(f"--out {out.name}: give a .pdf or .html file")
    if known_on is not None and known_on > as_of:
        raise typer.BadParameter(f"--known-on {known_on:%Y-%m-%d} is after --as-of {as_of:%Y-%m-%d}")

    async def write() -> bool:
        async with connected(settings.database_url or "") as conn:
            return await write_board_pack(conn, [out], as_of.date(), indicator, group, known_on and known_on.date(),
                                          progress_rules(settings), plan_year)  # fmt: skip

    if not asyncio.run(write()):
        console.print(f"No standings on or before {as_of:%d/%m/%Y}{f' for group {group}' if group else ''}"
                      " — chưa có số liệu xếp loại.")  # fmt: skip
        raise typer.Exit(1)
    console.print(f"Board pack written to {out} — báo cáo đã ghi vào {out}")


def progress_command(
    as_known_on: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="show what was known on this date (YYYY-MM-DD)")
    ] = None,
) -> None:
    """Print each unit's progress from DATABASE_URL, as it stands or as it was known on a past date."""
    settings = Settings()
    if settings.database_url is None:
        raise typer.BadParameter("set DATABASE_URL to the PIM database")

    async def show() -> None:
        conn = await connect(settings.database_url or "")
        try:
            known_on = as_known_on.date() if as_known_on else None
            wide = Console(width=None if Console().is_terminal else 150)
            wide.print(await progress_table(conn, known_on, progress_rules(settings)))
        finally:
            await conn.close()

    asyncio.run(show())
