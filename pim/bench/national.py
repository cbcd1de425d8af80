"""`pim bench national`: PIM at the size it is for. A generated registry of Vietnam's shape — about 60
ministries and central agencies, 34 provinces, and per province about 20 departments and 100 communes, each
with its head (a province also a deputy in charge of disbursement), its plans, and the communes merged on
1 July 2025 — sends weekly cumulative disbursement on four capital sources and monthly revenue for three
plan years through the real path (the registry's submissions, then one file a week through the same import
as an upload), while the relay and the projector run live.

It reports the load, how long the pipeline takes to settle after it (beside a bare aiokafka read of the same
ledger), `GET /v1/standings` for the national group and the largest province's while reports stream, the
board pack of each, every dashboard query as Grafana's read-only login, the alerts' sweep over every unit,
the rebuild (beside one set-based SQL statement computing the year to date of every key), and storage per
million events; and checks that every list equals a rebuild's and that every unit is counted. `--scale 2`
(4 …) doubles the registry, to see whether each cost grows linearly.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.console import Console
from rich.table import Table

from pim.bench.projector import raw_getmany
from pim.bench.year_to_date_sql import time_every_year_to_date
from pim.demo.settle import wait_until_settled
from pim.embedded import infrastructure
from pim.grafana.dashboards import DASHBOARDS, dashboard_json
from pim.grafana.panel_sql import expand, queries
from pim.stack import running_stack
from services.alerts import AlertsService
from services.ingest import FigureIntake, Registry, import_figure_file
from services.projector import progress_rules, rebuild, standings, standings_json
from shared.auth import Principal, create_token
from shared.db import create_pool, ensure_reader_login
from shared.event_store import Submitter
from shared.events import (
    DomainEvent,
    Indicator,
    LeaderAppointed,
    Role,
    TargetSet,
    UnitRegistered,
    UnitsMerged,
)
from shared.settings import Settings

SOURCES = ("central_budget", "local_budget", "oda", "other")
MERGED_ON = dt.date(2025, 7, 1)
CENTRAL_COMMITTEE = "Ủy ban Kiểm tra Trung ương"


@dataclass(frozen=True)
class Shape:
    """How many of each: Vietnam's registry at `scale` (1: the country; 2: twice as many ministries and
    provinces, each of the same size, so twice the units); `province_size` shrinks each province (tests)."""

    scale: float = 1.0
    province_size: float = 1.0
    plan_years: tuple[int, ...] = (2023, 2024, 2025)  # the last with the 1 July 2025 mergers
    weeks: int = 52

    @property
    def central_agencies(self) -> int:
        return max(1, round(60 * self.scale))

    @property
    def provinces(self) -> int:
        return max(1, round(34 * self.scale))

    @property
    def departments(self) -> int:  # per province
        return max(1, round(20 * self.province_size))

    @property
    def communes(self) -> int:  # per province; an even number: they merge in pairs
        return max(2, round(100 * self.province_size) // 2 * 2)

    def merged_pairs(self) -> int:  # per province, on 1 July 2025: one commune in ten into its neighbour
        return max(1, self.communes // 10)


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str
    parent: str | None
    committee: str
    base: int  # đồng a week on each source: the unit's size
    pace: Decimal  # its share of the plan it reaches by the year's end


def units(shape: Shape) -> list[Unit]:
    """The registry, largest first in each level; a unit's pace varies, so some lag and are flagged."""
    out = [Unit(f"bo-{a:02d}", f"Bộ, cơ quan số {a}", "central", None, CENTRAL_COMMITTEE, 40_000_000_000,
                _pace(a)) for a in range(shape.central_agencies)]  # fmt: skip
    for p in range(shape.provinces):
        province = f"tinh-{p:02d}"
        committee = f"Ủy ban Kiểm tra Tỉnh ủy số {p}"
        size = 1 + (shape.provinces - p) / shape.provinces  # the first provinces are the largest
        out.append(Unit(province, f"Tỉnh số {p}", "province", None, CENTRAL_COMMITTEE, int(60_000_000_000 * size),
                        _pace(p)))  # fmt: skip
        out += [Unit(f"{province}-so-{d:02d}", f"Sở số {d} tỉnh {p}", "department", province, committee,
                     int(2_000_000_000 * size), _pace(p + d)) for d in range(shape.departments)]  # fmt: skip
        out += [Unit(f"{province}-xa-{c:03d}", f"Xã số {c} tỉnh {p}", "commune", province, committee,
                     int(300_000_000 * size), _pace(p + c)) for c in range(shape.communes)]  # fmt: skip
    return out


