"""`pim alerts …`: a committee's command-line side of the alerts (list, ack, silence, resolve: clients of
the alerts API with the committee's token, within its jurisdiction, no database login), and the
operator's (evaluate, rebuild, deliveries, alertmanager-config: on DATABASE_URL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import httpx
import typer
from rich.console import Console
from rich.table import Table

from services.alerts import outbox
from services.alerts.alertmanager_config import Operators, Timing, alertmanager_config, render
from services.alerts.config import load_alert_config
from services.alerts.rebuild import rebuild_alerts
from services.alerts.service import AlertsService
from shared.money import plain_json
from shared.operator_db import migrated_pool
from shared.settings import AlertsSettings

alerts = typer.Typer(help="The alerts service, and committees' work on alerts.")
console = Console(width=None if Console().is_terminal else 150)
T = TypeVar("T")


def _with_service(work: Callable[[AlertsService, asyncpg.Pool], Awaitable[T]]) -> T:
    async def run() -> T:
        async with migrated_pool() as pool:
            return await work(AlertsService.from_settings(AlertsSettings(), pool), pool)

    return asyncio.run(run())


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


AlertsApi = Annotated[
    str, typer.Option("--api-url", envvar="PIM_ALERTS_API_URL", help="the alerts API (or set PIM_ALERTS_API_URL)")
]
CommitteeToken = Annotated[str, typer.Option(envvar="PIM_TOKEN", help="a committee token (or set PIM_TOKEN)")]


def _call(api_url: str, token: str, method: str, path: str, **kwargs: Any) -> Any:
    """One call to the alerts API with the committee's token; its JSON, or a clear failure."""

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(base_url=api_url.rstrip("/"), timeout=30) as client:
            return await client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)

    try:
        answer = asyncio.run(call())
    except httpx.HTTPError as error:
        raise typer.BadParameter(f"the alerts API at {api_url} cannot be reached: {error}") from None
    if answer.status_code >= 400:
        detail = (
            answer.json().get("detail")
            if answer.headers.get("content-type", "").startswith("application/json")
            else answer.text
        )
        console.print(f"[red]Refused ({answer.status_code})[/red]: {detail}")
        raise typer.Exit(1)
    return answer.json()


@alerts.command("list")
def list_command(
    token: CommitteeToken,
    committee: Annotated[str | None, typer.Option(help="raised for or escalated to this committee")] = None,
    status: Annotated[str, typer.Option(help="open | resolved | all")] = "open",
    unit: Annotated[str | None, typer.Option(help="one unit's alerts")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
    api_url: AlertsApi = "http://127.0.0.1:8001",
) -> None:
    """List the alerts in your token's jurisdiction, newest first (over the alerts API)."""
    params = {k: v for k, v in {"committee": committee, "status": status, "unit": unit}.items() if v is not None}
    found: list[dict[str, Any]] = _call(api_url, token, "GET", "/v1/alerts", params=params)["alerts"]
    if as_json:
        for alert in found:
            typer.echo(json.dumps(alert, ensure_ascii=False, default=plain_json))
        return
    table = Table(title=f"Alerts ({len(found)})")
    for column in ("Fingerprint", "Severity", "Status", "Since", "Age, days", "Summary", "Responsible head",
                   "Committee"):  # fmt: skip
        table.add_column(column)
    for a in found:
        state = a["status"] + (" ack" if a["acknowledged_by"] else "") + (" silenced" if a["silenced_until"] else "")
        committee_shown = a["committee"] + (f" → {a['escalated_to']}" if a["escalated_to"] else "")
        table.add_row(
            a["fingerprint"], a["severity"], state, a["since"], str(a["age_days"]), a["summary"],
            a["responsible_leader_name"] or "(vacant)", committee_shown,
        )  # fmt: skip
    console.print(table)


def _act(api_url: str, token: str, fingerprint: str, action: str, body: dict[str, Any]) -> None:
    event = _call(api_url, token, "POST", f"/v1/alerts/{fingerprint}/{action}", json=body)["event"]
    console.print(f"Recorded {event['type']} for {fingerprint}.")


@alerts.command("ack")
def ack_command(
    fingerprint: str, token: CommitteeToken, note: str = "", api_url: AlertsApi = "http://127.0.0.1:8001"
) -> None:
    """Acknowledge an alert: the committee has it in hand (who acts is the token's name)."""
    _act(api_url, token, fingerprint, "ack", {"note": note})


@alerts.command("silence")
def silence_command(
    fingerprint: str,
    token: CommitteeToken,
    until: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="no notifications until this date")],
    reason: Annotated[str, typer.Option(help="why")],
    api_url: AlertsApi = "http://127.0.0.1:8001",
) -> None:
    """Hold back an alert's notifications until a date (it stays open and evaluated)."""
    _act(api_url, token, fingerprint, "silence", {"until": until.date().isoformat(), "reason": reason})


@alerts.command("resolve")
def resolve_command(
    fingerprint: str,
    token: CommitteeToken,
    conclusion: Annotated[str, typer.Option(help="the committee's conclusion")],
    api_url: AlertsApi = "http://127.0.0.1:8001",
) -> None:
    """Close an alert with the committee's conclusion."""
    _act(api_url, token, fingerprint, "resolve", {"conclusion": conclusion})


async def alertmanager_text(
    pool: asyncpg.Pool,
    settings: AlertsSettings,
    webhook_url: str | None,
    smtp_smarthost: str | None = None,
    timing: Timing | None = None,
    operators: Operators | None = None,
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
        operators=operators,
    )
    return render(document)


@alerts.command("alertmanager-config")
def alertmanager_config_command(
    webhook_url: Annotated[str | None, typer.Option(help="each committee's receiver posts here")] = None,
    smtp_smarthost: Annotated[
        str | None, typer.Option(help="host:port; e-mails committees from the rules file")
    ] = None,
    operator_webhook_url: Annotated[str | None, typer.Option(help="PIM's own health alerts post here")] = None,
    operator_email: Annotated[list[str] | None, typer.Option(help="and are e-mailed here (repeat it)")] = None,
    output: Annotated[Path | None, typer.Option(help="write here instead of standard output")] = None,
    group_wait: str = Timing.group_wait,
    group_interval: str = Timing.group_interval,
    repeat_interval: Annotated[
        str, typer.Option(help="at most Alertmanager's notification log retention (120 h by default)")
    ] = Timing.repeat_interval,
) -> None:
    """Alertmanager's routing tree from the committees in the registry (DATABASE_URL)."""
    timing = Timing(group_wait, group_interval, repeat_interval)

    async def generate(_: AlertsService, pool: asyncpg.Pool) -> str:
        operators = Operators(operator_webhook_url, tuple(operator_email or ()))
        return await alertmanager_text(pool, AlertsSettings(), webhook_url, smtp_smarthost, timing, operators)

    text = _with_service(generate)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {output}")
