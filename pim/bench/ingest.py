"""`pim bench ingest`: bulk import and single-report latency, beside the raw limits of the same machine.

Numbers come from this run only: a raw asyncpg COPY of the same rows into a bare table is measured in
the same run, so the ratio means something on a noisy machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import json
import multiprocessing
import os
import queue
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import uvloop
from rich.console import Console
from rich.table import Table

from pim.bench import store_limits
from pim.bench.ceilings import CpuMeter, CpuPerReport, cores, import_ceiling
from pim.bench.http_load import poster
from pim.embedded import free_port, infrastructure
from services.ingest import FigureIntake, Registry, import_figure_file
from shared.auth import Principal, create_token
from shared.db import create_pool, migrate
from shared.event_store import Submitter
from shared.events import UnitRegistered
from shared.observability import import_phases
from shared.settings import Settings

CATEGORIES = ("central_budget", "local_budget", "oda", "other")
STORE_COPY_ROWS = 200_000  # enough for a rate; a million event rows held at once would measure memory instead
# Single reports a second, each for LADDER_SECONDS, up until p99 passes a second.
LADDER = (50, 100, 200, 300, 350, 400, 500, 600, 700, 800, 1000, 1200, 1600)
LADDER_SECONDS = 5
# Single reports a second while an import of the same size runs (a fresh one per rate), up until p99 passes a
# second: the capacity the HTTP path keeps during a large import, beside the one it has alone.
DURING_LADDER = (25, 50, 100, 150, 200, 250, 300, 400, 500, 600, 700, 800)
DURING_REPORTS_AT_LEAST = 100  # fewer sent while the import ran (a small file): too few to read a p99 from
WARM_UP_REQUESTS = 50
REQUEST_TIMEOUT_S = 30
PLAN_YEAR = 2025
PROBE_UNITS = 100  # other departments' units, which the single reports are for (never the import's)
POLL_S = 0.05  # how often the bench looks at its probe process's events and queue
PROBE_GRACE_S = 10  # for the probe process to end on its own once stopped, then again once terminated


@dataclass
class IngestBench:
    rows: int
    units: int
    raw_copy_rows_per_s: float
    import_rows_per_s: float
    import_seconds: float
    ratio_to_raw: float
    rss_start_mb: float
    rss_peak_mb: float
    http_rate_per_s: int
    http_requests: int
    http_p50_ms: float
    http_p99_ms: float
    http_max_ms: float
    http_errors: int
    # (b) the same single reports while a second import of `rows` runs (figures of another project code)
    during_import_rows_per_s: float  # the imports' rate at the highest rate held (or the first tried)
    during_p50_ms: float
    during_p99_ms: float
    during_max_ms: float
    during_errors: int
    during_capacity_per_s: int
    during_ladder: list[tuple[int, float, int, int]]  # (rate, p99 ms, errors, the import's rows/s)
    # (a) `one_unit_rows` rows for one unit (a province's file: many projects, one unit)
    one_unit_rows: int
    one_unit_rows_per_s: float
    one_unit_seconds: float
    # the store's own limits (store_limits.py), same run: the figures as event rows COPY'd into a table like
    # `events` (up to STORE_COPY_ROWS of them), and single event rows committed one per transaction
    store_copy_rows_per_s: float = 0
    ratio_to_store_copy: float = 0
    single_append_limit_per_s: float = 0  # from as many connections as the API's pool
    single_append_one_connection_per_s: float = 0  # from one, each commit waiting for the last
    # single reports: the highest rate of the ladder answered with p99 under a second and no error, alone
    http_capacity_per_s: int = 0
    http_ladder: list[tuple[int, float, int]] = field(default_factory=list)  # (rate, p99 ms, errors)
    http_capacity_two_servers_per_s: int = 0  # the same with two API processes sharing the port
    http_ladder_two_servers: list[tuple[int, float, int]] = field(default_factory=list)
    # the ceilings this machine sets (ceilings.py): the import's time by phase, and the rate it would reach with
    # an append as fast as the store's COPY; each ladder step's CPU per report by process, and at the capacity
    # step the rate at which that CPU would keep every core busy
    import_phases_s: dict[str, float] = field(default_factory=dict)
    import_ceiling_rows_per_s: float = 0
    ratio_of_ceiling_to_store_copy: float = 0
    http_cpu_per_report_ms: list[dict[str, float | None]] = field(default_factory=list)
    http_cpu_at_capacity_ms: dict[str, float | None] | None = None
    http_cpu_ceiling_per_s: float = 0
    machine: dict[str, Any] = field(default_factory=dict)


def bench_units(rows: int) -> int:
    return max(1, rows // (len(CATEGORIES) * 50))  # 50 weekly reports per unit and source


def write_figures_csv(path: Path, rows: int, *, units: int | None = None, projects: int = 0, prefix: str = "p") -> None:
    """Weekly cumulative disbursement for `units` communes (`rows / 200` unless given), four capital
    sources each, and with `projects` a figure per project (`prefix` + number) instead of one per unit."""
    units = units or bench_units(rows)
    project_codes = [f"{prefix}{n:05d}" for n in range(projects)] or [""]
    weeks = -(-rows // (units * len(CATEGORIES) * len(project_codes)))
    written = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["unit_code", "indicator", "plan_year", "category", "project_code", "as_of", "amount"])
        for week in range(weeks):
            as_of = (dt.date(PLAN_YEAR, 1, 3) + dt.timedelta(weeks=week)).isoformat()
            for unit in range(units):
                for project in project_codes:
                    for source, category in enumerate(CATEGORIES):
                        if written == rows:
                            return
                        amount = (week + 1) * (1_000_000 + unit * 1_000 + source) * 1_000
                        writer.writerow([f"xa-{unit:05d}", "giải ngân", PLAN_YEAR, category, project, as_of, amount])
                        written += 1


def raw_records(path: Path) -> list[tuple[object, ...]]:
    records: list[tuple[object, ...]] = []
    with path.open(encoding="utf-8") as source:
        reader = csv.reader(source)
        next(reader)
        for row_no, (unit, _, year, category, project, as_of, amount) in enumerate(reader, start=2):
            records.append((row_no, "public_investment_disbursement", unit, int(year), category, project,
                            dt.date.fromisoformat(as_of), "cumulative", Decimal(amount), None))  # fmt: skip
    return records


class PeakMemory:
    """Samples a process's resident memory (this one's by default) in a thread while the work runs."""

    def __init__(self, pid: int | None = None) -> None:
        self._process = psutil.Process(pid)
        self.start_mb = self._process.memory_info().rss / 2**20
        self.peak_mb = self.start_mb
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                return  # it finished

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[str]:
    """The configured database, or an embedded PostgreSQL (stopped however the bench ends: pim/reaper.py)."""
    async with infrastructure(settings, broker=False) as ready:
        assert ready.database_url is not None
        yield ready.database_url


async def measure_raw_copy(pool: asyncpg.Pool, records: list[tuple[object, ...]]) -> float:
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE bench_raw (row_no integer, indicator text, unit_code text, plan_year integer, category text,"
            " project_code text, as_of date, amount_kind text, amount numeric, correction_reason text)"
        )
        started = time.perf_counter()
        await conn.copy_records_to_table("bench_raw", records=records)
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE bench_raw")
    return len(records) / elapsed


def _probe(dsn: str, token: str, rate: int, offset: int, ready: Any, stop: Any, results: Any) -> None:
    """`measure_latency` in a process of its own, from `ready` (its server up and warm) until `stop` is set;
    its result on `results`."""

    async def main() -> None:
        # `stop` polled from the loop, not waited on in a thread: asyncio.run's end waits for its threads, and
        # one blocked on an Event nobody sets (the parent interrupted) kept the process alive.
        until = asyncio.ensure_future(_until_set(stop))
        results.put(await measure_latency(dsn, token, rate, 0, offset=offset, until=until, on_ready=ready.set))

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches it with the bench, which tells the user
        asyncio.run(main())


async def _until_set(event: Any, *, seconds: float | None = None, alive: Any = None) -> bool:
    """Whether `event` (a multiprocessing Event) was set within `seconds` (None: ever) while `alive` (a
    process, if given) still ran; polled from the loop so a cancellation ends the wait at once."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while not event.is_set():
        if (deadline is not None and time.monotonic() > deadline) or (alive is not None and not alive.is_alive()):
            return bool(event.is_set())
        await asyncio.sleep(POLL_S)
    return True