def _pace(n: int) -> Decimal:
    return Decimal(70 + (n * 37) % 40) / 100  # 70 % … 109 % of the plan by the year's end


def merged_away(shape: Shape) -> dict[str, str]:
    """Each commune merged on 1 July 2025 → the neighbour it merged into."""
    return {f"tinh-{p:02d}-xa-{2 * m + 1:03d}": f"tinh-{p:02d}-xa-{2 * m:03d}"
            for p in range(shape.provinces) for m in range(shape.merged_pairs())}  # fmt: skip


def registry_events(shape: Shape, registry: list[Unit]) -> list[DomainEvent]:
    events: list[DomainEvent] = [
        UnitRegistered(unit_code=u.code, name=u.name, level=u.level, parent_code=u.parent, committee=u.committee)
        for u in registry
    ]  # fmt: skip
    for n, u in enumerate(registry):
        events.append(LeaderAppointed(tenure_id=f"t-{u.code}", unit_code=u.code, leader_id=f"L{n:06d}",
                                      leader_name=f"Nguyễn Văn Thủ Trưởng {n}", role=Role.HEAD,
                                      start_date=dt.date(2021, 6, 1)))  # fmt: skip
        if u.level == "province":
            deputy = LeaderAppointed(tenure_id=f"d-{u.code}", unit_code=u.code, leader_id=f"D{n:06d}",
                                     leader_name=f"Trần Thị Phó {n}", role=Role.DEPUTY_IN_CHARGE,
                                     indicator=Indicator.DISBURSEMENT, start_date=dt.date(2022, 1, 1))  # fmt: skip
            events.append(deputy)
        # The Prime Minister assigns the ministries' and provinces' plans (the national lists rank on them);
        # a province its departments' and communes' (its own lists do).
        by = "prime_minister" if u.level in ("central", "province") else "province"
        for year in shape.plan_years:
            plan = u.base * len(SOURCES) * shape.weeks
            events.append(TargetSet(unit_code=u.code, indicator=Indicator.DISBURSEMENT, plan_year=year,
                                    amount=Decimal(plan), assigned_by=by))  # fmt: skip
            if u.level in ("province", "commune"):
                events.append(TargetSet(unit_code=u.code, indicator=Indicator.BUDGET_REVENUE, plan_year=year,
                                        amount=Decimal(u.base * 20), assigned_by=by))  # fmt: skip
    merged: dict[str, list[str]] = {}
    for predecessor, successor in merged_away(shape).items():
        merged.setdefault(successor, []).append(predecessor)
    events += [UnitsMerged(unit_code=s, predecessor_codes=p, effective_date=MERGED_ON) for s, p in merged.items()]
    return events


def week_dates(shape: Shape, year: int) -> list[dt.date]:
    """The Fridays a unit reports on: the first in January to the last before the year ends."""
    first = dt.date(year, 1, 1) + dt.timedelta(days=(4 - dt.date(year, 1, 1).weekday()) % 7)
    return [first + dt.timedelta(weeks=w) for w in range(shape.weeks) if (first + dt.timedelta(weeks=w)).year == year]


def week_rows(shape: Shape, registry: list[Unit], year: int, week: int, day: dt.date) -> Iterator[list[object]]:
    """A week's file: each unit's cumulative disbursement on its four sources (a merged commune's successor
    reports both from the merger on, consolidated), and on the last Friday of a month its revenue."""
    away = merged_away(shape) if day >= MERGED_ON else {}
    by_code = {u.code: u for u in registry}
    carried: dict[str, list[Unit]] = {}  # successor → the communes merged into it (once, not per unit)
    for predecessor, successor in away.items():
        carried.setdefault(successor, []).append(by_code[predecessor])
    month_end = (day + dt.timedelta(weeks=1)).month != day.month
    for u in registry:
        if u.code in away:
            continue
        merged = carried.get(u.code, [])
        for source in SOURCES:
            amount = sum(int(m.base * m.pace * (week + 1)) for m in (u, *merged))
            yield [u.code, "giải ngân", year, source, day.isoformat(), amount]
        if month_end and u.level in ("province", "commune"):
            amount = sum(int(m.base * 20 * m.pace * day.month / 12) for m in (u, *merged))
            yield [u.code, "thu ngân sách", year, "taxes", day.isoformat(), amount]


