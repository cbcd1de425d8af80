"""The assessment groups in PostgreSQL: the groups and their members from the groups file and the registry,
and each group's totals per date. Standing and rank are derived from the totals by views (migration 0010),
so a member's report rewrites its own rows and its groups' totals, never the other members' rows."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, field, fields

import asyncpg

from services.projector.assessment import (
    AssessmentConfig,
    Membership,
    Unit,
    UnitVersion,
    dated_groups_and_members,
    versions_in_force,
)
from services.projector.touched import EVER, ProgressKey, key_columns
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

# A list's totals from its members' states `s` (the view `assessment_states`), grouped by list and date.
_SUMS = """count(*) AS members, count(s.basis) AS assessed,
    count(*) FILTER (WHERE s.basis IS NOT NULL AND NOT s.reported) AS no_report,
    sum(s.basis) AS total_basis, sum(s.actual) FILTER (WHERE s.basis IS NOT NULL) AS total_actual"""

# The totals of each group, indicator and plan year ($1…$3) on its dates from $4 to $5, from every member's
# state.
_FILL_TOTALS = f"""
WITH w AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::date[], $5::date[])
        AS w(group_id, indicator, plan_year, since, until)
)
UPDATE assessment_totals t SET members = a.members, assessed = a.assessed, no_report = a.no_report,
    not_assessed = a.members - a.assessed, total_basis = a.total_basis, total_actual = a.total_actual,
    average = a.total_actual / nullif(a.total_basis, 0)
