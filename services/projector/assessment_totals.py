"""The assessment groups in PostgreSQL: the groups and their members from the groups file and the registry,
and each group's totals per date. Standing and rank are derived from the totals by views (migration 0010),
so a member's report rewrites its own rows and its groups' totals, never the other members' rows."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import astuple, fields

import asyncpg

from services.projector.assessment import (
    AssessmentConfig,
    Membership,
    Unit,
    UnitVersion,
    dated_groups_and_members,
    versions_in_force,
)
from services.projector.touched import EVER, ProgressKey
from shared.events import Indicator, plan_window

log = logging.getLogger(__name__)
MEMBER_COLUMNS = tuple(f.name for f in fields(Membership))


async def regroup(conn: asyncpg.Connection, config: AssessmentConfig, leaving: Iterable[str] = ()) -> set[str]:
    """Write the groups of `config` and their dated members from the registry's history; return the groups
    whose totals must be recomputed in full: those with a new configuration or membership, and those of
    the `leaving` units (merged away: they leave on the merger date)."""
    reconfigured = not await config_is_current(conn, config)
    versions = [
        UnitVersion(Unit(r["unit_code"], r["name"], r["level"], r["parent_code"]), r["position"],
                    r["effective_from"], r["recorded_on"])
        for r in await conn.fetch("SELECT * FROM unit_versions")
    ]  # fmt: skip
    groups, members = dated_groups_and_members(config, versions)
    in_force = versions_in_force(versions)
    await conn.execute(
        "UPDATE unit_versions v SET in_force_from = f.since FROM unnest($1::bigint[], $2::date[]) AS f(position, since)"
        " WHERE v.position = f.position AND v.in_force_from IS DISTINCT FROM f.since",
        list(in_force),
        list(in_force.values()),
    )
    listed = {code for group in config.groups for code in group.units} - {v.unit.unit_code for v in versions}
    if listed:  # a group names units the registry does not hold (yet): say so rather than ignore it
        log.warning("assessment groups name unregistered units, left out until registered: %s", sorted(listed))
    before = {tuple(r) for r in await conn.fetch(f"SELECT {', '.join(MEMBER_COLUMNS)} FROM assessment_members")}
    after = {astuple(m) for m in members}
    stored_groups = {
        (r["group_id"], r["name"]) for r in await conn.fetch("SELECT group_id, name FROM assessment_groups")
    }
    old_groups = {group_id for group_id, _ in stored_groups}
    new_groups = {g.group_id for g in groups}
    changed = {row[0] for row in before ^ after} | (old_groups ^ new_groups)
    # A province renamed renames its group: the rows are rewritten, the totals stay.
    if reconfigured or stored_groups != {(g.group_id, g.name) for g in groups}:
        await conn.execute("DELETE FROM assessment_groups")
        await conn.execute("DELETE FROM assessment_lists")
        await conn.executemany(
            "INSERT INTO assessment_groups (group_id, name, indicators, basis, late_supplement, ordinal,"
            " plan_assigned_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                (g.group_id, g.name, list(g.indicators), g.basis, g.late_supplement, g.ordinal, g.plan_assigned_by)
                for g in groups
            ],
        )
        await conn.executemany(
            "INSERT INTO assessment_lists (group_id, list_id, name, levels, ordinal) VALUES ($1, $2, $3, $4, $5)",
            [(g.group_id, lid, name, list(levels), n) for g in groups for n, (lid, name, levels) in enumerate(g.lists)],
        )
        await conn.execute(
            "INSERT INTO assessment_config (config) VALUES ($1::text::jsonb)"
            " ON CONFLICT (singleton) DO UPDATE SET config = excluded.config",
            config.model_dump_json(),
        )
        if reconfigured:
            changed |= new_groups
    if before != after:
        await conn.execute("DELETE FROM assessment_members")
        await conn.copy_records_to_table("assessment_members", records=sorted(after), columns=MEMBER_COLUMNS)
    await conn.execute("DELETE FROM assessment_totals WHERE group_id <> ALL($1::text[])", sorted(new_groups))
    leaving = sorted(set(leaving))
    if leaving:
        changed |= {
            r["group_id"]
            for r in await conn.fetch(
                "SELECT group_id FROM assessment_members WHERE unit_code = ANY($1::text[])", leaving
            )
        }
    return changed & new_groups


async def config_is_current(conn: asyncpg.Connection, config: AssessmentConfig) -> bool:
    stored = await conn.fetchval("SELECT config::text FROM assessment_config")
    return stored is not None and AssessmentConfig.model_validate_json(stored) == config


# The dates of each group's lists for an indicator and plan year ($1…$3) from date $4 on: every date a
# member's row changed, and every date a unit joined or left the group within the plan's window (after its
# first day, ending $5) once the group has a row that year. (Most memberships run from always: nothing to
# look up for them.)
_LIST_DATES = """
WITH w AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::date[], $5::date[])
        AS w(group_id, indicator, plan_year, since, window_end)
)
INSERT INTO assessment_totals (group_id, indicator, plan_year, as_of)
SELECT w.group_id, w.indicator, w.plan_year, r.as_of FROM w
JOIN assessment_members m USING (group_id)
JOIN assessment_rows r ON (r.unit_code, r.indicator, r.plan_year) = (m.unit_code, w.indicator, w.plan_year)
WHERE r.as_of >= w.since
UNION
SELECT w.group_id, w.indicator, w.plan_year, c.day FROM w
JOIN assessment_members m USING (group_id)
CROSS JOIN LATERAL (VALUES (m.member_from), (m.member_until)) AS c(day)
WHERE c.day > make_date(w.plan_year, 1, 1) AND c.day >= w.since AND c.day <= w.window_end AND EXISTS (
    SELECT FROM assessment_members o JOIN assessment_rows r USING (unit_code)
    WHERE o.group_id = w.group_id AND (r.indicator, r.plan_year) = (w.indicator, w.plan_year) AND r.as_of < c.day)