async def _result_of(results: Any, process: Any) -> Any:
    """The one item `process` puts on `results`, polled from the loop; taken before the process is joined (a
    child still flushing its queue to a parent that waits to join it would never end)."""
    while True:
        with contextlib.suppress(queue.Empty):
            return results.get_nowait()
        if not process.is_alive():
            with contextlib.suppress(queue.Empty):  # its last put may still be in the pipe
                return results.get(timeout=1)
            raise RuntimeError(f"the single reports' process ended without a result (exit code {process.exitcode})")
        await asyncio.sleep(POLL_S)


def _serve(dsn: str, port: int) -> None:
    """The ingest API alone, in a process of its own, so the load generator does not share its CPU. (Spawned:
    it imports what it serves and no more — the whole stack's imports once cost the probe seconds of CPU.) Its
    port may be shared with other such processes (SO_REUSEPORT: the kernel spreads the connections among
    them), as replicas behind one address would be."""
    from services.ingest import create_app
    from shared.http_server import http_server

    async def main() -> None:
        pool = await create_pool(dsn, max_size=8)
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listening.bind(("127.0.0.1", port))
        await http_server(create_app(pool), "127.0.0.1", port).serve(sockets=[listening])

    uvloop.run(main())  # as the services run (pim/command_run.py)


