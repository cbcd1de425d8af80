"""The demo's pipeline (relay, projector with the boards' API, alerts with the committees' API) in a process
of its own, as Compose runs the services: the demo's process serves ingest and the pages and sends the
sample, this one relays, projects and evaluates it on the other core. Its log lines are the demo's."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from pim.embedded import free_ports
from pim.reaper import WATCHING
from shared.settings import Settings

log = logging.getLogger(__name__)

PIPELINE_SERVICES = ("relay", "projector", "alerts")
READY_DEADLINE_S = 60.0
STOP_GRACE_S = 15.0
TAIL_LINES = 20


@dataclass(frozen=True)
class PipelinePorts:
    boards: int
    alerts: int
    ops: int

    @classmethod
    def free(cls) -> PipelinePorts:
        return cls(*free_ports(3))


@dataclass
class PipelineProcess:
    process: asyncio.subprocess.Process
    ops_url: str
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))

    async def exited(self) -> None:
        """Returns never while the pipeline runs; raises when its process ends, with its last log lines."""
        code = await self.process.wait()
        lines = "\n".join(self.tail)
        raise RuntimeError(f"the pipeline's process exited with {code}; its last log lines:\n{lines}")

    async def ready(self) -> None:
        """Waits until its /ready says so (PostgreSQL reached, no service waiting on a dependency)."""
        deadline = time.monotonic() + READY_DEADLINE_S
        async with httpx.AsyncClient(base_url=self.ops_url, timeout=2) as client:
            while True:
                if self.process.returncode is not None:
                    await self.exited()
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/ready")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the pipeline was not ready within {READY_DEADLINE_S:.0f} s")
                await asyncio.sleep(0.05)

    async def relay_log(self) -> None:
        """Each line the process logs (JSON) logged here again, at its level under its logger's name, so the
        demo's log holds them as if one process ran; anything else it prints (a crash before logging was set
        up) as an error."""
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if not line:
                continue
            self.tail.append(line)
            try:
                entry = json.loads(line)
                level = logging.getLevelNamesMapping()[entry["level"]]
                text = entry["message"] + (f"\n{entry['exception']}" if "exception" in entry else "")
                logging.getLogger(entry["logger"]).log(level, "%s", text)
            except (ValueError, KeyError, TypeError):
                log.error("pipeline: %s", line)


def pipeline_env(settings: Settings, ports: PipelinePorts, database_url: str) -> dict[str, str]:
    """The environment of `pim up --service relay --service projector --service alerts` on the demo's
    database, broker, topics, clock and link secret, logging JSON lines."""
    assert settings.kafka_bootstrap_servers is not None
    configured = {
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KAFKA_ENABLE_IDEMPOTENCE": str(settings.kafka_enable_idempotence).lower(),
        "PIM_TOPIC_PREFIX": settings.pim_topic_prefix,
        "PIM_API_HOST": settings.pim_api_host,
        "PIM_BOARDS_API_PORT": str(ports.boards),
        "PIM_ALERTS_API_PORT": str(ports.alerts),
        "PIM_OPS_PORT": str(ports.ops),
        "PIM_ALERTS_TODAY": settings.pim_alerts_today.isoformat() if settings.pim_alerts_today else "",
        "PIM_ACTION_LINK_SECRET": settings.pim_action_link_secret or "",
        "PIM_LOG_FORMAT": "json",
    }
    return {**os.environ, **{key: value for key, value in configured.items() if value}}


@contextlib.asynccontextmanager
async def pipeline_process(
    settings: Settings, ports: PipelinePorts, database_url: str
) -> AsyncIterator[PipelineProcess]:
    """Starts the pipeline's process (not waiting for it: `ready()` does) and stops it on the way out,
    as Compose would (SIGTERM, SIGKILL after a grace)."""
    services = [arg for name in PIPELINE_SERVICES for arg in ("--service", name)]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pim", "up", *services, env=pipeline_env(settings, ports, database_url),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # Ctrl-C reaches the demo, which stops this one
    )  # fmt: skip
    reaper = WATCHING.get()
    if reaper is not None:  # the demo killed (SIGKILL) before it stops this one: the reaper does
        reaper.watch_process(process.pid)
    pipeline = PipelineProcess(process, f"http://{settings.pim_api_host}:{ports.ops}")
    relaying = asyncio.create_task(pipeline.relay_log(), name="pipeline-log")
    try:
        yield pipeline
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE_S)
            except TimeoutError:
                process.kill()
                await process.wait()
        await relaying