@dataclass
class NationalBench:
    scale: float
    units: int
    events: int
    load_seconds: float
    load_events_per_s: float
    settle_seconds: float  # from the last file stored to the read models caught up
    live_events_per_s: float  # every event relayed and projected, from the first submission to settled
    raw_getmany_events_per_s: float  # the same ledger read by a bare aiokafka loop (JSON decoded)
    standings_national_p50_ms: float
    standings_national_p99_ms: float
    standings_province_p50_ms: float
    standings_province_p99_ms: float
    board_pack_national_seconds: float  # the PDF, through the boards' API
    board_pack_province_seconds: float
    dashboard_queries: int
    dashboard_p99_ms: dict[str, float]  # each dashboard query, 10 runs as the read-only login
    alerts_sweep_seconds: float
    alerts_unit_years: int
    rebuild_seconds: float
    rebuild_events_per_s: float
    raw_sql_year_to_date_seconds: float  # one set-based statement: every key's year to date
    storage_mb_per_million_events: float
    lists_equal_a_rebuild: bool
    lists: int  # the groups' lists compared (every group, indicator and plan year)
    units_counted: int
    units_expected: int
    machine: dict[str, Any] = field(default_factory=dict)


async def _lists(pool: asyncpg.Pool, as_of: dt.date, years: tuple[int, ...]) -> str:
    """Every group's list on `as_of`, each indicator and plan year, as the API answers them."""
    async with pool.acquire() as conn:
        lists = {f"{indicator.value}/{year}": standings_json(await standings(conn, as_of, indicator.value, year))
                 for indicator in Indicator for year in years}  # fmt: skip
    return json.dumps(lists, sort_keys=True, default=str)


async def _time_standings(client: httpx.AsyncClient, as_of: dt.date, year: int, group: str) -> float:
    """`GET /v1/standings` as a board's client asks it; milliseconds."""
    started = time.perf_counter()
    asked: dict[str, str | int] = {
        "as_of": as_of.isoformat(),
        "group": group,
        "indicator": Indicator.DISBURSEMENT.value,
        "plan_year": year,
    }
    answer = await client.get("/v1/standings", params=asked)
    if answer.status_code != 404:  # 404: the projector has no list on that date yet (it runs behind the load)
        answer.raise_for_status()
    return (time.perf_counter() - started) * 1000


async def _time_board_pack(client: httpx.AsyncClient, as_of: dt.date, year: int, group: str) -> float:
    started = time.perf_counter()
    answer = await client.get("/v1/board-pack", params={"as_of": as_of.isoformat(), "group": group,
                                                        "plan_year": year, "format": "pdf"}, timeout=600)  # fmt: skip
    answer.raise_for_status()
    return time.perf_counter() - started


async def _time_dashboards(owner_url: str, values: dict[str, str], runs: int = 10) -> dict[str, float]:
    """Every dashboard's queries (variables and panels, Grafana's macros expanded) as a read-only login
    made as `pim init` makes Grafana's: each query's p99 in milliseconds over `runs` runs."""
    password = secrets.token_urlsafe(16)
    owner = await asyncpg.connect(owner_url)
    try:
        await ensure_reader_login(owner, "pim_bench_grafana", password)
    finally:
        await owner.close()
    reader = await asyncpg.connect(owner_url, user="pim_bench_grafana", password=password)  # overrides the URL's
    timings: dict[str, float] = {}
    try:
        for name in DASHBOARDS:
            for what, sql in queries(dashboard_json(name)):
                expanded = expand(sql, values, (f"{values['as_of']}T00:00:00Z", f"{values['as_of']}T23:59:59Z"))
                took = []
                for _ in range(runs):
                    started = time.perf_counter()
                    await reader.fetch(expanded)
                    took.append((time.perf_counter() - started) * 1000)
                timings[f"{name} / {what}"] = _quantile(took, 99)
    finally:
        await reader.close()
    return timings


def _quantile(values: list[float], q: int) -> float:
    """The q-th percentile, rounded to a tenth (milliseconds, as the table shows them)."""
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0], 1)


