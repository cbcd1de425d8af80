"""`pim tokens …` and `pim import FILE`: the operator's and the clerk's command-line side of ingest."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Annotated, Any, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from services.ingest.errors import ErrorLog, RowError, SubmissionRejected, spreadsheet_safe
from services.ingest.figure_intake import FigureIntake, IntakeResult
from services.ingest.file_import import import_figure_file
from services.ingest.rebuild import IngestRebuilt, rebuild_ingest_state
from shared.auth import TokenRole, Unauthenticated, authenticate, create_token, list_tokens, revoke_token
from shared.db import connect, migrate
from shared.event_store import IdempotencyConflict
from shared.operator_db import database_url, migrated_pool

tokens = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
ingest = typer.Typer(help="The ingest service: HTTP API, files, the raw topic.")
console = Console(width=None if Console().is_terminal else 150)
SHOWN_ERRORS = 20
T = TypeVar("T")


class RejectedRowsReport:
    """Writes every rejected row to a CSV file as it is found; the file appears only if one is."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None
        self._writer: Any = None  # csv.writer; its type is private in typeshed

    def __call__(self, error: RowError) -> None:
        if self._writer is None:
            self._file = self.path.open("w", newline="", encoding="utf-8-sig")
            self._writer = csv.writer(self._file)
            self._writer.writerow(["row", "field", "value", "reason"])
        cells = [error.row or "", error.field, error.value or "", error.reason]
        self._writer.writerow([spreadsheet_safe(c) if isinstance(c, str) else c for c in cells])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


async def _with_connection(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    url = database_url()
    await migrate(url)
    conn = await connect(url)
    try:
        return await work(conn)
    finally:
        await conn.close()


@tokens.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="who the token is for, e.g. so-tai-chinh-lam-dong")],
    role: Annotated[str, typer.Option(help="admin | department | committee")] = "department",
    unit: Annotated[list[str] | None, typer.Option(help="a unit in scope (repeat); subordinates included")] = None,
) -> None:
    """Create a token. It is printed once and cannot be shown again."""
    if role not in ("admin", "department", "committee"):
        raise typer.BadParameter("role is admin, department or committee")
    role_value: TokenRole = role  # type: ignore[assignment]
    token = asyncio.run(_with_connection(lambda conn: create_token(conn, name, role_value, unit or [])))
    console.print(f"Token for {name} ({role}) — store it now, it will not be shown again:")
    print(token)


@tokens.command("list")
def tokens_list() -> None:
    """List tokens (never their secrets)."""
    table = Table("id", "name", "role", "units", "created", "revoked")
    for info in asyncio.run(_with_connection(list_tokens)):
        table.add_row(
            info.token_id, info.name, info.role, ", ".join(info.units) or "all", f"{info.created_at:%Y-%m-%d %H:%M}",
            f"{info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "",
        )  # fmt: skip
    console.print(table)


@tokens.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(help="the id shown by `pim tokens list`")]) -> None:
    """Revoke a token: it stops working at once."""
    if not asyncio.run(_with_connection(lambda conn: revoke_token(conn, token_id))):
        console.print(f"No active token {token_id}.")
        raise typer.Exit(1)
    console.print(f"Revoked {token_id}.")


def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a CSV (UTF-8) or XLSX figure file")],
    token: Annotated[str, typer.Option(envvar="PIM_TOKEN", help="your API token (or set PIM_TOKEN)")],
    store_valid: Annotated[bool, typer.Option(help="store the valid rows even if some fail")] = False,
    key: Annotated[str | None, typer.Option(help="idempotency key (default: the file's hash)")] = None,
    report: Annotated[
        Path | None, typer.Option(help="where to write rejected rows (default FILE.rejected.csv)")
    ] = None,
) -> None:
    """Import a figure file into PIM: all rows or none (unless --store-valid), with a rejected-rows report."""
    report_path = report or file.with_name(file.name + ".rejected.csv")
    result, errors = asyncio.run(_import(file, token, store_valid, key, report_path))
    if result is None:
        console.print(f"[red]Nothing stored[/]: {errors.count} problem(s). Every one is in {report_path}.")
        _show_errors(errors.kept)
        raise typer.Exit(1)
    if result.duplicate:
        console.print(f"Already imported: {result.stored} events (positions {result.append.first_position}–"  # type: ignore[union-attr]
                      f"{result.append.last_position}); nothing new stored.")  # type: ignore[union-attr]  # fmt: skip
        return
    console.print(f"Stored {result.stored:,} of {result.rows:,} rows.")
    if errors:
        console.print(f"[yellow]{result.rejected:,} row(s) rejected[/]; every one is in {report_path}.")
        _show_errors(errors.kept)


async def _import(
    file: Path, token: str, store_valid: bool, key: str | None, report_path: Path
) -> tuple[IntakeResult | None, ErrorLog]:
    async with migrated_pool(max_size=2) as pool:
        report = RejectedRowsReport(report_path)
        try:
            return await _import_into(pool, file, token, store_valid, key, report)
        finally:
            report.close()


async def _import_into(
    pool: asyncpg.Pool, file: Path, token: str, store_valid: bool, key: str | None, report: RejectedRowsReport
) -> tuple[IntakeResult | None, ErrorLog]:
    errors = ErrorLog(on_error=[report])
    size = file.stat().st_size  # noqa: ASYNC240 - one stat, before the work starts
    async with pool.acquire() as conn:
        try:
            principal = await authenticate(conn, token)
        except Unauthenticated as refused:
            raise typer.BadParameter(f"token refused: {refused}") from None
    columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*Progress.get_default_columns()[:1], *columns, console=console, transient=True) as progress:
        task = progress.add_task(f"Importing {file.name}", total=size)
        try:
            result = await import_figure_file(
                FigureIntake(pool), file, principal, channel="file", idempotency_key=key,
                store_valid=store_valid, errors=errors, on_bytes=lambda done: progress.update(task, completed=done),
            )  # fmt: skip
        except SubmissionRejected as rejected:
            if not errors:  # a file-level refusal (size, encoding, header): not yet in the log
                for problem in rejected.errors:
                    errors.add(problem)
            return None, errors
        except IdempotencyConflict as conflict:
            raise typer.BadParameter(str(conflict)) from None
    return result, errors


def _show_errors(errors: list[RowError]) -> None:
    table = Table("row", "field", "value", "reason", title=f"First {min(len(errors), SHOWN_ERRORS)} problem(s)")
    for error in errors[:SHOWN_ERRORS]:
        table.add_row(str(error.row or ""), error.field, error.value or "", error.reason)
    console.print(table)


@ingest.command("rebuild")
def ingest_rebuild() -> None:
    """Rebuild ingest's own state (units, tenures, last figures) from the event store (operator)."""

    async def run() -> IngestRebuilt:
        async with migrated_pool(max_size=1) as pool:
            return await rebuild_ingest_state(pool)

    rebuilt = asyncio.run(run())
    console.print(
        f"Rebuilt ingest's state from the event store: {rebuilt.units:,} units, {rebuilt.tenures:,} tenures,"
        f" {rebuilt.figures:,} figure keys."
    )
