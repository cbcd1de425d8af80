"""Writes the facts ledger events carry into the projector's fact tables (units, mergers, tenures,
targets, figures, votes), and says what they touched.

Every write is idempotent and order-independent: fact rows carry the position of the event that wrote
them and a later position wins, so redelivered or reordered events leave the same tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.projector.fact_rows import FactRows
from services.projector.touched import ProgressKey, Touched
from shared.bus import decode_recorded
from shared.event_store import recorded_event
from shared.events import (
    FigureLine,
    RecordedEvent,
    figure_event_types,
    figure_schema_version,
)


async def write_facts(conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> Touched:
    """Write the facts `events` carry (idempotently, order-independently); say what they touched."""
    rows = FactRows.of(events)
    for table, statement in _UPSERTS:
        if values := getattr(rows, table):
            await conn.executemany(statement, values)
    if rows.figures:
        # Figures are most of the ledger: COPY them in, then keep the ones not already there.
        await conn.execute("CREATE TEMP TABLE IF NOT EXISTS incoming_figures (LIKE figures) ON COMMIT DELETE ROWS")
        await conn.copy_records_to_table("incoming_figures", records=rows.figures, columns=_FIGURE_COLUMNS)
        await conn.execute("INSERT INTO figures SELECT * FROM incoming_figures ON CONFLICT (position) DO NOTHING")
    return rows.touched


# The latest decision per unit, indicator, year and who assigned the plan (a later position wins).
_UPSERT_TARGET = """
INSERT INTO targets AS t (unit_code, indicator, plan_year, amount, late_supplement, decision_number, decision_date,
                          decision_authority, position, assigned_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (unit_code, indicator, plan_year, assigned_by) DO UPDATE SET amount = $4, late_supplement = $5,
    decision_number = $6, decision_date = $7, decision_authority = $8, position = $9
WHERE t.position < $9
"""
_ALERT_STEP_COLUMNS = (
    "position", "fingerprint", "event_type", "data_date", "known_on", "unit_code", "indicator", "plan_year", "rule",
    "severity", "summary", "committee", "responsible_leader_id", "responsible_leader_name",
)  # fmt: skip


_INSERT_ALERT_STEP = (
    f"INSERT INTO alert_timeline ({', '.join(_ALERT_STEP_COLUMNS)})"
    f" VALUES ({', '.join(f'${n}' for n in range(1, len(_ALERT_STEP_COLUMNS) + 1))}) ON CONFLICT (position) DO NOTHING"
)


_REVIEW_STEP_COLUMNS = (
    "position", "fingerprint", "event_type", "on_date", "known_on", "unit_code", "leader_id", "leader_name", "by_whom",
    "due", "causes", "body", "document", "commitments", "indicator", "kept", "reached", "outcome",
)  # fmt: skip
_INSERT_REVIEW_STEP = (
    f"INSERT INTO review_timeline ({', '.join(_REVIEW_STEP_COLUMNS)})"
    f" VALUES ({', '.join(f'${n}' for n in range(1, len(_REVIEW_STEP_COLUMNS) + 1))}) ON CONFLICT (position) DO NOTHING"
)


# Each fact table's statement, by the `FactRows` attribute that holds its rows, in the order they run (the
# units before what names them). A later position wins an upsert; a row already there is kept.
_UPSERTS = (
    ("units", "INSERT INTO units AS u (unit_code, name, level, parent_code, committee, position)"
     " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (unit_code) DO UPDATE SET"
     " name = $2, level = $3, parent_code = $4, committee = $5, position = $6 WHERE u.position < $6"),
    ("versions", "INSERT INTO unit_versions (position, unit_code, effective_from, recorded_on, name, level,"
     " parent_code, committee) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (position) DO NOTHING"),
    ("mergers", "INSERT INTO unit_mergers AS m (predecessor_code, successor_code, effective_date, position,"
     " successor_reports) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (predecessor_code) DO UPDATE SET"
     " successor_code = $2, effective_date = $3, position = $4, successor_reports = $5 WHERE m.position < $4"),
    ("appointments", "INSERT INTO tenures AS t (tenure_id, unit_code, leader_id, leader_name, role, indicator,"
     " start_date, appointed_position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
     " ON CONFLICT (tenure_id) DO UPDATE SET unit_code = $2, leader_id = $3, leader_name = $4,"
     " role = $5, indicator = $6, start_date = $7, appointed_position = $8"
     " WHERE t.appointed_position IS NULL OR t.appointed_position < $8"),
    ("departures", "INSERT INTO tenures AS t (tenure_id, unit_code, end_date, left_position) VALUES ($1, $2, $3, $4)"
     " ON CONFLICT (tenure_id) DO UPDATE SET end_date = $3, left_position = $4"
     " WHERE t.left_position IS NULL OR t.left_position < $4"),
    ("targets", _UPSERT_TARGET),
    ("target_history", "INSERT INTO target_history (position, unit_code, indicator, plan_year, amount,"
     " late_supplement, known_on, in_force_from, assigned_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
     " ON CONFLICT (position) DO NOTHING"),
    ("votes", "INSERT INTO confidence_votes (position, unit_code, leader_id, vote_date, voters, high, confidence,"
     " low, band) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (position) DO NOTHING"),
    ("dissolutions", "INSERT INTO unit_dissolutions AS d (unit_code, effective_date, position) VALUES ($1, $2, $3)"
     " ON CONFLICT (unit_code) DO UPDATE SET effective_date = $2, position = $3 WHERE d.position < $3"),
    ("handovers", "INSERT INTO unit_handovers (position, unit_code, receiver_code, indicator, plan_year,"
     " effective_date, plan, year_to_date, receivers_report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
     " ON CONFLICT DO NOTHING"),
    ("milestones", "INSERT INTO unit_milestones (position, unit_code, indicator, plan_year, decision_number,"
     " decision_date, milestones) VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb) ON CONFLICT (position) DO NOTHING"),
    ("alert_steps", _INSERT_ALERT_STEP),
    ("review_steps", _INSERT_REVIEW_STEP),
)  # fmt: skip


def _insert_figures(events: str, version: int) -> str:
    """The figures among `events` (a relation of position, event_type, schema_version, payload,
    recorded_at), written straight from their JSON payloads by one statement: the same columns `write_facts`
    writes from decoded events (tests hold the two to the same tables). $1, $2: `figure_event_types()`;
    $`version`: `figure_schema_version()`, the only shape this SQL reads (a figure stored at another version
    goes through the models with the other events)."""
    return f"""
INSERT INTO figures AS f (position, unit_code, indicator, plan_year, category, project_code, as_of, amount_kind,
                          amount, correction_reason, known_on)
SELECT e.position, e.payload->>'unit_code',
       coalesce(e.payload->>'indicator', k.indicator), (e.payload->>'plan_year')::int, e.payload->>'category',
       coalesce(e.payload->>'project_code', ''), (e.payload->>'as_of')::date, e.payload->>'amount_kind',
       (e.payload->>'amount')::numeric, e.payload->>'reason',
       coalesce((e.payload->>'document_date')::date, (e.recorded_at AT TIME ZONE 'UTC')::date)
FROM {events} e
JOIN unnest($1::text[], $2::text[]) AS k(event_type, indicator) USING (event_type)
WHERE e.schema_version = ${version}
"""


# The rebuild's bulk of the ledger: the figures of the stored events up to position $3.
_FIGURES_FROM_STORE = _insert_figures(
    "(SELECT position, event_type, schema_version, payload, recorded_at FROM public.events WHERE position <= $3)", 4
)
# The live projector's: the figures of a batch of ledger messages (`incoming_messages`), with the keys
# they changed and the earliest date of each. A figure already written (a redelivery) changes nothing.
_INCOMING_EVENTS = """(
    SELECT (message->>'position')::bigint AS position, message->>'event_type' AS event_type,
           (message->>'schema_version')::int AS schema_version, message->'payload' AS payload,
           (message->>'recorded_at')::timestamptz AS recorded_at
    FROM incoming_messages
)"""
_FIGURES_FROM_MESSAGES = f"""
WITH written AS ({_insert_figures(_INCOMING_EVENTS, 3)} ON CONFLICT (position) DO NOTHING
    RETURNING f.unit_code, f.indicator, f.plan_year, f.as_of, f.known_on
)
SELECT unit_code, indicator, plan_year, min(as_of) AS since, min(known_on) AS known, max(known_on) AS known_last
FROM written GROUP BY 1, 2, 3
"""


# The catch-up's: the figures of the stored events in a range of positions ($3, $4], as the live
# projector writes them from messages.
_FIGURES_FROM_STORE_RANGE = f"""
WITH written AS ({
    _insert_figures(
        "(SELECT position, event_type, schema_version, payload, recorded_at FROM public.events"
        " WHERE position > $3 AND position <= $4)",
        5,
    )
} ON CONFLICT (position) DO NOTHING
    RETURNING f.unit_code, f.indicator, f.plan_year, f.as_of, f.known_on
)
SELECT unit_code, indicator, plan_year, min(as_of) AS since, min(known_on) AS known, max(known_on) AS known_last
FROM written GROUP BY 1, 2, 3
"""


def _touched_by_figures(rows: Sequence[asyncpg.Record]) -> Touched:
    touched = Touched()
    for r in rows:
        key = ProgressKey(r["unit_code"], r["indicator"], r["plan_year"])
        touched.touch(key, r["since"])
        touched.know(key, r["known"])
        touched.saw_known(r["known"], r["known_last"])
    return touched


async def write_store_range(conn: asyncpg.Connection, after: int, up_to: int) -> Touched:
    """Write the facts of the stored events at positions in (`after`, `up_to`], as `write_ledger_messages`
    writes them from the ledger (the figures set-based, the rest through `write_facts`); say what they
    touched. Events already written change nothing."""
    types, indicators = figure_event_types()
    version = figure_schema_version()
    touched = _touched_by_figures(await conn.fetch(_FIGURES_FROM_STORE_RANGE, types, indicators, after, up_to, version))
    others = await conn.fetch(
        "SELECT * FROM public.events WHERE position > $1 AND position <= $2"
        " AND NOT (event_type = ANY($3::text[]) AND schema_version = $4) ORDER BY position",
        after, up_to, types, version,
    )  # fmt: skip
    touched.update(await write_facts(conn, [recorded_event(r) for r in others]))
    return touched


async def write_ledger_messages(conn: asyncpg.Connection, messages: Sequence[bytes]) -> Touched:
    """Write the facts of ledger messages (`RecordedEvent` JSON); say what they touched. Figures, most
    of the ledger, go from the JSON to their table in PostgreSQL, set-based (decoding them in Python
    cost more than the rest of their writing); the other events are decoded and written by `write_facts`.
    Call inside a transaction: the messages' table empties at its commit."""
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS incoming_messages (message jsonb NOT NULL) ON COMMIT DELETE ROWS"
    )
    await conn.execute(
        "INSERT INTO incoming_messages SELECT m::jsonb FROM unnest($1::text[]) AS m", [m.decode() for m in messages]
    )
    types, indicators = figure_event_types()
    version = figure_schema_version()
    touched = _touched_by_figures(await conn.fetch(_FIGURES_FROM_MESSAGES, types, indicators, version))
    others = await conn.fetch(  # the other events, and a figure at another version: through the models
        "SELECT message::text FROM incoming_messages"
        " WHERE NOT (message->>'event_type' = ANY($1::text[]) AND (message->>'schema_version')::int = $2)"
        " ORDER BY (message->>'position')::bigint",
        types, version,
    )  # fmt: skip
    touched.update(await write_facts(conn, [decode_recorded(r["message"]) for r in others]))
    return touched


async def copy_figures_from_store(conn: asyncpg.Connection, up_to: int) -> Touched:
    """Write the figures of every stored event up to position `up_to` into an empty `figures` table; say
    which keys they touched."""
    await conn.execute(_FIGURES_FROM_STORE, *figure_event_types(), up_to, figure_schema_version())
    touched = Touched()
    for r in await conn.fetch("SELECT DISTINCT unit_code, indicator, plan_year FROM figures"):
        touched.touch(ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]))
        touched.know(ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]))
    span = await conn.fetchrow("SELECT min(known_on) AS first, max(known_on) AS last FROM figures")
    if span["first"] is not None:
        touched.saw_known(span["first"], span["last"])
    return touched


_FIGURE_COLUMNS = ("position", *FigureLine._fields[:-1], "known_on")
