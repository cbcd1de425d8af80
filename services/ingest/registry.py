"""Registry and target submissions (admin): units, mergers, tenures, targets, confidence votes.

Each submission is checked in order against the ingest state and the earlier items of the same
submission, with the units it touches and the append lock held, then appended and remembered in one
transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import asyncpg

from services.ingest.errors import RowError, SubmissionRejected
from shared.categories import known_categories, named_categories
from shared.event_store import AppendResult, EventStore, Submitter, content_hash, recorded_event
from shared.events import (
    CategoryDeclared,
    ConfidenceVoteRecorded,
    DomainEvent,
    Indicator,
    LeaderAppointed,
    LeaderLeft,
    Role,
    TargetAdjusted,
    TargetSet,
    UnitDissolved,
    UnitMilestonesSet,
    UnitRegistered,
    UnitsMerged,
)

HEAD_ROLES = (Role.HEAD.value, Role.ACTING_HEAD.value)


@dataclass
class UnitState:
    parent_code: str | None
    merged_into: str | None
    merged_on: dt.date | None
    exists_from: dt.date | None = None  # its first registration's effective_from; None: since always


@dataclass
class TenureState:
    unit_code: str
    leader_id: str
    leader_name: str
    role: str
    start_date: dt.date
    end_date: dt.date | None

    def overlaps(self, start: dt.date, end: dt.date | None) -> bool:
        return (self.end_date is None or start <= self.end_date) and (end is None or self.start_date <= end)


def _codes_read(events: Sequence[DomainEvent]) -> set[str]:
    """The streams a registry submission writes and the units it reads: predecessors, parents."""
    codes = set()
    for event in events:
        codes.add(event.stream_id())
        if isinstance(event, UnitsMerged):
            codes.update(event.predecessor_codes)
        if isinstance(event, UnitDissolved):
            codes.update(h.receiver_code for h in event.handovers)
        if isinstance(event, UnitRegistered) and event.parent_code:
            codes.add(event.parent_code)
    return codes


def overlapping_head(tenures: Sequence[TenureState], unit_code: str, start: dt.date, end: dt.date | None,
                     ignore: TenureState | None = None) -> TenureState | None:  # fmt: skip
    """Another head or acting head of the unit in post during [start, end], if any: a unit has one head."""
    for tenure in tenures:
        in_post = tenure.unit_code == unit_code and tenure.role in HEAD_ROLES and tenure.overlaps(start, end)
        if in_post and tenure is not ignore:
            return tenure
    return None


class Registry:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._store = EventStore(pool)

    async def submit(self, events: Sequence[DomainEvent], submitter: Submitter) -> AppendResult:
        digest = content_hash(events)
        codes = _codes_read(events)
        async with self._pool.acquire() as conn, conn.transaction():
            # Every unit it reads or changes, so a figure file for a unit being merged waits for the merger
            # (and then checks again), or the merger for the file.
            await EventStore.lock_streams(conn, codes)
            await EventStore.lock(conn)
            earlier = await EventStore.earlier_submission(conn, submitter, digest)
            if earlier is not None:
                return earlier
            units, tenures = await self._load_state(conn, codes, events)
            errors = apply_registry_events(events, units, tenures)
            if errors:
                raise SubmissionRejected(errors)
            result = await self._store.append(events, submitter, conn=conn)
            await remember_state(conn, units, tenures)
            return result

    async def _load_state(
        self, conn: asyncpg.Connection, codes: set[str], events: Sequence[DomainEvent]
    ) -> tuple[dict[str, UnitState], dict[str, TenureState]]:
        units = {
            r["unit_code"]: UnitState(r["parent_code"], r["merged_into"], r["merged_on"], r["exists_from"])
            for r in await conn.fetch("SELECT * FROM ingest_units WHERE unit_code = ANY($1::text[])", sorted(codes))
        }
        tenures = {
            r["tenure_id"]: TenureState(
                r["unit_code"], r["leader_id"], r["leader_name"], r["role"], r["start_date"], r["end_date"]
            )
            for r in await conn.fetch(
                "SELECT * FROM ingest_tenures WHERE unit_code = ANY($1::text[]) OR tenure_id = ANY($2::text[])",
                sorted(codes),
                [e.tenure_id for e in events if isinstance(e, LeaderAppointed | LeaderLeft)],
            )
        }
        return units, tenures


async def _declared_categories(conn: asyncpg.Connection) -> list[CategoryDeclared]:
    """Every category an admin declared, decoded through the models (an older payload upcast, a newer refused)."""
    rows = await conn.fetch(
        "SELECT * FROM events WHERE stream_id = 'categories' AND event_type = 'CategoryDeclared' ORDER BY position"
    )
    return [cast(CategoryDeclared, recorded_event(r).event()) for r in rows]


async def registry_categories(conn: asyncpg.Connection) -> dict[Indicator, set[str]]:
    """The capital sources and revenue categories a figure may name: the Ministry's classification and
    those an admin declared."""
    return known_categories((d.indicator, d.code) for d in await _declared_categories(conn))


async def registry_category_names(conn: asyncpg.Connection) -> dict[Indicator, dict[str, str]]:
    """The same codes, each with its label (Vietnamese / English), for people's drop-downs."""
    return named_categories((d.indicator, d.code, d.name) for d in await _declared_categories(conn))


