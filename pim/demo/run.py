"""`pim demo`: the whole pipeline on the sample data, its tables printed (progress, the national lists,
alerts, who answered), everything shut down."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pim.boards.progress_report import accountability_table, alert_summary_table, flagged_table, progress_table
from pim.boards.scores_report import scores_table
from pim.boards.standings_report import standings_tables
from pim.demo.accounts import SampleAccount, embedded_portal_token, sample_accounts
from pim.demo.pipeline import PipelinePorts, pipeline_process
from pim.demo.review_story import play_review_story
from pim.demo.sample_loader import load_sample
from pim.demo.settle import wait_until_settled
from pim.embedded import infrastructure
from pim.stack import running_stack
from services.portal import ROLE_LABELS
from services.projector import progress_rules, standings, write_board_pack
from shared.auth import create_token
from shared.db import connected, migrate
from shared.events import Indicator
from shared.settings import Settings

# The sample ends with the October 2025 reports, due on 5 November: a board meeting a few days later.
SAMPLE_MEETING_DATE = dt.date(2025, 11, 10)
SCORED_QUARTER = "2025-Q4"  # the meeting's quarter, to its day: the review story's promise and conclusion


@dataclass(frozen=True)
class DemoResult:
    events: int
    seconds: float


async def run_demo(
    settings: Settings, console: Console, board_pack: Path | None = None, serve: asyncio.Event | None = None
) -> DemoResult:
    """The pipeline on the sample; with `board_pack`, the meeting's board pack is written there too (and
    beside it as HTML, when it is a PDF). With `serve`, the web pages stay up (on PIM_PORTAL_PORT) with an
    account per role printed, until the event is set."""
    started = time.monotonic()
    async with infrastructure(settings) as ready:
        broker = "external" if settings.kafka_bootstrap_servers else ready.pim_embedded_broker
        console.print(f"PostgreSQL and broker ready (broker: {broker})")
        today = settings.pim_alerts_today or SAMPLE_MEETING_DATE
        console.print(f"Alerts are evaluated as of {today} (PIM_ALERTS_TODAY)")
        assert ready.database_url is not None
        await migrate(ready.database_url)  # the tokens' table first
        async with connected(ready.database_url) as conn:  # tokens are the operator's to make
            token = await create_token(conn, "sample-loader", "admin")
            portal_token = await embedded_portal_token(conn)
        ports = PipelinePorts.free()
        host = settings.pim_api_host
        demo_settings = ready.model_copy(update={
            "pim_api_port": 0, "pim_alerts_today": today, "pim_portal_token": portal_token,
            "pim_portal_port": settings.pim_portal_port if serve else 0,
            "pim_boards_url": f"http://{host}:{ports.boards}", "pim_alerts_url": f"http://{host}:{ports.alerts}",
            "pim_action_link_secret": settings.pim_action_link_secret or secrets.token_urlsafe(32),
        })  # fmt: skip
        # This process serves ingest and the pages and sends; the pipeline relays, projects and evaluates in
        # its own (two cores, as Compose runs them).
        async with (
            running_stack(demo_settings, ("ingest", "portal")) as stack,
            # the owner's login, as `pim up` is given it: each service then connects as its own login
            pipeline_process(demo_settings, ports, ready.database_url) as pipeline,
        ):
            stack.tasks.append(asyncio.create_task(pipeline.exited(), name="pipeline"))
            assert stack.api_url is not None
            console.print(f"Ingest API on {stack.api_url}; submitting the sample dataset (synthetic)…")
            sending = time.monotonic()
            events = await load_sample(stack.api_url, token)
            settling = time.monotonic()
            await pipeline.ready()
            await wait_until_settled(stack)
            console.print(
                f"  sent in {settling - sending:.1f} s; the pipeline settled {time.monotonic() - settling:.1f} s"
                " later (relayed, projected, evaluated, delivered)"
            )
            for line in await play_review_story(demo_settings, stack.pool, today):
                console.print(f"  review: {line}")
            await wait_until_settled(stack)  # the story's steps on the ledger, projected for the pack
            # The pack reads the same settled state as the tables: drawn (seconds of CPU) while they print.
            drawing = asyncio.create_task(_write_board_pack(demo_settings, board_pack, today)) if board_pack else None
            async with stack.pool.acquire() as conn:
                console.print(await progress_table(conn))
                for group in await standings(conn, today, Indicator.DISBURSEMENT.value, today.year, "national"):
                    for table in standings_tables(group):
                        console.print(table)
                console.print(await alert_summary_table(conn))
                console.print(await flagged_table(conn))
                console.print(await accountability_table(conn))
                console.print(await scores_table(conn, SCORED_QUARTER, today, progress_rules(demo_settings).scoring))
            if drawing is not None and board_pack is not None:
                await drawing
                console.print(f"Board pack of the {today:%d/%m/%Y} meeting — báo cáo cho Ban Tổ chức: {board_pack}")
            if serve is not None:
                async with connected(ready.database_url) as conn:
                    accounts = await sample_accounts(conn)
                console.print(accounts_table(stack.portal_url or "", accounts))
                console.print("Ctrl-C stops — Ctrl-C để dừng.")
                await serve.wait()
    return DemoResult(events, time.monotonic() - started)


def accounts_table(url: str, accounts: list[SampleAccount]) -> Table:
    table = Table(title=f"Trang web / Web pages: {url} — một tài khoản mỗi vai trò / one account per role")
    for column in ("Vai trò / Role", "E-mail", "Tên / Name", "Mật khẩu (lần chạy này) / Password (this run)"):
        table.add_column(column)
    for account in accounts:
        table.add_row(ROLE_LABELS[account.role], account.email, account.name, account.password)
    return table


async def _write_board_pack(settings: Settings, out: Path, meeting: dt.date) -> None:
    await asyncio.to_thread(out.parent.mkdir, parents=True, exist_ok=True)
    rules = progress_rules(settings)
    async with connected(settings.database_url or "") as conn:
        outs = [out, out.with_suffix(".html")] if out.suffix.lower() == ".pdf" else [out]
        await write_board_pack(conn, outs, meeting, Indicator.DISBURSEMENT, None, None, rules)