async def run_national_bench(settings: Settings, shape: Shape, console: Console) -> NationalBench:
    registry = units(shape)
    largest_province_group = "province/tinh-00"  # the first province is the largest
    async with infrastructure(settings) as ready:
        ready = ready.model_copy(update={"pim_api_port": 0, "pim_alerts_api_port": 0, "pim_boards_api_port": 0})
        owner_url = ready.database_url or ""
        async with running_stack(ready, ["relay", "projector"]) as stack:
            pool = stack.pool
            owner_conn = await asyncpg.connect(owner_url)  # tokens are made by the operator, as `pim tokens`
            try:
                token = await create_token(owner_conn, "bench", "admin")
            finally:
                await owner_conn.close()
            auth = {"Authorization": f"Bearer {token}"}
            # the projector's own API: the lists and the pack, from their owner
            boards = httpx.AsyncClient(base_url=stack.boards_api_url or "", headers=auth, timeout=60)
            try:
                started = time.perf_counter()
                console.print(f"Registry: {len(registry):,} units, their heads, plans and the 1 July 2025 mergers…")
                events = registry_events(shape, registry)
                for start in range(0, len(events), 5000):
                    await Registry(pool).submit(events[start : start + 5000], Submitter("bench", "bench"))
                stored = len(events)
                intake, principal = FigureIntake(pool), Principal("bench", "admin", ())
                national_ms: list[float] = []
                province_ms: list[float] = []
                with tempfile.TemporaryDirectory(prefix="pim-national-") as folder:
                    for year in shape.plan_years:
                        for week, day in enumerate(week_dates(shape, year)):
                            path = Path(folder) / f"{year}-{week:02d}.csv"
                            with path.open("w", newline="", encoding="utf-8") as out:
                                writer = csv.writer(out)
                                writer.writerow(["unit_code", "indicator", "plan_year", "category", "as_of", "amount"])
                                writer.writerows(week_rows(shape, registry, year, week, day))
                            result = await import_figure_file(intake, path, principal, channel="bench")
                            assert result.stored == result.rows, result.errors[:3]
                            stored += result.stored
                            # the boards ask while reports stream
                            national_ms.append(await _time_standings(boards, day, year, "national"))
                            province_ms.append(await _time_standings(boards, day, year, largest_province_group))
                        console.print(f"  {year}: {stored:,} events stored")
                load_seconds = time.perf_counter() - started
                settle_started = time.perf_counter()
                await wait_until_settled(stack, timeout_s=3600, with_alerts=False)
                settle_seconds = time.perf_counter() - settle_started
                live_events_per_s = stored / (time.perf_counter() - started)
                last_day = week_dates(shape, shape.plan_years[-1])[-1]
                last_year = shape.plan_years[-1]
                console.print(f"Loaded in {load_seconds:.0f} s; settled {settle_seconds:.1f} s later")

                console.print("Board packs (PDF) for the national group and the largest province's…")
                pack_national = await _time_board_pack(boards, last_day, last_year, "national")
                pack_province = await _time_board_pack(boards, last_day, last_year, largest_province_group)
                # Each measure said as it is taken: a run stopped later (a broker out of memory) keeps them.
                console.print(f"  national {pack_national:.1f} s, the largest province's {pack_province:.1f} s")
            finally:
                await boards.aclose()

            console.print("Dashboards: every query as the read-only login…")
            head_of_largest = f"L{next(n for n, u in enumerate(registry) if u.code == 'tinh-00'):06d}"
            values = {"plan_year": str(last_year), "indicator": Indicator.DISBURSEMENT.value, "unit": "tinh-00",
                      "leader": head_of_largest, "known_on": last_day.isoformat(), "committee": CENTRAL_COMMITTEE,
                      "group": largest_province_group, "as_of": last_day.isoformat()}  # fmt: skip
            dashboards = await _time_dashboards(owner_url, values)
            console.print(f"  {len(dashboards)} queries, the slowest p99 {max(dashboards.values(), default=0):.1f} ms")

            console.print("Alerts: one sweep over every unit and plan year…")
            alerts = AlertsService.from_settings(ready, pool)
            sweep_started = time.perf_counter()
            async with pool.acquire() as conn:
                unit_years = int(await conn.fetchval("SELECT count(*) FROM (SELECT DISTINCT unit_code, plan_year"
                                                     " FROM targets) t"))  # fmt: skip
            await alerts.evaluate_all(last_day)
            sweep_seconds = time.perf_counter() - sweep_started
            console.print(f"  {sweep_seconds:.0f} s for {unit_years:,} unit-years")

            live = await _lists(pool, last_day, shape.plan_years)
            async with pool.acquire() as conn:
                events_size = await conn.fetchval("SELECT pg_total_relation_size('events')")
                total = await conn.fetchval("SELECT count(*) FROM events")
                counted = await conn.fetchval(
                    "SELECT count(DISTINCT unit_code) FROM assessment_rows WHERE as_of <= $1", last_day
                )
            console.print("Raw: a bare aiokafka read of the ledger…")
            getmany_rate = await raw_getmany(ready, ready.ledger_topic, int(total))
            console.print("Rebuild from the store…")
            owner = await create_pool(owner_url, max_size=4)  # an operator's command: the owner's
            try:
                rebuild_started = time.perf_counter()
                replayed = await rebuild(owner, progress_rules(ready))
                rebuild_seconds = time.perf_counter() - rebuild_started
                console.print(f"  {replayed:,} events in {rebuild_seconds:.1f} s")
            finally:
                await owner.close()
            rebuilt = await _lists(pool, last_day, shape.plan_years)
            console.print("Raw: one statement computing every key's year to date…")
            raw_sql_seconds = await time_every_year_to_date(pool)

    return NationalBench(
        scale=shape.scale, units=len(registry), events=int(total), load_seconds=round(load_seconds, 1),
        load_events_per_s=round(stored / load_seconds), settle_seconds=round(settle_seconds, 1),
        live_events_per_s=round(live_events_per_s), raw_getmany_events_per_s=round(getmany_rate),
        standings_national_p50_ms=_quantile(national_ms, 50), standings_national_p99_ms=_quantile(national_ms, 99),
        standings_province_p50_ms=_quantile(province_ms, 50), standings_province_p99_ms=_quantile(province_ms, 99),
        board_pack_national_seconds=round(pack_national, 1), board_pack_province_seconds=round(pack_province, 1),
        dashboard_queries=len(dashboards), dashboard_p99_ms=dashboards,
        alerts_sweep_seconds=round(sweep_seconds, 1), alerts_unit_years=unit_years,
        rebuild_seconds=round(rebuild_seconds, 1), rebuild_events_per_s=round(replayed / rebuild_seconds),
        raw_sql_year_to_date_seconds=round(raw_sql_seconds, 1),
        storage_mb_per_million_events=round(events_size / 2**20 / (total / 1e6), 1),
        lists_equal_a_rebuild=live == rebuilt, lists=sum(len(v) for v in json.loads(live).values()),
        units_counted=int(counted), units_expected=len(registry),
        machine={"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
    )  # fmt: skip


def show(result: NationalBench, console: Console) -> None:
    table = Table(
        title=f"pim bench national — scale {result.scale:g}: {result.units:,} units, {result.events:,} events"
    )
    table.add_column("measure")
    table.add_column("PIM", justify="right")
    slowest = max(result.dashboard_p99_ms.items(), key=lambda item: item[1])
    rows = [
        ("load through the real path (registry, a file a week)", f"{result.load_events_per_s:,} events/s "
         f"({result.load_seconds} s)"),
        ("settled after the last file (relayed, projected)", f"{result.settle_seconds} s"),
        ("live: relayed and projected, first submission to settled", f"{result.live_events_per_s:,} events/s "
         f"(bare aiokafka read of the ledger: {result.raw_getmany_events_per_s:,}/s)"),
        ("GET /v1/standings, national group, while reports stream", f"p50 {result.standings_national_p50_ms} ms, "
         f"p99 {result.standings_national_p99_ms} ms"),
        ("GET /v1/standings, the largest province's group", f"p50 {result.standings_province_p50_ms} ms, "
         f"p99 {result.standings_province_p99_ms} ms"),
        ("board pack (PDF), national group / largest province", f"{result.board_pack_national_seconds} s / "
         f"{result.board_pack_province_seconds} s"),
        (f"dashboards: {result.dashboard_queries} queries as the read-only login", f"p99 ≤ {slowest[1]} ms "
         f"(slowest: {slowest[0]})"),
        ("alerts: a sweep over every unit and plan year", f"{result.alerts_sweep_seconds} s "
         f"({result.alerts_unit_years:,} unit-years)"),
        ("rebuild from the store", f"{result.rebuild_events_per_s:,} events/s ({result.rebuild_seconds} s; one "
         f"statement computing every year to date: {result.raw_sql_year_to_date_seconds} s)"),
        ("storage of the event log", f"{result.storage_mb_per_million_events} MB per million events"),
        ("every list equals a rebuild's", f"{'yes' if result.lists_equal_a_rebuild else 'NO'} ({result.lists} "
         "lists)"),
        ("units counted in the lists", f"{result.units_counted:,} of {result.units_expected:,} registered"),
    ]  # fmt: skip
    for row in rows:
        table.add_row(*row)
    console.print(table)


def save(result: NationalBench, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
