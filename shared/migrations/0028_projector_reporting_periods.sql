-- Owner: the projector (services/projector). Reporting on time is an indicator of its own: each month a unit
-- with a plan in force owes a report, due `report_due_days` after the month ends (the assessment groups
-- file); the first figure for the month became known on `received_on` (its document's date, else the day
-- recorded). A month of a unit merged or dissolved by its end is owed by its successor, not by it.
CREATE TABLE reporting_periods (
    unit_code   text    NOT NULL,
    indicator   text    NOT NULL,
    plan_year   integer NOT NULL,
    period_end  date    NOT NULL,  -- the month's last day
    due_on      date    NOT NULL,
    received_on date,              -- NULL: nothing received yet
    PRIMARY KEY (unit_code, indicator, plan_year, period_end)
);

-- Each unit's record as of `day`: the months due by then, those received by then, and those received by
-- their due date. Every reader (API, board pack, dashboards, alerts) counts through this one function.
CREATE FUNCTION reporting_on(day date)
RETURNS TABLE (unit_code text, indicator text, plan_year integer, expected bigint, received bigint, on_time bigint)
LANGUAGE sql STABLE AS $$
    SELECT p.unit_code, p.indicator, p.plan_year, count(*),
           count(*) FILTER (WHERE p.received_on <= day), count(*) FILTER (WHERE p.received_on <= p.due_on)
    FROM reporting_periods p WHERE p.due_on <= day GROUP BY 1, 2, 3
$$;

-- The indicator's standings as of `day` for one indicator and plan year (and one group, or all): the members
-- of each group on that day (not merged or dissolved by then) with months due, ranked by their rate (on time
-- / due), with the group's rate beside, and each unit's name on that day. The API, the board pack and the
-- dashboards all read this one.
CREATE FUNCTION reporting_standings(day date, of_indicator text, of_plan_year integer, of_group text)
RETURNS TABLE (group_id text, group_name text, ordinal integer, unit_code text, name text, expected bigint,
               received bigint, on_time bigint, late bigint, missing bigint, rate numeric, rank bigint,
               group_expected bigint, group_on_time bigint, group_rate numeric)
LANGUAGE sql STABLE AS $$
    SELECT m.group_id, g.name, g.ordinal, r.unit_code, coalesce(u.name, r.unit_code),
           r.expected, r.received, r.on_time, r.received - r.on_time, r.expected - r.received,
           r.on_time::numeric / r.expected,
           rank() OVER (PARTITION BY m.group_id ORDER BY r.on_time::numeric / r.expected DESC),
           (sum(r.expected) OVER w)::bigint, (sum(r.on_time) OVER w)::bigint,
           sum(r.on_time) OVER w / sum(r.expected) OVER w
    FROM reporting_on(day) r
    JOIN assessment_members m ON m.unit_code = r.unit_code AND day >= m.member_from
        AND (m.member_until IS NULL OR day < m.member_until)
    JOIN assessment_groups g ON g.group_id = m.group_id AND r.indicator = ANY (g.indicators)
    LEFT JOIN LATERAL (SELECT v.name FROM unit_versions v WHERE v.unit_code = r.unit_code AND v.in_force_from <= day
                       ORDER BY v.in_force_from DESC, v.position DESC LIMIT 1) u ON true
    WHERE r.indicator = of_indicator AND r.plan_year = of_plan_year AND (of_group IS NULL OR m.group_id = of_group)
      AND NOT EXISTS (SELECT FROM unit_mergers x WHERE x.predecessor_code = r.unit_code AND x.effective_date <= day)
      AND NOT EXISTS (SELECT FROM unit_dissolutions x WHERE x.unit_code = r.unit_code AND x.effective_date <= day)
    WINDOW w AS (PARTITION BY m.group_id)
    ORDER BY g.ordinal, m.group_id, 12, r.unit_code
$$;

CREATE OR REPLACE FUNCTION pim_grant_reader() RETURNS void LANGUAGE sql AS $$
    GRANT USAGE ON SCHEMA public TO pim_reader;
    GRANT SELECT ON units, unit_mergers, tenures, targets, target_history, figures, confidence_votes,
        leader_accountability, unit_progress_history, unit_progress, alerts, assessment_groups, assessment_lists,
        assessment_members, assessment_rows, assessment_totals, assessment_bases, assessment_states,
        assessment_standings, unit_standing_history, known_on_progress, alert_ages, leader_scorecards,
        unit_versions, reporting_periods, unit_dissolutions TO pim_reader;
$$;
SELECT pim_grant_reader();

-- Every key with a plan gets its months at the projector's next start.
INSERT INTO projector_pending (kind, unit_code, indicator, plan_year)
SELECT DISTINCT 'progress', unit_code, indicator, plan_year FROM target_history;
