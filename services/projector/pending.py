"""The projector's record of derived work still to do (table `projector_pending`).

Facts are written batch by batch with the checkpoint; what they touched is recorded in the same
transaction and recomputed later, once for many batches. Taking the record deletes it in the
transaction that does the recompute, so the work is neither lost nor done twice for good.
"""

from __future__ import annotations

import asyncpg

from services.projector.touched import EVER, ProgressKey, Touched

_UNIT_KINDS = ("registered", "retenured", "merged")


async def record(conn: asyncpg.Connection, touched: Touched) -> None:
    rows = [("progress", k.unit_code, k.indicator, k.plan_year, since) for k, since in touched.keys.items()]
    for kind in _UNIT_KINDS:
        rows += [(kind, unit, "", 0, EVER) for unit in getattr(touched, kind)]
    if rows:
        rows.sort()  # one order for every writer: concurrent batches cannot deadlock on these rows
        await conn.execute(
            "INSERT INTO projector_pending AS p (kind, unit_code, indicator, plan_year, since)"
            " SELECT kind, unit_code, indicator, plan_year, since"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::date[])"
            " WITH ORDINALITY AS r(kind, unit_code, indicator, plan_year, since, n) ORDER BY n"
            " ON CONFLICT (kind, unit_code, indicator, plan_year) DO UPDATE SET since = least(p.since, excluded.since)",
            *(list(column) for column in zip(*rows, strict=True)),
        )


async def take(conn: asyncpg.Connection) -> Touched:
    """Delete and return everything pending (call inside the transaction that recomputes it). Rows a
    batch of another projector instance is writing are skipped, not waited for: that batch's instance
    recomputes them, and the two never wait on each other."""
    touched = Touched()
    for r in await conn.fetch(
        "DELETE FROM projector_pending p USING (SELECT kind, unit_code, indicator, plan_year FROM projector_pending"
        " FOR UPDATE SKIP LOCKED) t WHERE (p.kind, p.unit_code, p.indicator, p.plan_year)"
        " = (t.kind, t.unit_code, t.indicator, t.plan_year) RETURNING p.kind, p.unit_code, p.indicator, p.plan_year,"
        " p.since"
    ):
        if r["kind"] == "progress":
            touched.touch(ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]), r["since"])
        else:
            getattr(touched, r["kind"]).add(r["unit_code"])
    return touched