async def _wait_for_health(port: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/health")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("the benchmark API did not start")
            await asyncio.sleep(0.1)


async def measure_latency(
    dsn: str,
    token: str,
    rate: int,
    seconds: int,
    *,
    offset: int = 0,
    until: asyncio.Task[Any] | None = None,
    on_ready: Callable[[], None] | None = None,
    servers: int = 1,
    meter: CpuMeter | None = None,
) -> tuple[list[float], int]:
    """Single reports at `rate` a second for `seconds`, or until `until` is done if that is later; their
    latencies in ms and the number that failed. `offset` keeps their keys apart from an earlier run's;
    `on_ready` is told when the server is up and warm, just before the first counted report. `servers`: API
    processes sharing the port. `meter` is given the CPU the counted reports cost."""
    port = free_port()
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_serve, args=(dsn, port), daemon=True) for _ in range(servers)]
    for process in processes:
        process.start()
    latencies: list[float] = []
    errors = 0
    try:
        await _wait_for_health(port)
        async with poster("127.0.0.1", port, [("authorization", f"Bearer {token}")]) as posting:

            async def one(index: int) -> None:
                nonlocal errors
                body = {"disbursements": [{"unit_code": f"khac-{index % PROBE_UNITS:03d}", "plan_year": PLAN_YEAR,
                                           "category": "other", "project_code": f"probe-{index}",
                                           "as_of": "2025-06-30", "amount": str(1000 + index)}]}  # fmt: skip
                started = time.perf_counter()
                sent = posting.post("/v1/figures", json.dumps(body).encode(), [("idempotency-key", f"lat-{index}")])
                try:  # an open-loop run may queue: the queue is the measurement, up to half a minute
                    errors += await asyncio.wait_for(sent, REQUEST_TIMEOUT_S) != 201
                except OSError:  # refused, closed, or timed out
                    errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

            # Warmed up first, one at a time and not counted: a fresh server's first requests pay for its pool's
            # connections and its first imports (a 5-second step at 200/s once read p99 1.5 s from them alone).
            chains = 1 if servers == 1 else 4 * servers  # connections enough for the kernel to reach each server

            async def warm(chain: int) -> None:
                for warm in range(chain, WARM_UP_REQUESTS, chains):
                    await one(offset - 1 - warm)

            await asyncio.gather(*(warm(chain) for chain in range(chains)))
            latencies.clear()
            errors = 0
            if on_ready is not None:
                on_ready()
            if meter is not None:
                meter.start([process.pid for process in processes if process.pid is not None])
            # Open loop: requests leave on schedule whether or not earlier ones have returned.
            tasks = []
            start = time.perf_counter()
            index = offset
            while index - offset < rate * seconds or (until is not None and not until.done()):
                delay = start + (index - offset) / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(index)))
                index += 1
            await asyncio.gather(*tasks)
            if meter is not None:
                meter.stop(len(latencies))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()
    return latencies, errors


