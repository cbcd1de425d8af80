"""`pim demo`: the whole pipeline on the sample data, two tables printed, everything shut down."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from rich.console import Console

from pim.report import accountability_table, flagged_table, progress_table
from pim.sample_loader import load_sample
from pim.settle import wait_until_settled
from pim.stack import running_stack
from services.ingest.auth import create_token
from shared.embedded import infrastructure
from shared.settings import Settings


@dataclass(frozen=True)
class DemoResult:
    events: int
    seconds: float


async def run_demo(settings: Settings, console: Console) -> DemoResult:
    started = time.monotonic()
    async with infrastructure(settings) as ready:
        broker = "external" if settings.kafka_bootstrap_servers else ready.pim_embedded_broker
        console.print(f"PostgreSQL and broker ready (broker: {broker})")
        async with running_stack(ready.model_copy(update={"pim_api_port": 0})) as stack:
            assert stack.api_url is not None
            console.print(f"Ingest API on {stack.api_url}; submitting the sample dataset (synthetic)…")
            async with stack.pool.acquire() as conn:
                token = await create_token(conn, "sample-loader", "admin")
            events = await asyncio.to_thread(load_sample, stack.api_url, token)
            await wait_until_settled(stack)
            async with stack.pool.acquire() as conn:
                console.print(await progress_table(conn))
                console.print(await flagged_table(conn))
                console.print(await accountability_table(conn))
    return DemoResult(events, time.monotonic() - started)