async def units_with_names(conn: asyncpg.Connection, scope: set[str] | None) -> list[tuple[str, str]]:
    """(code, name) of the units not merged away, within `scope` (None: all), by code: each unit's latest
    registration, decoded through the models."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (e.stream_id) e.*"
        " FROM events e JOIN ingest_units u ON u.unit_code = e.stream_id"
        " WHERE e.event_type = 'UnitRegistered' AND u.merged_into IS NULL"
        " AND ($1::text[] IS NULL OR e.stream_id = ANY($1::text[]))"
        " ORDER BY e.stream_id, e.position DESC",
        None if scope is None else sorted(scope),
    )
    return [(r["stream_id"], cast(UnitRegistered, recorded_event(r).event()).name) for r in rows]


def apply_registry_events(
    events: Sequence[DomainEvent], units: dict[str, UnitState], tenures: dict[str, TenureState]
) -> list[RowError]:
    """Apply `events` in order to the state (mutating it); return what is wrong with them. The one
    definition of the registry's state: submissions check against it, the rebuild replays the log through it."""
    errors: list[RowError] = []
    for row, event in enumerate(events, start=1):

        def fail(field: str, value: object, reason: str, row: int = row) -> None:
            errors.append(RowError(row, field, None if value is None else str(value), reason))

        def require_unit(code: str, on: dt.date | None, field: str = "unit_code") -> bool:
            unit = units.get(code)
            if unit is None:
                fail(field, code, "unknown unit: register it first")
                return False
            if unit.merged_on is not None and (on is None or on >= unit.merged_on):
                fail(field, code, f"unit was merged into {unit.merged_into} on {unit.merged_on}")
                return False
            return True

        match event:
            case UnitRegistered():
                if event.parent_code and event.parent_code not in units:
                    fail("parent_code", event.parent_code, "unknown parent unit: register it first")
                elif event.parent_code == event.unit_code:
                    fail("parent_code", event.parent_code, "a unit cannot be its own parent")
                else:
                    before = units.get(event.unit_code)
                    units[event.unit_code] = UnitState(
                        event.parent_code,
                        before.merged_into if before else None,
                        before.merged_on if before else None,
                        before.exists_from if before else event.effective_from,
                    )
            case UnitsMerged():
                if require_unit(event.unit_code, event.effective_date):
                    for code in event.predecessor_codes:
                        if code == event.unit_code:
                            fail("predecessor_codes", code, "a unit cannot be merged into itself")
                        elif require_unit(code, event.effective_date, "predecessor_codes"):
                            units[code].merged_into, units[code].merged_on = event.unit_code, event.effective_date
            case UnitDissolved():
                receivers = sorted({h.receiver_code for h in event.handovers})
                field = "handovers.receiver_code"
                known = [code for code in receivers if require_unit(code, event.effective_date, field)]
                if require_unit(event.unit_code, event.effective_date) and len(known) == len(receivers):
                    # It leaves the registry like a merged unit: figures dated from then go to its receivers.
                    units[event.unit_code].merged_into = ", ".join(receivers)
                    units[event.unit_code].merged_on = event.effective_date
            case LeaderAppointed():
                if event.tenure_id in tenures:
                    fail("tenure_id", event.tenure_id, "this tenure is already recorded")
                elif require_unit(event.unit_code, event.start_date):
                    clash = (
                        overlapping_head(list(tenures.values()), event.unit_code, event.start_date, None)
                        if event.role.value in HEAD_ROLES
                        else None
                    )
                    if clash is not None:
                        fail(
                            "start_date",
                            event.start_date,
                            f"overlaps the tenure of {clash.leader_name} as {clash.role} from {clash.start_date}"
                            f"{' (no end recorded)' if clash.end_date is None else ' to ' + str(clash.end_date)}:"
                            " record their departure first",
                        )
                    else:
                        tenures[event.tenure_id] = TenureState(
                            event.unit_code, event.leader_id, event.leader_name, event.role.value,
                            event.start_date, None,
                        )  # fmt: skip
            case LeaderLeft():
                tenure = tenures.get(event.tenure_id)
                if tenure is None or tenure.unit_code != event.unit_code:
                    fail("tenure_id", event.tenure_id, f"no such tenure in {event.unit_code}")
                elif tenure.end_date is not None:
                    fail("tenure_id", event.tenure_id, f"already ended on {tenure.end_date}")
                elif event.end_date < tenure.start_date:
                    fail("end_date", event.end_date, f"before the tenure started ({tenure.start_date})")
                else:
                    tenure.end_date = event.end_date
            case TargetSet() | TargetAdjusted():
                require_unit(event.unit_code, None if event.decision_date is None else event.decision_date)
                if isinstance(event, TargetAdjusted) and event.late_supplement > event.amount:
                    fail("late_supplement", event.late_supplement, "larger than the adjusted target")
            case UnitMilestonesSet():
                require_unit(event.unit_code, event.decision_date)
            case ConfidenceVoteRecorded():
                if require_unit(event.unit_code, event.vote_date) and not any(
                    t.unit_code == event.unit_code and t.leader_id == event.leader_id for t in tenures.values()
                ):
                    fail("leader_id", event.leader_id, f"holds no recorded post in {event.unit_code}")
            case CategoryDeclared():
                pass  # a code of the right shape (the model checks it); declaring one twice changes nothing
            case _:
                fail("type", type(event).__name__, "not a registry or target fact")
    return errors


async def remember_state(
    conn: asyncpg.Connection, units: dict[str, UnitState], tenures: dict[str, TenureState]
) -> None:
    await conn.executemany(
        "INSERT INTO ingest_units (unit_code, parent_code, merged_into, merged_on, exists_from)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (unit_code) DO UPDATE SET parent_code = $2, merged_into = $3,"
        " merged_on = $4, exists_from = $5",
        [(code, u.parent_code, u.merged_into, u.merged_on, u.exists_from) for code, u in units.items()],
    )
    await conn.executemany(
        "INSERT INTO ingest_tenures (tenure_id, unit_code, leader_id, leader_name, role, start_date, end_date)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenure_id) DO UPDATE SET end_date = $7",
        [
            (tid, t.unit_code, t.leader_id, t.leader_name, t.role, t.start_date, t.end_date)
            for tid, t in tenures.items()
        ],
    )
