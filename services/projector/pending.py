"""The projector's record of derived work still to do (table `projector_pending`).

Facts are written batch by batch with the checkpoint; what they touched is recorded in the same
transaction and recomputed later, once for many batches. Taking the record deletes it in the
transaction that does the recompute, so the work is neither lost nor done twice for good.
"""

from __future__ import annotations

import asyncpg

from services.projector.projection import ProgressKey, Touched

_UNIT_KINDS = ("registered", "retenured", "merged")


async def record(conn: asyncpg.Connection, touched: Touched) -> None:
    rows = [("progress", k.unit_code, k.indicator, k.plan_year) for k in touched.keys]
    for kind in _UNIT_KINDS:
        rows += [(kind, unit, "", 0) for unit in getattr(touched, kind)]
    if rows:
        await conn.executemany(
            "INSERT INTO projector_pending (kind, unit_code, indicator, plan_year) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING",
            rows,
        )


async def take(conn: asyncpg.Connection) -> Touched:
    """Delete and return everything pending (call inside the transaction that recomputes it)."""
    touched = Touched()
    for r in await conn.fetch("DELETE FROM projector_pending RETURNING kind, unit_code, indicator, plan_year"):
        if r["kind"] == "progress":
            touched.keys.add(ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]))
        else:
            getattr(touched, r["kind"]).add(r["unit_code"])
    return touched
