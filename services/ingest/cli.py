"""`pim tokens …` (the operator's, on the database) and `pim import FILE` (the clerk's: over the ingest API,
with a token): the command-line side of ingest."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, TypeVar

import asyncpg
import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from services.ingest.errors import RowError, spreadsheet_safe
from services.ingest.import_progress import NDJSON
from services.ingest.rebuild import IngestRebuilt, rebuild_ingest_state
from shared.auth import TokenRole, create_token, list_tokens, operator_name, record_access_change, revoke_token
from shared.db import connect, migrate
from shared.display import count
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
    role: Annotated[str, typer.Option(help="admin | department | committee | board | portal")] = "department",
    unit: Annotated[list[str] | None, typer.Option(help="a unit in scope (repeat); subordinates included")] = None,
) -> None:
    """Create a token. It is printed once and cannot be shown again."""
    if role not in ("admin", "department", "committee", "board", "portal"):
        raise typer.BadParameter("role is admin, department, committee, board or portal (the web pages' own)")
    role_value: TokenRole = role  # type: ignore[assignment]

    async def made(conn: asyncpg.Connection) -> str:
        async with conn.transaction():
            secret = await create_token(conn, name, role_value, unit or [])
            await record_access_change(conn, await operator_name(conn, "pim tokens create"), "token_made",
                                       secret.split("_")[1], name=name, role=role, units=unit or [])  # fmt: skip
        return secret

    token = asyncio.run(_with_connection(made))
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

    async def revoked(conn: asyncpg.Connection) -> bool:
        async with conn.transaction():
            done = await revoke_token(conn, token_id)
            if done:
                await record_access_change(conn, await operator_name(conn, "pim tokens revoke"), "token_revoked",
                                           token_id)  # fmt: skip
        return done

    if not asyncio.run(_with_connection(revoked)):
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
    body = answer.body
    errors = [RowError(e.get("row"), e["field"], e.get("value"), e["reason"]) for e in body.get("errors", [])]
    if errors:
        rejected = RejectedRowsReport(report_path)
        for error in errors:
            rejected(error)
        rejected.close()
    if answer.status >= 400:
        console.print(
            f"[red]Không lưu gì / nothing stored[/] ({answer.status}): {body.get('detail', answer.text[:500])}"
        )
        if errors:
            console.print(f"Mọi lỗi có trong / every problem listed is in {report_path}.")
            _show_errors(errors)
        raise typer.Exit(1)
    if body["duplicate"]:
        where = f"positions {body['first_position']}–{body['last_position']}"
        console.print(f"Tệp đã được nhập trước đây, không lưu thêm / already imported: {body['stored']:,} events"
                      f" ({where}); nothing new stored.")  # fmt: skip
        return
    stored, rows = count(body["stored"]), count(body["rows"])
    console.print(f"Đã lưu {stored} trên {rows} dòng / Stored {body['stored']:,} of {body['rows']:,} rows.")
    if errors:
        console.print(f"[yellow]{count(body['rejected'])} dòng bị từ chối / row(s) rejected[/];"
                      f" mọi dòng có trong / every one listed is in {report_path}.")  # fmt: skip
        _show_errors(errors)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READING = "Máy chủ đọc / server reading"
STORING = "Kiểm tra, lưu / checking, storing"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]  # the API's JSON answer ({} if it sent none)
    text: str


async def _upload(file: Path, api_url: str, token: str, store_valid: bool, key: str | None) -> Answer:
    """Send the file as the upload's body, with a bar of what has gone, then one of the rows the server
    has read (it streams its progress, then its answer)."""
    size = file.stat().st_size  # noqa: ASYNC240 - one stat, before the work starts
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": XLSX if file.suffix.lower() == ".xlsx" else "text/csv",
        "Accept": f"{NDJSON}, application/json",
    }
    if key:
        headers["Idempotency-Key"] = key
    columns = (BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[rows]}"), TimeRemainingColumn())
    with Progress(TextColumn("{task.description}"), *columns, console=console, transient=True) as progress:
        sending = progress.add_task(f"Gửi / sending {file.name}", total=size, rows="")

        async def body() -> AsyncIterator[bytes]:
            with file.open("rb") as source:
                while block := source.read(1 << 20):
                    progress.advance(sending, len(block))
                    yield block

        async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None)) as client:
            try:
                async with client.stream(
                    "POST", f"{api_url}/v1/imports/figures", content=body(), headers=headers,
                    params={"store_valid": "true" if store_valid else "false"},
                ) as response:  # fmt: skip
                    if not response.headers.get("content-type", "").startswith(NDJSON):
                        text = (await response.aread()).decode(errors="replace")
                        return Answer(response.status_code, _json_or_empty(response, text), text)
                    reading = progress.add_task(READING, total=None, rows="")
                    async for line in response.aiter_lines():
                        message = json.loads(line)
                        if "progress" in message:
                            _show_rows(progress, reading, message["progress"])
                        else:
                            return Answer(message["status"], message["body"], line)
            except httpx.HTTPError as error:
                raise typer.BadParameter(f"the ingest API at {api_url} cannot be reached: {error}") from None
    raise typer.BadParameter(f"the ingest API at {api_url} ended its answer before the import's result")


def _show_rows(progress: Progress, task: TaskID, seen: dict[str, Any]) -> None:
    """`41.000 / 400.000 dòng (rows)` while the server reads (the count alone for a sheet that records no
    size), then that it checks and stores them."""
    read, total = seen["rows_read"], seen["rows_total"]
    if seen.get("phase") == "storing":
        progress.update(task, description=STORING, completed=read, total=read, rows=f"{count(read)} dòng (rows)")
        return
    of = f" / {count(total)}" if total is not None else ""
    progress.update(task, completed=read, total=None if total is None else max(total, read),
                    rows=f"{count(read)}{of} dòng (rows)")  # fmt: skip


def _json_or_empty(response: httpx.Response, text: str) -> dict[str, Any]:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


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