async def during_import(
    dsn: str, token: str, rate: int, path: Path, rows: int, *, offset: int
) -> tuple[list[float], int, float]:
    """Single reports at `rate` from a process of their own (as another department's would come: in this one
    they would share the importer's interpreter lock with its parsing thread), from when their server is warm
    until the import of `path` (on a pool of its own) has stored its rows: their latencies, failures, and the
    import's rows/s."""
    context = multiprocessing.get_context("spawn")
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    probes = context.Process(target=_probe, args=(dsn, token, rate, offset, ready, stop, results))
    probes.start()
    try:
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(stop.set)  # on every path, an interruption included: the probe then ends on its own
            pool = await create_pool(dsn, max_size=4)
            stack.push_async_callback(pool.close)
            if not await _until_set(ready, seconds=60, alive=probes):
                raise TimeoutError("the single reports' server did not start")
            started = time.perf_counter()
            intake = FigureIntake(pool)
            result = await import_figure_file(intake, path, Principal("bench", "admin", ()), channel="bench")
            assert result.stored == rows, result.errors[:3]
            import_rate = rows / (time.perf_counter() - started)
        latencies, errors = await _result_of(results, probes)
    finally:
        await _end(probes)
    return latencies, errors, import_rate


async def _end(process: Any) -> None:
    """`process` joined, given `PROBE_GRACE_S` to end on its own, then terminated."""
    if not await _until_dead(process, PROBE_GRACE_S):
        process.terminate()
        if not await _until_dead(process, PROBE_GRACE_S):
            process.kill()
    process.join()


async def _until_dead(process: Any, seconds: float) -> bool:
    """Whether `process` ended within `seconds`: its sentinel (a descriptor readable once it ends) watched."""
    loop = asyncio.get_running_loop()
    ended = asyncio.Event()
    loop.add_reader(process.sentinel, ended.set)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await ended.wait()
    finally:
        loop.remove_reader(process.sentinel)
    return not process.is_alive()


async def _ladder_during_imports(
    dsn: str, token: str, path: Path, rows: int, console: Console
) -> tuple[list[tuple[int, float, int, int]], int, tuple[list[float], int, float]]:
    """Single reports at each rate of `DURING_LADDER` while a fresh import of `rows` rows runs, up until p99
    passes a second: the ladder (rate, p99, errors, the import's rows/s), the highest rate held, and that
    rate's run (or the first's, if none held)."""
    during_ladder: list[tuple[int, float, int, int]] = []
    during_runs: dict[int, tuple[list[float], int, float]] = {}
    for step in DURING_LADDER:
        await asyncio.to_thread(write_figures_csv, path, rows, projects=1, prefix=f"bulk-b{step}-")
        latencies, errors, import_rate = await during_import(
            dsn, token, step, path, rows, offset=(2 + len(during_ladder)) * 10**7
        )
        if len(latencies) < DURING_REPORTS_AT_LEAST:
            console.print(f"  {step}/s: the import was over after {len(latencies)} reports: too few to tell")
            during_runs.setdefault(step, (latencies, errors, import_rate))
            break
        p99 = statistics.quantiles(latencies, n=100)[98]
        during_ladder.append((step, round(p99, 1), errors, round(import_rate)))
        during_runs[step] = (latencies, errors, import_rate)
        console.print(f"  {step}/s: p99 {p99:,.0f} ms, {errors} errors; the import {import_rate:,.0f} rows/s")
        if p99 >= 1000 or errors:
            break
    held = [step for step, p99, failed, _ in during_ladder if p99 < 1000 and not failed]
    capacity = max(held, default=0)
    return during_ladder, capacity, during_runs[capacity or DURING_LADDER[0]]


@dataclass
class Ladder:
    steps: list[tuple[int, float, int]]  # (rate, p99 ms, errors)
    capacity: int  # the highest rate with p99 under a second and no error
    cpu: list[CpuPerReport]  # per step
    next_offset: int  # the next free idempotency-key offset

    def cpu_at_capacity(self) -> CpuPerReport | None:
        """The CPU a report cost at the highest rate held (at the first step if none was)."""
        rates = [rate for rate, _, _ in self.steps]
        at = rates.index(self.capacity) if self.capacity in rates else 0
        return self.cpu[at] if self.cpu else None


async def _ladder(dsn: str, token: str, offset: int, console: Console, servers: int, database_pid: int) -> Ladder:
    """The HTTP path's capacity: single reports at the rates of LADDER, up until p99 passes a second, and the
    CPU each report cost every process on its path at each step."""
    ladder, spent = [], []
    for step in LADDER:
        meter = CpuMeter(database_pid)
        latencies, errors = await measure_latency(
            dsn, token, step, LADDER_SECONDS, offset=offset, servers=servers, meter=meter
        )
        offset += step * LADDER_SECONDS + 1 + WARM_UP_REQUESTS
        p99 = statistics.quantiles(latencies, n=100)[98]
        ladder.append((step, round(p99, 1), errors))
        assert meter.result is not None
        spent.append(meter.result)
        console.print(f"  {step}/s: p99 {p99:,.0f} ms, {errors} errors; {_cpu_line(meter.result)}")
        if p99 >= 1000 or errors:
            break
    capacity = max((step for step, p99, failed in ladder if p99 < 1000 and not failed), default=0)
    return Ladder(ladder, capacity, spent, offset)


