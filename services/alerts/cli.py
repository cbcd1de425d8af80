"""`pim alerts …`: a committee's command-line side of the alerts (list, ack, silence, resolve), the
backfill of evaluations, and Alertmanager's generated configuration.

With `--token` (or PIM_TOKEN) a committee token's jurisdiction applies, as over HTTP; without one the
command acts as the operator, with direct database access."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.table import Table

from services.alerts import outbox
from services.alerts.alertmanager_config import Timing, alertmanager_config, render
from services.alerts.config import load_alert_config
from services.alerts.queries import StatusFilter, in_jurisdiction, list_alerts
from services.alerts.rebuild import rebuild_alerts
from services.alerts.service import AlertClosed, AlertNotFound, AlertsService
from shared.auth import Principal, Unauthenticated, authenticate, units_in_scope
from shared.operator_db import migrated_pool
from shared.settings import Settings

alerts = typer.Typer(help="The alerts service, and committees' work on alerts.")
console = Console(width=None if Console().is_terminal else 150)
T = TypeVar("T")
Token = Annotated[str | None, typer.Option(envvar="PIM_TOKEN", help="a committee token: act within its jurisdiction")]


def _with_service(work: Callable[[AlertsService, asyncpg.Pool], Awaitable[T]]) -> T:
    async def run() -> T:
        async with migrated_pool() as pool:
            return await work(AlertsService.from_settings(Settings(), pool), pool)

    return asyncio.run(run())


async def _principal(pool: asyncpg.Pool, token: str | None) -> tuple[Principal | None, set[str] | None]:
    """The token's principal and units (None: every unit)."""
    if token is None:
        return None, None
    async with pool.acquire() as conn:
        try:
            who = await authenticate(conn, token)
        except Unauthenticated as error:
            raise typer.BadParameter(f"token refused: {error}") from None
        if who.role not in ("committee", "admin"):
            raise typer.BadParameter("alerts are for committee (or admin) tokens")
        return who, await units_in_scope(conn, who)