"""

# The totals of each group, indicator and plan year ($1…$3) from date $4 on, from its members' states.
_FILL_TOTALS = """
WITH w AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::date[]) AS w(group_id, indicator, plan_year, since)
)
UPDATE assessment_totals t SET members = a.members, assessed = a.assessed, no_report = a.no_report,
    not_assessed = a.members - a.assessed, total_basis = a.total_basis, total_actual = a.total_actual,
    average = a.total_actual / nullif(a.total_basis, 0)
FROM (
    SELECT s.group_id, s.indicator, s.plan_year, s.as_of, count(*) AS members, count(s.basis) AS assessed,
           count(*) FILTER (WHERE s.basis IS NOT NULL AND NOT s.reported) AS no_report,
           sum(s.basis) AS total_basis, sum(s.actual) FILTER (WHERE s.basis IS NOT NULL) AS total_actual
    FROM w JOIN assessment_states s USING (group_id, indicator, plan_year)
    WHERE s.as_of >= w.since
    GROUP BY 1, 2, 3, 4
) a
WHERE (t.group_id, t.indicator, t.plan_year, t.as_of) = (a.group_id, a.indicator, a.plan_year, a.as_of)
"""


async def recompute_totals(
    conn: asyncpg.Connection, since: Mapping[ProgressKey, dt.date], regrouped: set[str]
) -> set[ProgressKey]:
    """Recompute the totals of the groups of the units of `since` from the earliest date a member's rows
    changed on (every date of every indicator and year for the `regrouped` groups). Returns the keys whose
    current standing may have moved: members whose latest report is on or after a date whose totals were
    recomputed (a peer's report moves a unit's standing without any fact of its own)."""
    starts: dict[tuple[str, str, int], dt.date] = {}
    if since:
        keys = sorted(since)
        for r in await conn.fetch(
            "SELECT m.group_id, k.indicator, k.plan_year, min(k.since) AS since"
            " FROM unnest($1::text[], $2::text[], $3::int[], $4::date[]) AS k(unit_code, indicator, plan_year, since)"
            " JOIN assessment_members m USING (unit_code)"
            " JOIN assessment_groups g ON g.group_id = m.group_id AND k.indicator = ANY (g.indicators)"
            " GROUP BY 1, 2, 3",
            [k.unit_code for k in keys], [k.indicator for k in keys], [k.plan_year for k in keys],
            [since[k] for k in keys],
        ):  # fmt: skip
            starts[(r["group_id"], r["indicator"], r["plan_year"])] = r["since"]
    if regrouped:
        for r in await conn.fetch(
            "SELECT DISTINCT m.group_id, r.indicator, r.plan_year FROM assessment_members m"
            " JOIN assessment_rows r USING (unit_code) WHERE m.group_id = ANY($1::text[])",
            sorted(regrouped),
        ):
            starts[(r["group_id"], r["indicator"], r["plan_year"])] = EVER
        await conn.execute("DELETE FROM assessment_totals WHERE group_id = ANY($1::text[])", sorted(regrouped))
    if not starts:
        return set()
    wanted = sorted(starts)
    arrays = ([w[0] for w in wanted], [w[1] for w in wanted], [w[2] for w in wanted], [starts[w] for w in wanted])
    await conn.execute(
        "DELETE FROM assessment_totals t USING unnest($1::text[], $2::text[], $3::int[], $4::date[])"
        " AS w(group_id, indicator, plan_year, since) WHERE (t.group_id, t.indicator, t.plan_year)"
        " = (w.group_id, w.indicator, w.plan_year) AND t.as_of >= w.since",
        *arrays,
    )
    await conn.execute(_LIST_DATES, *arrays, [plan_window(Indicator(w[1]), w[2])[1] for w in wanted])
    await conn.execute(_FILL_TOTALS, *arrays)
    rows = await conn.fetch(
        "SELECT DISTINCT h.unit_code, h.indicator, h.plan_year"
        " FROM unnest($1::text[], $2::text[], $3::int[], $4::date[]) AS w(group_id, indicator, plan_year, since)"
        " JOIN assessment_members m ON m.group_id = w.group_id AND m.home"
        " CROSS JOIN LATERAL (SELECT * FROM unit_progress_history h WHERE (h.unit_code, h.indicator, h.plan_year,"
        " h.category) = (m.unit_code, w.indicator, w.plan_year, '') ORDER BY h.as_of DESC LIMIT 1) h"
        " WHERE h.as_of >= w.since",
        *arrays,
    )
    return {ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]) for r in rows}
