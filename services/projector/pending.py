"""The projector's record of derived work still to do (table `projector_pending`).

Facts are written batch by batch with the checkpoint; what they touched is recorded in the same
transaction and recomputed later, once for many batches. Taking the record deletes it in the
transaction that does the recompute, so the work is neither lost nor done twice for good.

Batches only append (a key touched by several batches has a row per batch) and a recompute deletes
only what was committed when it began: the projector writes the next batches while it recomputes, and
neither waits for the other.
"""

from __future__ import annotations

import asyncpg

from services.projector.touched import EVER, ProgressKey, Touched

# The stored kind of each set of units a Touched holds ("merged" names the successors: rows kept from
# before the field was renamed still read right).
_UNIT_KINDS = {"registered": "registered", "retenured": "retenured", "merged": "successors"}


async def record(conn: asyncpg.Connection, touched: Touched) -> None:
    rows = [("progress", k.unit_code, k.indicator, k.plan_year, since) for k, since in touched.keys.items()]
    rows += [("known", k.unit_code, k.indicator, k.plan_year, known) for k, known in touched.known.items()]
    if touched.known_span is not None:
        rows += [("known_first", "", "", 0, touched.known_span[0]), ("known_last", "", "", 0, touched.known_span[1])]
    for kind, field in _UNIT_KINDS.items():
        rows += [(kind, unit, "", 0, EVER) for unit in getattr(touched, field)]
    if rows:
        await conn.execute(
            "INSERT INTO projector_pending (kind, unit_code, indicator, plan_year, since)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::date[])",
            *(list(column) for column in zip(*rows, strict=True)),
        )


async def take(conn: asyncpg.Connection) -> Touched:
    """Delete and return everything pending (call inside the transaction that recomputes it), each key
    from the earliest date any of its records names."""
    touched = Touched()
    for r in await conn.fetch("DELETE FROM projector_pending RETURNING kind, unit_code, indicator, plan_year, since"):
        if r["kind"] == "progress":
            touched.touch(ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]), r["since"])
        elif r["kind"] == "known":  # since: the day its newest facts became known
            touched.know(ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]), r["since"])
        elif r["kind"] in ("known_first", "known_last"):  # since: a bound of the days facts became known
            touched.saw_known(r["since"], r["since"])
        else:
            getattr(touched, _UNIT_KINDS[r["kind"]]).add(r["unit_code"])
    return touched
