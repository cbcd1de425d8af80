-- Assessment groups (services/projector/assessment.py): who is compared with whom. Standings are no longer
-- written on every member's history rows when one member reports: each unit keeps its own assessment rows
-- (rewritten only when its facts change), each group keeps one row of totals per date, and standing and
-- rank are derived from them by the views below.

DROP VIEW unit_progress;
ALTER TABLE unit_progress_history
    DROP COLUMN peer_group, DROP COLUMN peer_average, DROP COLUMN standing, DROP COLUMN peer_rank;

-- consolidated: from the merger date the successor reports year-to-date figures that already include its
-- predecessors' earlier disbursement (as merged provinces did after 1 July 2025); own_only: its reports
-- cover itself only and the predecessors' last figures are added to them.
ALTER TABLE unit_mergers ADD COLUMN successor_reports text NOT NULL DEFAULT 'consolidated';

-- Configuration, written by the projector from the groups file at start (not derived from the log).
CREATE TABLE assessment_groups (
    group_id        text    PRIMARY KEY,
    name            text    NOT NULL,
    indicators      text[]  NOT NULL,
    basis           text    NOT NULL,  -- plan | comparable_plan
    late_supplement text    NOT NULL,  -- not_assessed | comparable_plan
    ordinal         integer NOT NULL   -- config order: a unit's first group is its home group
);
CREATE TABLE assessment_lists (
    group_id text    NOT NULL,
    list_id  text    NOT NULL,
    name     text    NOT NULL,
    levels   text[]  NOT NULL,
    ordinal  integer NOT NULL,
    PRIMARY KEY (group_id, list_id)
);
CREATE TABLE assessment_config (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    config    jsonb   NOT NULL  -- what the groups above were made from: a change regroups every unit
);

-- Who is in which group (from the registry and the groups); a unit merged away leaves on the merger date.
CREATE TABLE assessment_members (
    group_id  text    NOT NULL,
    unit_code text    NOT NULL,
    list_id   text    NOT NULL,
    home      boolean NOT NULL,  -- the unit's first group: the one its progress row and the alerts name
    PRIMARY KEY (group_id, unit_code)
);
CREATE INDEX assessment_members_by_unit ON assessment_members (unit_code);

-- What each unit brings to its groups on each date its figures or plan changed: its own report dates, the
-- start of the plan year (a unit with a plan counts from then on, with 0 until it reports), the day a late
-- supplement was decided, and the day units merged into it. Rewritten with the unit's progress rows.
CREATE TABLE assessment_rows (
    unit_code         text    NOT NULL,
    indicator         text    NOT NULL,
    plan_year         integer NOT NULL,
    as_of             date    NOT NULL,
    plan              numeric,            -- the plan assigned (after adjustments, with merged units' plans)
    comparable_plan   numeric,            -- less capital supplemented after 30 September
    late_supplemented boolean NOT NULL,   -- a late supplement had been decided by as_of
    actual            numeric NOT NULL,   -- year to date
    reported          boolean NOT NULL,   -- false: no report yet
    PRIMARY KEY (unit_code, indicator, plan_year, as_of)
);

-- One row per group, indicator, plan year and date any member's row changed: the group's totals then.
CREATE TABLE assessment_totals (
    group_id      text    NOT NULL,
    indicator     text    NOT NULL,
    plan_year     integer NOT NULL,
    as_of         date    NOT NULL,
    members       integer,            -- members with a row (a plan or figures) by then
    assessed      integer,
    no_report     integer,            -- assessed members that have not reported yet (counted with 0)
    not_assessed  integer,
    total_basis   numeric,            -- total plan of the assessed members (the plan or the comparable plan)
    total_actual  numeric,            -- their total year to date
    average       numeric,            -- total_actual / total_basis: the weighted average
    PRIMARY KEY (group_id, indicator, plan_year, as_of)
);

-- The one definition of a standing: exact, without rounding (actual/basis against total_actual/total_basis).
CREATE FUNCTION assessment_standing(actual numeric, basis numeric, total_actual numeric, total_basis numeric)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN basis IS NULL OR basis <= 0 OR total_basis IS NULL OR total_basis <= 0 THEN 'not_assessed'
                WHEN actual * total_basis >= total_actual * basis THEN 'at_or_above'
                ELSE 'below' END
$$;

-- Each assessment row of a member, judged by each of its groups' rules: the basis it is assessed on (NULL:
-- not assessed) and why not.
CREATE VIEW assessment_bases AS
SELECT m.group_id, m.list_id, m.home, r.unit_code, r.indicator, r.plan_year, r.as_of, r.reported, r.actual,
       r.plan, r.comparable_plan, mg.effective_date AS merged_on,
       CASE WHEN r.plan IS NULL OR r.plan <= 0 THEN NULL
            WHEN r.late_supplemented AND g.late_supplement = 'not_assessed' THEN NULL
            WHEN g.basis = 'comparable_plan' OR r.late_supplemented THEN nullif(greatest(r.comparable_plan, 0), 0)
            ELSE r.plan END AS basis,
       CASE WHEN r.plan IS NULL OR r.plan <= 0 THEN 'no_plan'
            WHEN r.late_supplemented AND g.late_supplement = 'not_assessed' THEN 'late_supplement'
            WHEN (g.basis = 'comparable_plan' OR r.late_supplemented) AND r.comparable_plan <= 0 THEN 'no_plan'
       END AS not_assessed_reason