def _cpu_line(cpu: CpuPerReport) -> str:
    database = "PostgreSQL not on this machine" if cpu.database_ms is None else f"PostgreSQL {cpu.database_ms:.2f}"
    machine = cores()
    return (
        f"CPU per report: API {cpu.api_ms:.2f} ms, {database} ms, load generator {cpu.load_ms:.2f} ms"
        f" (the {machine} cores all busy at {cpu.ceiling(machine):,.0f}/s)"
    )


def _phases_since(before: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Seconds each phase of the imports since `before` took (pim_ingest_import_phase_seconds)."""
    spent = {phase: seconds - before.get(phase, (0.0, 0.0))[1] for phase, (_, seconds) in import_phases().items()}
    return {phase: round(seconds, 3) for phase, seconds in spent.items() if seconds > 0}


async def register_units(pool: asyncpg.Pool, units: int) -> str:
    """The import's `units` communes and the single reports' `PROBE_UNITS` registered; a token to send with."""
    registry = [
        UnitRegistered(unit_code=f"xa-{u:05d}", name=f"Xã số {u}", level="commune", committee="Ủy ban Kiểm tra")
        for u in range(units)
    ] + [
        UnitRegistered(unit_code=f"khac-{u:03d}", name=f"Xã khác {u}", level="commune", committee="Ủy ban Kiểm tra")
        for u in range(PROBE_UNITS)
    ]
    for start in range(0, len(registry), 5000):
        await Registry(pool).submit(registry[start : start + 5000], Submitter("bench", "bench"))
    async with pool.acquire() as conn:
        return await create_token(conn, "bench", "admin")


async def run_ingest_bench(settings: Settings, rows: int, rate: int, seconds: int, console: Console) -> IngestBench:
    async with database(settings) as dsn:
        await migrate(dsn)
        pool = await create_pool(dsn, max_size=store_limits.CONNECTIONS)
        try:
            units = bench_units(rows)
            token = await register_units(pool, units)
            console.print("The store's own limit for single reports: one event row committed per transaction…")
            append_limit = await store_limits.measure_single_appends(pool)
            append_one = await store_limits.measure_single_appends(pool, connections=1)
            console.print(f"  {append_limit:,.0f} transactions/s from {store_limits.CONNECTIONS} connections,"
                          f" {append_one:,.0f} from one")  # fmt: skip
            async with pool.acquire() as conn:
                database_pid = await conn.fetchval("SELECT pg_backend_pid()")  # to find the server's processes
            ladder = await _ladder(dsn, token, 10**8 + WARM_UP_REQUESTS, console, 1, database_pid)
            console.print("The same with two API processes on one port (as replicas behind one address)…")
            ladder_two = await _ladder(dsn, token, ladder.next_offset, console, 2, database_pid)
            console.print(f"HTTP single-report latency at {rate} requests/s for {seconds} s (before the bulk import)…")
            latencies, errors = await measure_latency(dsn, token, rate, seconds)
            with tempfile.TemporaryDirectory(prefix="pim-bench-") as folder:
                path = Path(folder) / "figures.csv"
                console.print(f"Writing {rows:,} figure rows for {units:,} units…")
                await asyncio.to_thread(write_figures_csv, path, rows)
                records = await asyncio.to_thread(raw_records, path)
                console.print("Raw COPY of the same rows into a bare table…")
                raw_rate = await measure_raw_copy(pool, records)
                console.print("The store's own limit: the same rows as event rows COPY'd into a table like `events`…")
                store_copy_rate = await store_limits.measure_store_copy(pool, records[:STORE_COPY_ROWS])
                del records
                console.print("PIM import of the file (parse, validate, stage, check, append)…")
                phases_before = import_phases()
                with PeakMemory() as memory:
                    started = time.perf_counter()
                    result = await import_figure_file(
                        FigureIntake(pool), path, Principal("bench", "admin", ()), channel="bench"
                    )
                    elapsed = time.perf_counter() - started
                assert result.stored == rows, result
                phases = _phases_since(phases_before)
                ceiling = import_ceiling(rows, elapsed, phases.get("append", 0.0), store_copy_rate)
                console.print(f"  {rows / elapsed:,.0f} rows/s ({elapsed:.1f} s), raw COPY {raw_rate:,.0f} rows/s")
                console.print("  where its time went: " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))
                console.print(f"  its append as fast as the store's COPY, the rest as measured: {ceiling:,.0f} rows/s"
                              f" ({ceiling / store_copy_rate:.0%} of that COPY)")  # fmt: skip

                console.print(f"(b) Single reports while an import of {rows:,} rows runs (a fresh one per rate)…")
                during_ladder, during_capacity, (during, during_errors, during_rate) = await _ladder_during_imports(
                    dsn, token, path, rows, console
                )

                one_unit = min(rows, 200_000)
                console.print(f"(a) {one_unit:,} rows for one unit (1,000 projects)…")
                await asyncio.to_thread(write_figures_csv, path, one_unit, units=1, projects=1000, prefix="one-")
                started = time.perf_counter()
                intake, principal = FigureIntake(pool), Principal("bench", "admin", ())
                assert (await import_figure_file(intake, path, principal, channel="bench")).stored == one_unit
                one_unit_seconds = time.perf_counter() - started
                console.print(f"  {one_unit / one_unit_seconds:,.0f} rows/s ({one_unit_seconds:.1f} s)")
        finally:
            await pool.close()
    quantiles = statistics.quantiles(latencies, n=100)
    at_capacity = ladder.cpu_at_capacity()
    during_q = statistics.quantiles(during, n=100) if len(during) > 1 else [0.0] * 99
    return IngestBench(
        rows=rows, units=units, raw_copy_rows_per_s=round(raw_rate), import_rows_per_s=round(rows / elapsed),
        import_seconds=round(elapsed, 2), ratio_to_raw=round(rows / elapsed / raw_rate, 3),
        rss_start_mb=round(memory.start_mb, 1), rss_peak_mb=round(memory.peak_mb, 1), http_rate_per_s=rate,
        http_requests=len(latencies), http_p50_ms=round(quantiles[49], 2), http_p99_ms=round(quantiles[98], 2),
        http_max_ms=round(max(latencies), 2), http_errors=errors,
        during_import_rows_per_s=round(during_rate), during_p50_ms=round(during_q[49], 2),
        during_p99_ms=round(during_q[98], 2), during_max_ms=round(max(during, default=0), 2),
        during_errors=during_errors,
        during_capacity_per_s=during_capacity, during_ladder=during_ladder,
        one_unit_rows=one_unit, one_unit_rows_per_s=round(one_unit / one_unit_seconds),
        one_unit_seconds=round(one_unit_seconds, 2), store_copy_rows_per_s=round(store_copy_rate),
        ratio_to_store_copy=round(rows / elapsed / store_copy_rate, 3), single_append_limit_per_s=round(append_limit),
        single_append_one_connection_per_s=round(append_one),
        import_phases_s=phases, import_ceiling_rows_per_s=round(ceiling),
        ratio_of_ceiling_to_store_copy=round(ceiling / store_copy_rate, 3),
        http_capacity_per_s=ladder.capacity, http_ladder=ladder.steps,
        http_cpu_per_report_ms=[asdict(cpu) for cpu in ladder.cpu],
        http_cpu_at_capacity_ms=None if at_capacity is None else asdict(at_capacity),
        http_cpu_ceiling_per_s=0 if at_capacity is None else round(at_capacity.ceiling(cores())),
        http_capacity_two_servers_per_s=ladder_two.capacity, http_ladder_two_servers=ladder_two.steps,
        machine={"cpus": os.cpu_count(), "cores": cores(),
                 "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
    )  # fmt: skip


def show(result: IngestBench, console: Console) -> None:
    table = Table(title=f"pim bench ingest — {result.rows:,} rows, {result.units:,} units")
    table.add_column("measure")
    table.add_column("PIM", justify="right")
    table.add_column("raw limit, same run", justify="right")
    table.add_row(
        "bulk import, rows/s", f"{result.import_rows_per_s:,.0f}", f"{result.raw_copy_rows_per_s:,.0f} (COPY)"
    )
    table.add_row("share of raw COPY", f"{result.ratio_to_raw:.0%}", "")
    table.add_row(
        "bulk import vs the store's own COPY", f"{result.import_rows_per_s:,.0f}",
        f"{result.store_copy_rows_per_s:,.0f} (COPY into a table like events): {result.ratio_to_store_copy:.0%}",
    )  # fmt: skip
    table.add_row("the import's time by phase", ", ".join(f"{k} {v} s" for k, v in result.import_phases_s.items()), "")
    table.add_row(
        "its ceiling: the append as fast as the store's COPY, the rest as measured",
        f"{result.import_ceiling_rows_per_s:,.0f}", f"{result.ratio_of_ceiling_to_store_copy:.0%} of the store's COPY",
    )  # fmt: skip
    table.add_row(
        "single reports: highest rate with p99 < 1 s", f"{result.http_capacity_per_s:,}/s",
        f"{result.single_append_limit_per_s:,.0f}/s (one event row committed per transaction, "
        f"{store_limits.CONNECTIONS} connections): "
        f"{result.http_capacity_per_s / max(result.single_append_limit_per_s, 1):.0%}; "
        f"{result.single_append_one_connection_per_s:,.0f}/s from one connection: "
        f"{result.http_capacity_per_s / max(result.single_append_one_connection_per_s, 1):.0%}",
    )  # fmt: skip
    table.add_row("the ladder (rate: p99, errors)",
                  ", ".join(f"{r}/s: {p} ms, {e}" for r, p, e in result.http_ladder), "")  # fmt: skip
    at = result.http_cpu_at_capacity_ms
    if at is not None:
        database = "not on this machine" if at["database_ms"] is None else f"{at['database_ms']} ms"
        table.add_row(
            f"CPU per report at {result.http_capacity_per_s or result.http_ladder[0][0]}/s: API, PostgreSQL,"
            " load generator",
            f"{at['api_ms']} ms, {database}, {at['load_ms']} ms",
            f"all {result.machine.get('cores', '?')} cores busy at {result.http_cpu_ceiling_per_s:,.0f}/s: "
            f"{result.http_cpu_ceiling_per_s / max(result.single_append_one_connection_per_s, 1):.0%} of one"
            " connection's commits",
        )  # fmt: skip
    table.add_row(
        "single reports, two API processes: highest rate with p99 < 1 s",
        f"{result.http_capacity_two_servers_per_s:,}/s",
        f"{result.http_capacity_two_servers_per_s / max(result.single_append_one_connection_per_s, 1):.0%} of one"
        " connection's",
    )
    table.add_row("the ladder, two API processes",
                  ", ".join(f"{r}/s: {p} ms, {e}" for r, p, e in result.http_ladder_two_servers), "")  # fmt: skip
    table.add_row("import time", f"{result.import_seconds} s", "")
    table.add_row("resident memory", f"{result.rss_start_mb} → peak {result.rss_peak_mb} MB", "")
    table.add_row(
        f"HTTP p50 / p99 at {result.http_rate_per_s}/s", f"{result.http_p50_ms} / {result.http_p99_ms} ms", ""
    )
    table.add_row("HTTP errors", f"{result.http_errors} of {result.http_requests}", "")
    table.add_row(
        f"(b) single reports during a {result.rows:,}-row import: highest rate with p99 < 1 s",
        f"{result.during_capacity_per_s:,}/s",
        f"{result.during_capacity_per_s / max(result.single_append_one_connection_per_s, 1):.0%} of one connection's",
    )  # fmt: skip
    table.add_row("(b) the ladder (rate: p99, errors, the import's rows/s)",
                  ", ".join(f"{r}/s: {p} ms, {e}, {i:,}" for r, p, e, i in result.during_ladder), "")  # fmt: skip
    table.add_row(
        f"(b) at {result.during_capacity_per_s or DURING_LADDER[0]}/s: p50 / p99 / max, errors",
        f"{result.during_p50_ms} / {result.during_p99_ms} / {result.during_max_ms} ms, {result.during_errors}",
        f"the import meanwhile {result.during_import_rows_per_s:,.0f} rows/s",
    )
    table.add_row(
        f"(a) {result.one_unit_rows:,} rows for one unit, rows/s",
        f"{result.one_unit_rows_per_s:,.0f} ({result.one_unit_seconds} s)",
        f"{result.one_unit_rows_per_s / result.import_rows_per_s:.0%} of the many-unit rate",
    )
    console.print(table)


def save(result: IngestBench, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
