"""`pim ingest rebuild`: ingest's own state (the units and tenures the registry checks against, the last
figure per key the cumulative check compares with) rebuilt from the event store.

The state is what the accepted events say, so it is replayed from the log: the registry's events through
the same `apply_registry_events` that checked them, the figures by one statement (per key, the one stored
last wins, as at intake). All in one transaction under the append lock: no submission is checked against
a half-built state, and nothing is appended meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from services.ingest.registry import TenureState, UnitState, apply_registry_events, remember_state
from shared.event_store import EventStore, recorded_event
from shared.events import (
    LeaderAppointed,
    LeaderLeft,
    UnitRegistered,
    UnitsMerged,
    figure_event_types,
    figure_schema_version,
)

STATE_TABLES = ("ingest_units", "ingest_tenures", "ingest_figures")
_REGISTRY_CLASSES = (UnitRegistered, UnitsMerged, LeaderAppointed, LeaderLeft)  # what the state is made of
_REGISTRY_TYPES = sorted(cls.model_fields["type"].default for cls in _REGISTRY_CLASSES)

# The latest figure per key, read straight from the payloads at the figures' current version ($3), and from
# the others brought to that shape by the models (`upcast_figures`; a newer one is refused before this runs).
_FIGURES_FROM_STORE = """
INSERT INTO ingest_figures (unit_code, indicator, plan_year, category, project_code, as_of, amount_kind, amount)
SELECT DISTINCT ON (1, 2, 3, 4, 5, 6)
       e.payload->>'unit_code', coalesce(e.payload->>'indicator', k.indicator), (e.payload->>'plan_year')::int,
       e.payload->>'category', coalesce(e.payload->>'project_code', ''), (e.payload->>'as_of')::date,
       e.payload->>'amount_kind', (e.payload->>'amount')::numeric
FROM (SELECT position, event_type, payload FROM events WHERE schema_version = $3
      UNION ALL SELECT position, event_type, payload FROM upcast_figures) e
JOIN unnest($1::text[], $2::text[]) AS k(event_type, indicator) USING (event_type)
ORDER BY 1, 2, 3, 4, 5, 6, e.position DESC
"""


class LogContradictsRegistry(RuntimeError):
    """A stored event the registry's rules refuse: the log was written past ingest's checks."""


@dataclass(frozen=True)
class IngestRebuilt:
    units: int
    tenures: int
    figures: int


async def rebuild_ingest_state(pool: asyncpg.Pool) -> IngestRebuilt:
    async with pool.acquire() as conn, conn.transaction():
        await EventStore.lock(conn)
        await conn.execute(f"TRUNCATE {', '.join(STATE_TABLES)}")
        units: dict[str, UnitState] = {}
        tenures: dict[str, TenureState] = {}
        rows = await conn.fetch(
            "SELECT * FROM events WHERE event_type = ANY($1::text[]) ORDER BY position", _REGISTRY_TYPES
        )
        events = [recorded_event(row).event() for row in rows]
        errors = apply_registry_events(events, units, tenures)
        if errors:
            first = errors[0]
            raise LogContradictsRegistry(
                f"{len(errors)} stored registry event(s) break the registry's rules; first: event {first.row}"
                f" of {len(events)}, {first.field} {first.value!r}: {first.reason}"
            )
        await remember_state(conn, units, tenures)
        types, indicators = figure_event_types()
        version = figure_schema_version()
        await conn.execute("CREATE TEMP TABLE upcast_figures (position bigint, event_type text, payload jsonb)"
                           " ON COMMIT DROP")  # fmt: skip
        other_versions = await conn.fetch(
            "SELECT * FROM events WHERE event_type = ANY($1::text[]) AND schema_version <> $2", types, version
        )
        await conn.executemany(  # decoding refuses a version newer than this code: never misread
            "INSERT INTO upcast_figures VALUES ($1, $2, $3)",
            [(r["position"], r["event_type"], recorded_event(r).event().model_dump(mode="json"))
             for r in other_versions],
        )  # fmt: skip
        status = await conn.execute(_FIGURES_FROM_STORE, types, indicators, version)
    return IngestRebuilt(len(units), len(tenures), int(status.split()[-1]))