FROM assessment_rows r
JOIN assessment_members m USING (unit_code)
JOIN assessment_groups g ON g.group_id = m.group_id AND r.indicator = ANY (g.indicators)
LEFT JOIN unit_mergers mg ON mg.predecessor_code = r.unit_code;

-- Every member of every group on each of the group's dates: its latest row by then (its figures carry
-- forward until it reports again). A unit merged away is no member from the merger date on.
CREATE VIEW assessment_states AS
SELECT t.group_id, t.indicator, t.plan_year, t.as_of, b.unit_code, b.list_id, b.home, b.as_of AS figures_as_of,
       b.reported, b.actual, b.plan, b.basis, b.not_assessed_reason
FROM assessment_totals t
JOIN assessment_members m ON m.group_id = t.group_id
CROSS JOIN LATERAL (
    SELECT * FROM assessment_bases b
    WHERE (b.group_id, b.unit_code, b.indicator, b.plan_year) = (m.group_id, m.unit_code, t.indicator, t.plan_year)
      AND b.as_of <= t.as_of
    ORDER BY b.as_of DESC LIMIT 1
) b
WHERE b.merged_on IS NULL OR t.as_of < b.merged_on;

-- The Ministry's lists: each member's rate, standing against its group's average and rank (1 = best, in
-- the group and in its list; equal only when the rates are equal as fractions) on each of the group's dates.
CREATE VIEW assessment_standings AS
SELECT s.group_id, s.indicator, s.plan_year, s.as_of, s.unit_code, s.list_id, s.home, s.figures_as_of, s.reported,
       s.actual, s.plan, s.basis, s.not_assessed_reason, s.actual / s.basis AS rate, t.average,
       assessment_standing(s.actual, s.basis, t.total_actual, t.total_basis) AS standing,
       CASE WHEN s.basis IS NOT NULL THEN rank() OVER (
           PARTITION BY s.group_id, s.indicator, s.plan_year, s.as_of, s.basis IS NULL
           ORDER BY div(s.actual * 1e40, s.basis) DESC) END AS rank,
       CASE WHEN s.basis IS NOT NULL THEN rank() OVER (
           PARTITION BY s.group_id, s.indicator, s.plan_year, s.as_of, s.list_id, s.basis IS NULL
           ORDER BY div(s.actual * 1e40, s.basis) DESC) END AS list_rank
FROM assessment_states s
JOIN assessment_totals t USING (group_id, indicator, plan_year, as_of);

-- Each unit's standing in its home group on each date it has a row (cheap: no rank, no other member read).
CREATE VIEW unit_standing_history AS
SELECT b.unit_code, b.indicator, b.plan_year, b.as_of, b.group_id, t.average,
       assessment_standing(b.actual, b.basis, t.total_actual, t.total_basis) AS standing
FROM assessment_bases b
JOIN assessment_totals t USING (group_id, indicator, plan_year, as_of)
WHERE b.home AND (b.merged_on IS NULL OR b.as_of < b.merged_on);

-- The current progress: each unit's total on its latest reported date, with its standing in its home group.
CREATE VIEW unit_progress AS
SELECT p.unit_code, p.indicator, p.plan_year, p.as_of, p.target, p.comparable_target, p.actual_ytd, p.rate,
       p.comparable_rate, p.expected_pace, p.gap_to_pace, p.status, s.group_id AS peer_group,
       s.average AS peer_average, s.standing, p.version
FROM (
    SELECT DISTINCT ON (unit_code, indicator, plan_year) * FROM unit_progress_history
    WHERE category = '' ORDER BY unit_code, indicator, plan_year, as_of DESC
) p
LEFT JOIN unit_standing_history s USING (unit_code, indicator, plan_year, as_of);

CREATE OR REPLACE FUNCTION pim_grant_reader() RETURNS void LANGUAGE sql AS $$
    GRANT USAGE ON SCHEMA public TO pim_reader;
    GRANT SELECT ON units, unit_mergers, tenures, targets, target_history, figures, confidence_votes,
        leader_accountability, unit_progress_history, unit_progress, alerts, assessment_groups, assessment_lists,
        assessment_members, assessment_rows, assessment_totals, assessment_bases, assessment_states,
        assessment_standings, unit_standing_history TO pim_reader;
$$;
SELECT pim_grant_reader();