FROM (
    SELECT s.group_id, s.indicator, s.plan_year, s.as_of, {_SUMS}
    FROM w JOIN assessment_states s USING (group_id, indicator, plan_year)
    WHERE s.as_of BETWEEN w.since AND w.until
    GROUP BY 1, 2, 3, 4
) a
WHERE (t.group_id, t.indicator, t.plan_year, t.as_of) = (a.group_id, a.indicator, a.plan_year, a.as_of)
"""

# The part the touched members ($5…$7: unit, indicator, plan year) bring to the totals of each group,
# indicator and plan year ($1…$3) on its dates from $4 on: their states only.
_TOUCHED_SHARES = f"""
WITH w AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::date[]) AS w(group_id, indicator, plan_year, since)
),
k AS (SELECT * FROM unnest($5::text[], $6::text[], $7::int[]) AS k(unit_code, indicator, plan_year))
SELECT s.group_id, s.indicator, s.plan_year, s.as_of, {_SUMS}
FROM w JOIN assessment_states s USING (group_id, indicator, plan_year)
JOIN k USING (unit_code, indicator, plan_year)
WHERE s.as_of >= w.since
GROUP BY 1, 2, 3, 4
"""
_SHARE_COLUMNS = ("group_id", "indicator", "plan_year", "as_of", "members", "assessed", "no_report", "total_basis",
                  "total_actual")  # fmt: skip

# The totals on the dates they are already kept for, corrected by the touched members' change: their
# shares after ($1…$7, as `_TOUCHED_SHARES`) less their shares before ($8…$16, the sums as text, so the
# scale a sum was written with comes back as it was). A sum keeps the largest scale of its terms, so the
# corrected sum has the scale a sum over every member would have unless the terms that gave the old sum its
# scale were all the touched members': those dates (`exact` false) are left as they were, to be summed
# again over every member. Returns every date it looked at and whether it was corrected.
_CORRECT_TOTALS = f"""
WITH after AS ({_TOUCHED_SHARES}),
before AS (
    SELECT * FROM unnest($8::text[], $9::text[], $10::int[], $11::date[], $12::bigint[], $13::bigint[], $14::bigint[],
                         $15::text[], $16::text[])
        AS b(group_id, indicator, plan_year, as_of, members, assessed, no_report, total_basis, total_actual)
),
change AS (
    SELECT group_id, indicator, plan_year, as_of, sum(members) AS members, sum(assessed) AS assessed,
           sum(no_report) AS no_report, sum(total_basis) AS total_basis, sum(total_actual) AS total_actual,
           max(scale(total_basis)) FILTER (WHERE side = 'before') AS basis_scale_before,
           max(scale(total_actual)) FILTER (WHERE side = 'before') AS actual_scale_before
    FROM (
        SELECT *, 'after' AS side FROM after
        UNION ALL
        SELECT group_id, indicator, plan_year, as_of, -members, -assessed, -no_report, -total_basis::numeric,
               -total_actual::numeric, 'before' FROM before
    ) c
    GROUP BY 1, 2, 3, 4
),
judged AS (
    SELECT c.*, (c.basis_scale_before IS NULL OR t.total_basis IS NULL OR scale(t.total_basis) = 0
                 OR c.basis_scale_before < scale(t.total_basis))
            AND (c.actual_scale_before IS NULL OR t.total_actual IS NULL OR scale(t.total_actual) = 0
                 OR c.actual_scale_before < scale(t.total_actual)) AS exact
    FROM change c JOIN assessment_totals t USING (group_id, indicator, plan_year, as_of)
),
corrected AS (
    SELECT j.group_id, j.indicator, j.plan_year, j.as_of, t.members + j.members AS members,
           t.assessed + j.assessed AS assessed, t.no_report + j.no_report AS no_report,
           CASE WHEN t.assessed + j.assessed > 0 THEN coalesce(t.total_basis, 0) + coalesce(j.total_basis, 0) END
               AS total_basis,
           CASE WHEN t.assessed + j.assessed > 0 THEN coalesce(t.total_actual, 0) + coalesce(j.total_actual, 0) END
               AS total_actual
    FROM judged j JOIN assessment_totals t USING (group_id, indicator, plan_year, as_of)
    WHERE j.exact
),
written AS (
    UPDATE assessment_totals t SET members = a.members, assessed = a.assessed, no_report = a.no_report,
        not_assessed = a.members - a.assessed, total_basis = a.total_basis, total_actual = a.total_actual,
        average = a.total_actual / nullif(a.total_basis, 0)
    FROM corrected a
    WHERE (t.group_id, t.indicator, t.plan_year, t.as_of) = (a.group_id, a.indicator, a.plan_year, a.as_of)
)
SELECT group_id, indicator, plan_year, as_of, exact FROM judged
"""

ListKey = tuple[str, str, int]  # a group's lists for an indicator and plan year
UNTIL_THE_END = dt.date.max


@dataclass(frozen=True)
class SharesBefore:
    """The part touched members brought to their groups' totals before their rows were recomputed, for the
    lists where they are few (fewer than half the members, none merged away or dissolved, the group not
    regrouped): those lists' totals are corrected by the members' change instead of summed again over every
    member. A national group holds every unit: summing it again on each report made every recompute cost
    the whole registry."""

    since: dict[ListKey, dt.date] = field(default_factory=dict)
    rows: list[asyncpg.Record] = field(default_factory=list)


async def shares_before(
    conn: asyncpg.Connection, since: Mapping[ProgressKey, dt.date], regrouped: set[str]
) -> SharesBefore:
    """What the members `since` touches bring to the lists a correction will do for, taken before their rows
    change. Call after regrouping and before `recompute_progress`; give the result to `recompute_totals`."""
    starts = {
        key: start
        for key, (start, touched, members, gone) in (await _starts(conn, since)).items()
        if not gone and 2 * touched < members and key[0] not in regrouped
    }
    if not starts:
        return SharesBefore()
    rows = await conn.fetch(
        f"SELECT group_id, indicator, plan_year, as_of, members, assessed, no_report, total_basis::text,"
        f" total_actual::text FROM ({_TOUCHED_SHARES}) s",
        *_window_columns(starts), *key_columns(sorted(since)),
    )  # fmt: skip
    return SharesBefore(starts, rows)


async def _starts(
    conn: asyncpg.Connection, since: Mapping[ProgressKey, dt.date]
) -> dict[ListKey, tuple[dt.date, int, int, bool]]:
    """The lists `since`'s members are in, each with the earliest date a member's rows changed on, how many
    members were touched and how many the group has, and whether one of them was merged away or dissolved."""
    if not since:
        return {}
    keys = sorted(since)
    rows = await conn.fetch(
        "SELECT m.group_id, k.indicator, k.plan_year, min(k.since) AS since, count(DISTINCT k.unit_code) AS touched,"
        " (SELECT count(DISTINCT a.unit_code) FROM assessment_members a WHERE a.group_id = m.group_id) AS members,"
        " bool_or(EXISTS (SELECT FROM unit_mergers g WHERE g.predecessor_code = k.unit_code)"
        "         OR EXISTS (SELECT FROM unit_dissolutions d WHERE d.unit_code = k.unit_code)) AS gone"
        " FROM unnest($1::text[], $2::text[], $3::int[], $4::date[]) AS k(unit_code, indicator, plan_year, since)"
        " JOIN assessment_members m USING (unit_code)"
        " JOIN assessment_groups g ON g.group_id = m.group_id AND k.indicator = ANY (g.indicators)"
        " GROUP BY 1, 2, 3",
        *key_columns(keys), [since[k] for k in keys],
    )  # fmt: skip
    return {
        (r["group_id"], r["indicator"], r["plan_year"]): (r["since"], r["touched"], r["members"], r["gone"])
        for r in rows
    }


def _window_columns(windows: Mapping[ListKey, dt.date]) -> tuple[list[str], list[str], list[int], list[dt.date]]:
    wanted = sorted(windows)
    return [w[0] for w in wanted], [w[1] for w in wanted], [w[2] for w in wanted], [windows[w] for w in wanted]


async def recompute_totals(
    conn: asyncpg.Connection,
    since: Mapping[ProgressKey, dt.date],
    regrouped: set[str],
    before: SharesBefore | None = None,
) -> set[ProgressKey]:
    """Recompute the totals of the groups of the units of `since` from the earliest date a member's rows
    changed on (every date of every indicator and year for the `regrouped` groups): the lists `before`
    holds by correcting them, the others by summing every member again. Returns the keys whose current
    standing may have moved: members whose latest report is on or after a date whose totals were recomputed
    (a peer's report moves a unit's standing without any fact of its own)."""
    before = before or SharesBefore()
    starts = {key: start for key, (start, *_) in (await _starts(conn, since)).items()}
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
    corrected = {key: start for key, start in starts.items() if before.since.get(key) == start}
    await _sum_again(conn, {key: start for key, start in starts.items() if key not in corrected})
    await _correct(conn, corrected, sorted(since), before)
    rows = await conn.fetch(
        "SELECT DISTINCT h.unit_code, h.indicator, h.plan_year"
        " FROM unnest($1::text[], $2::text[], $3::int[], $4::date[]) AS w(group_id, indicator, plan_year, since)"
        " JOIN assessment_members m ON m.group_id = w.group_id AND m.home"
        " CROSS JOIN LATERAL (SELECT * FROM unit_progress_history h WHERE (h.unit_code, h.indicator, h.plan_year,"
        " h.category) = (m.unit_code, w.indicator, w.plan_year, '') ORDER BY h.as_of DESC LIMIT 1) h"
        " WHERE h.as_of >= w.since",
        *_window_columns(starts),
    )
    return {ProgressKey(r["unit_code"], r["indicator"], r["plan_year"]) for r in rows}


async def _sum_again(conn: asyncpg.Connection, starts: Mapping[ListKey, dt.date]) -> None:
    """The lists' totals from their start on, summed over every member."""
    if not starts:
        return
    arrays = _window_columns(starts)
    await conn.execute(
        "DELETE FROM assessment_totals t USING unnest($1::text[], $2::text[], $3::int[], $4::date[])"
        " AS w(group_id, indicator, plan_year, since) WHERE (t.group_id, t.indicator, t.plan_year)"
        " = (w.group_id, w.indicator, w.plan_year) AND t.as_of >= w.since",
        *arrays,
    )
    await conn.execute(
        f"INSERT INTO assessment_totals (group_id, indicator, plan_year, as_of) {_LIST_DATES}", *arrays, _ends(starts)
    )
    await conn.execute(_FILL_TOTALS, *arrays, [UNTIL_THE_END] * len(starts))