@alerts.command("evaluate")
def evaluate_command(
    as_of: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="evaluate as of this date")],
) -> None:
    """Evaluate every unit and plan year as of a date (a backfill); new alerts go to the outbox."""

    async def work(service: AlertsService, _: asyncpg.Pool) -> list[Any]:
        return await service.evaluate_all(as_of.date())

    events = _with_service(work)
    counts: dict[str, int] = {}
    for event in events:
        counts[type(event).__name__] = counts.get(type(event).__name__, 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "no changes"
    console.print(f"Evaluated as of {as_of.date()}: {summary}.")


@alerts.command("rebuild")
def rebuild_command() -> None:
    """Rebuild the alerts table from the alert events in the store (operator: DATABASE_URL)."""

    async def work(_: AlertsService, pool: asyncpg.Pool) -> int:
        return await rebuild_alerts(pool)

    console.print(f"Rebuilt the alerts from {_with_service(work)} alert events.")


@alerts.command("deliveries")
def deliveries_command(
    retry: Annotated[list[str] | None, typer.Option("--retry", help="POSITION/CHANNEL to send again (repeat)")] = None,
    retry_dead: Annotated[bool, typer.Option(help="send every dead-lettered delivery again")] = False,
) -> None:
    """Deliveries not made (waiting, or dead-lettered after their last attempt), and sending them again
    (operator: DATABASE_URL). Receivers recognise a repeat by its idempotency key."""
    chosen: list[tuple[int, str]] | None = None
    if retry:
        try:
            chosen = [(int(item.split("/", 1)[0]), item.split("/", 1)[1]) for item in retry]
        except (ValueError, IndexError):
            raise typer.BadParameter("--retry takes POSITION/CHANNEL, e.g. 1234/email") from None

    async def work(_: AlertsService, pool: asyncpg.Pool) -> tuple[int, list[asyncpg.Record]]:
        async with pool.acquire() as conn:
            queued = await outbox.retry(conn, chosen) if chosen or retry_dead else 0
            return queued, await outbox.undelivered(conn)

    queued, rows = _with_service(work)
    if chosen or retry_dead:
        console.print(f"Queued {queued} delivery(ies) to be sent again.")
    table = Table(title=f"Deliveries not made ({len(rows)})")
    for column in ("Delivery", "Kind", "Alert", "Attempts", "State", "Last error"):
        table.add_column(column)
    for r in rows:
        state = "dead-lettered" if r["dead_lettered_at"] else f"next try {r['next_attempt_at']:%Y-%m-%d %H:%M:%S}"
        table.add_row(f"{r['position']}/{r['channel']}", r["kind"], r["fingerprint"], str(r["attempts"]), state,
                      r["last_error"] or "")  # fmt: skip
    console.print(table)


@alerts.command("list")
def list_command(
    committee: Annotated[str | None, typer.Option(help="raised for or escalated to this committee")] = None,
    status: Annotated[str, typer.Option(help="open | resolved | all")] = "open",
    unit: Annotated[str | None, typer.Option(help="one unit's alerts")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
    token: Token = None,
) -> None:
    """List alerts, newest first."""
    if status not in ("open", "resolved", "all"):
        raise typer.BadParameter("status is one of open, resolved, all")

    async def work(_: AlertsService, pool: asyncpg.Pool) -> list[dict[str, Any]]:
        _who, scope = await _principal(pool, token)
        async with pool.acquire() as conn:
            chosen: StatusFilter = status  # type: ignore[assignment]
            return await list_alerts(conn, committee=committee, status=chosen, unit_code=unit, scope=scope)

    found = _with_service(work)
    if as_json:
        for alert in found:
            typer.echo(json.dumps(alert, ensure_ascii=False, default=str))
        return
    table = Table(title=f"Alerts ({len(found)})")
    for column in ("Fingerprint", "Severity", "Status", "Summary", "Responsible head", "Committee"):
        table.add_column(column)
    for a in found:
        state = a["status"] + (" ack" if a["acknowledged_by"] else "") + (" silenced" if a["silenced_until"] else "")
        committee_shown = a["committee"] + (f" → {a['escalated_to']}" if a["escalated_to"] else "")
        table.add_row(
            a["fingerprint"], a["severity"], state, a["summary"], a["responsible_leader_name"] or "(vacant)",
            committee_shown,
        )  # fmt: skip
    console.print(table)


def _act(
    fingerprint: str, token: str | None, by: str | None, action: Callable[[AlertsService, str], Awaitable[Any]]
) -> None:
    async def work(service: AlertsService, pool: asyncpg.Pool) -> Any:
        who, scope = await _principal(pool, token)
        async with pool.acquire() as conn:
            allowed = await in_jurisdiction(conn, fingerprint, scope)
        if not allowed:
            raise typer.BadParameter(f"no alert {fingerprint}" + (" in your jurisdiction" if scope is not None else ""))
        actor = who.name if who is not None else by
        if not actor:
            raise typer.BadParameter("say who acts: --by NAME (or use a committee --token)")
        return await action(service, actor)

    try:
        event = _with_service(work)
    except (AlertNotFound, AlertClosed) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"Recorded {type(event).__name__} for {fingerprint}.")


By = Annotated[str | None, typer.Option(help="who acts (taken from the token when one is given)")]


@alerts.command("ack")
def ack_command(fingerprint: str, note: str = "", by: By = None, token: Token = None) -> None:
    """Acknowledge an alert: the committee has it in hand."""
    _act(fingerprint, token, by, lambda service, actor: service.acknowledge(fingerprint, actor, note))


@alerts.command("silence")
def silence_command(
    fingerprint: str,
    until: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="no notifications until this date")],
    reason: Annotated[str, typer.Option(help="why")],
    by: By = None,
    token: Token = None,
) -> None:
    """Hold back an alert's notifications until a date (it stays open and evaluated)."""
    _act(fingerprint, token, by, lambda service, actor: service.silence(fingerprint, until.date(), reason, actor))


@alerts.command("resolve")
def resolve_command(
    fingerprint: str,
    conclusion: Annotated[str, typer.Option(help="the committee's conclusion")],
    by: By = None,
    token: Token = None,
) -> None:
    """Close an alert with the committee's conclusion."""
    _act(fingerprint, token, by, lambda service, actor: service.resolve(fingerprint, actor, conclusion))


async def alertmanager_text(
    pool: asyncpg.Pool,
    settings: Settings,
    webhook_url: str | None,
    smtp_smarthost: str | None = None,
    timing: Timing | None = None,
) -> str:
    """Alertmanager's configuration for the committees in the registry now."""
    async with pool.acquire() as conn:
        committees = [r["committee"] for r in await conn.fetch("SELECT DISTINCT committee FROM units")]
    document = alertmanager_config(
        committees,
        load_alert_config(settings.pim_alert_rules_file),
        webhook_url=webhook_url,
        smtp_smarthost=smtp_smarthost,
        smtp_from=settings.pim_smtp_from,
        timing=timing or Timing(),
    )
    return render(document)


@alerts.command("alertmanager-config")
def alertmanager_config_command(
    webhook_url: Annotated[str | None, typer.Option(help="each committee's receiver posts here")] = None,
    smtp_smarthost: Annotated[
        str | None, typer.Option(help="host:port; e-mails committees from the rules file")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="write here instead of standard output")] = None,
    group_wait: str = "30s",
    group_interval: str = "5m",
    repeat_interval: str = "168h",
) -> None:
    """Alertmanager's routing tree from the committees in the registry (DATABASE_URL)."""
    timing = Timing(group_wait, group_interval, repeat_interval)

    async def generate(_: AlertsService, pool: asyncpg.Pool) -> str:
        return await alertmanager_text(pool, Settings(), webhook_url, smtp_smarthost, timing)

    text = _with_service(generate)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {output}")
