"""Leader-accountability rows: each plan year split among the heads (and the deputies in charge) in
post, from the unit's progress history and tenures."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

import asyncpg

from services.projector.accountability import ProgressPoint, attribute
from services.projector.touched import ProgressKey, key_columns
from shared.db import copy_rows_as_csv
from shared.events import Indicator, Role, plan_window
from shared.responsibility import Tenure

_ACCOUNTABILITY_COLUMNS = (
    "unit_code", "indicator", "plan_year", "answerable_as", "stint_start", "stint_end", "leader_id", "leader_name",
    "role", "tenure_id", "tenure_start", "tenure_end", "rate_at_start", "rate_at_end", "gap_at_start", "gap_at_end",
    "gap_arisen", "months_behind",
)  # fmt: skip


async def recompute_accountability(
    conn: asyncpg.Connection, keys: Iterable[ProgressKey], as_of: dt.date | None = None
) -> None:
    """Rewrite the stints of `keys`: heads and deputies in charge, over each plan year's period — or, with
    `as_of`, over its part up to that date from the progress known by then (a board pack as of a date)."""
    keys = sorted(set(keys))
    if not keys:
        return
    units = sorted({k.unit_code for k in keys})
    tenure_rows = await conn.fetch(
        "SELECT * FROM tenures WHERE unit_code = ANY($1::text[]) AND start_date IS NOT NULL AND role IS NOT NULL",
        units,
    )
    history = await conn.fetch(  # the keys' own rows only (not their units' other years), by the index
        "SELECT h.unit_code, h.indicator, h.plan_year, h.as_of, h.rate, h.expected_pace, h.status"
        " FROM unnest($1::text[], $2::text[], $3::int[]) AS k(unit_code, indicator, plan_year)"
        " CROSS JOIN LATERAL (SELECT * FROM unit_progress_history h WHERE (h.unit_code, h.indicator, h.plan_year,"
        " h.category) = (k.unit_code, k.indicator, k.plan_year, '') AND ($4::date IS NULL OR h.as_of <= $4)"
        " OFFSET 0) h ORDER BY h.as_of",
        *key_columns(keys), as_of,
    )  # fmt: skip
    points_of: dict[ProgressKey, list[ProgressPoint]] = defaultdict(list)
    for r in history:
        key = ProgressKey(r["unit_code"], r["indicator"], r["plan_year"])
        points_of[key].append(ProgressPoint(r["as_of"], r["rate"], r["expected_pace"], r["status"]))
    tenures_of: dict[str, list[Tenure]] = defaultdict(list)
    for r in tenure_rows:
        tenures_of[r["unit_code"]].append(
            Tenure(r["leader_id"], r["leader_name"], Role(r["role"]), r["indicator"], r["start_date"], r["end_date"],
                   r["tenure_id"])
        )  # fmt: skip
    records = []
    for key in keys:
        points = points_of[key]
        tenures = tenures_of[key.unit_code]
        start, end = plan_window(Indicator(key.indicator), key.plan_year)
        end = end if as_of is None else min(end, as_of)
        deputies = [t for t in tenures if t.indicator == key.indicator]
        for answerable_as, candidates, roles in (
            ("head", tenures, (Role.HEAD, Role.ACTING_HEAD)),
            ("deputy_in_charge", deputies, (Role.DEPUTY_IN_CHARGE,)),
        ):
            for stint in attribute(candidates, points, start, end, roles):
                tenure = stint.tenure
                records.append(
                    (
                        key.unit_code, key.indicator, key.plan_year, answerable_as, stint.start, stint.end,
                        tenure.leader_id if tenure else None, tenure.leader_name if tenure else None,
                        tenure.role.value if tenure else None, tenure.tenure_id if tenure else None,
                        tenure.start_date if tenure else None, tenure.end_date if tenure else None,
                        stint.rate_at_start, stint.rate_at_end, stint.gap_at_start, stint.gap_at_end,
                        stint.gap_arisen, stint.months_behind,
                    )
                )  # fmt: skip
    await conn.execute(
        "DELETE FROM leader_accountability a USING unnest($1::text[], $2::text[], $3::int[]) AS k(u, i, y)"
        " WHERE (a.unit_code, a.indicator, a.plan_year) = (k.u, k.i, k.y)",
        *key_columns(keys),
    )
    await copy_rows_as_csv(conn, "leader_accountability", _ACCOUNTABILITY_COLUMNS, records)