async def _correct(
    conn: asyncpg.Connection, starts: Mapping[ListKey, dt.date], keys: list[ProgressKey], before: SharesBefore
) -> None:
    """The lists' totals from their start on, corrected by the touched members' change: the dates no member
    has any more are dropped; the dates kept are corrected; new dates, and dates a correction cannot give
    exactly, are summed over every member."""
    if not starts:
        return
    arrays = _window_columns(starts)
    dates = await conn.fetch(_LIST_DATES, *arrays, _ends(starts))
    date_columns = [list(column) for column in zip(*dates, strict=True)] if dates else [[], [], [], []]
    await conn.execute(
        "DELETE FROM assessment_totals t USING unnest($1::text[], $2::text[], $3::int[], $4::date[])"
        " AS w(group_id, indicator, plan_year, since) WHERE (t.group_id, t.indicator, t.plan_year)"
        " = (w.group_id, w.indicator, w.plan_year) AND t.as_of >= w.since AND (t.group_id, t.indicator, t.plan_year,"
        " t.as_of) NOT IN (SELECT * FROM unnest($5::text[], $6::text[], $7::int[], $8::date[]))",
        *arrays, *date_columns,
    )  # fmt: skip
    shares = [r for r in before.rows if (r["group_id"], r["indicator"], r["plan_year"]) in starts]
    judged = await conn.fetch(
        _CORRECT_TOTALS, *arrays, *key_columns(keys),
        *([r[c] for r in shares] for c in _SHARE_COLUMNS),
    )  # fmt: skip
    new = await conn.fetch(
        "INSERT INTO assessment_totals (group_id, indicator, plan_year, as_of)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::date[]) ON CONFLICT DO NOTHING"
        " RETURNING group_id, indicator, plan_year, as_of",
        *date_columns,
    )
    again = [tuple(r) for r in new] + [tuple(r)[:4] for r in judged if not r["exact"]]
    if again:
        days = [list(column) for column in zip(*again, strict=True)]
        await conn.execute(_FILL_TOTALS, *days, days[3])


def _ends(starts: Mapping[ListKey, dt.date]) -> list[dt.date]:
    return [plan_window(Indicator(key[1]), key[2])[1] for key in sorted(starts)]
