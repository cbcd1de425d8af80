"""`pim tokens …` (the operator's, on the database) and `pim import FILE` (the clerk's: over the ingest API,
with a token): the command-line side of ingest."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import IO, Annotated, Any, TypeVar

import asyncpg
import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from services.ingest.errors import RowError, spreadsheet_safe
from services.ingest.rebuild import IngestRebuilt, rebuild_ingest_state
from shared.auth import TokenRole, create_token, list_tokens, revoke_token
from shared.db import connect, migrate
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
    role: Annotated[str, typer.Option(help="admin | department | committee | board")] = "department",
    unit: Annotated[list[str] | None, typer.Option(help="a unit in scope (repeat); subordinates included")] = None,
) -> None:
    """Create a token. It is printed once and cannot be shown again."""
    if role not in ("admin", "department", "committee", "board"):
        raise typer.BadParameter("role is admin, department, committee or board")
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
    api_url: Annotated[str, typer.Option(envvar="PIM_API_URL", help="the ingest API (or set PIM_API_URL)")] = (
        "http://127.0.0.1:8000"
    ),
    store_valid: Annotated[bool, typer.Option(help="store the valid rows even if some fail")] = False,
    key: Annotated[str | None, typer.Option(help="idempotency key (default: the file's hash)")] = None,
    report: Annotated[
        Path | None, typer.Option(help="where to write rejected rows (default FILE.rejected.csv)")
    ] = None,
) -> None:
    """Import a figure file into PIM through the ingest API with your token: all rows or none (unless
    --store-valid), with a rejected-rows report. Needs no database access."""
    report_path = report or file.with_name(file.name + ".rejected.csv")
    answer = asyncio.run(_upload(file, api_url.rstrip("/"), token, store_valid, key))
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    errors = [RowError(e.get("row"), e["field"], e.get("value"), e["reason"]) for e in body.get("errors", [])]
    if errors:
        rejected = RejectedRowsReport(report_path)
        for error in errors:
            rejected(error)
        rejected.close()
    if answer.status_code >= 400:
        console.print(f"[red]Nothing stored[/] ({answer.status_code}): {body.get('detail', answer.text[:500])}")
        if errors:
            console.print(f"Every problem listed is in {report_path}.")
            _show_errors(errors)
        raise typer.Exit(1)
    if body["duplicate"]:
        console.print(f"Already imported: {body['stored']:,} events (positions {body['first_position']}–"
                      f"{body['last_position']}); nothing new stored.")  # fmt: skip
        return
    console.print(f"Stored {body['stored']:,} of {body['rows']:,} rows.")
    if errors:
        console.print(f"[yellow]{body['rejected']:,} row(s) rejected[/]; every one listed is in {report_path}.")
        _show_errors(errors)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _upload(file: Path, api_url: str, token: str, store_valid: bool, key: str | None) -> httpx.Response:
    """Send the file as the upload's body, with a progress bar of what has gone."""
    size = file.stat().st_size  # noqa: ASYNC240 - one stat, before the work starts
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": XLSX if file.suffix.lower() == ".xlsx" else "text/csv",
    }
    if key:
        headers["Idempotency-Key"] = key
    columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*Progress.get_default_columns()[:1], *columns, console=console, transient=True) as progress:
        task = progress.add_task(f"Sending {file.name}", total=size)

        async def body() -> AsyncIterator[bytes]:
            with file.open("rb") as source:
                while block := source.read(1 << 20):
                    progress.advance(task, len(block))
                    yield block

        async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None)) as client:
            try:
                return await client.post(
                    f"{api_url}/v1/imports/figures", content=body(), headers=headers,
                    params={"store_valid": "true" if store_valid else "false"},
                )  # fmt: skip
            except httpx.HTTPError as error:
                raise typer.BadParameter(f"the ingest API at {api_url} cannot be reached: {error}") from None


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
