-- Owner: the projector (services/projector). The hierarchy as it stood on a date: every registration of a
-- unit (its name, level, parent, committee) is a version in force from a date, and the groups' members are
-- dated from it, so a unit moved under another province today leaves last year's lists as they were.
-- In force from: the registration's `effective_from`; without one, a unit's first registration since always
-- and a later one from the day it was recorded (Vietnam time): an undated change never rewrites the past.
CREATE TABLE unit_versions (
    position       bigint PRIMARY KEY,  -- the UnitRegistered event
    unit_code      text   NOT NULL,
    effective_from date,                -- as registered; NULL: see above
    recorded_on    date   NOT NULL,
    name           text   NOT NULL,
    level          text   NOT NULL,
    parent_code    text,
    committee      text   NOT NULL,
    in_force_from  date                 -- the rule above, applied by the projector ('-infinity': always)
);
CREATE INDEX unit_versions_by_unit ON unit_versions (unit_code);
INSERT INTO unit_versions (position, unit_code, effective_from, recorded_on, name, level, parent_code, committee)
SELECT position, stream_id, (payload->>'effective_from')::date, (recorded_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date,
       payload->>'name', payload->>'level', payload->>'parent_code', payload->>'committee'
FROM events WHERE event_type = 'UnitRegistered';

-- A membership holds from `member_from` until the day before `member_until` (NULL: still).
ALTER TABLE assessment_members ADD COLUMN member_from date NOT NULL DEFAULT '-infinity',
    ADD COLUMN member_until date;
ALTER TABLE assessment_members DROP CONSTRAINT assessment_members_pkey;
ALTER TABLE assessment_members ADD PRIMARY KEY (group_id, unit_code, member_from);
-- The groups are made again from the versions at the projector's next start.
DELETE FROM assessment_config;

-- As in 0026, with one row per unit and group whatever its memberships' dates: a unit's last report before
-- it joined a group carries into that group's lists.
CREATE OR REPLACE VIEW assessment_bases AS
SELECT m.group_id, m.list_id, m.home, r.unit_code, r.indicator, r.plan_year, r.as_of, r.reported, r.actual,
       p.plan, p.comparable_plan, coalesce(mg.effective_date, ds.effective_date) AS merged_on,
       CASE WHEN p.plan IS NULL OR p.plan <= 0 THEN NULL
            WHEN r.late_supplemented AND g.late_supplement = 'not_assessed' THEN NULL
            WHEN g.basis = 'comparable_plan' OR r.late_supplemented THEN nullif(greatest(p.comparable_plan, 0), 0)
            ELSE p.plan END AS basis,
       CASE WHEN p.plan IS NULL OR p.plan <= 0 THEN 'no_plan'
            WHEN r.late_supplemented AND g.late_supplement = 'not_assessed' THEN 'late_supplement'
            WHEN (g.basis = 'comparable_plan' OR r.late_supplemented) AND p.comparable_plan <= 0 THEN 'no_plan'
       END AS not_assessed_reason,
       p.plan_assigned_by
FROM assessment_rows r
JOIN (SELECT DISTINCT ON (group_id, unit_code) * FROM assessment_members ORDER BY group_id, unit_code, member_from DESC) m
    USING (unit_code)
JOIN assessment_groups g ON g.group_id = m.group_id AND r.indicator = ANY (g.indicators)
CROSS JOIN LATERAL (
    SELECT CASE WHEN g.plan_assigned_by = 'province' AND r.province_plan IS NOT NULL THEN r.province_plan
                ELSE r.plan END AS plan,
           CASE WHEN g.plan_assigned_by = 'province' AND r.province_plan IS NOT NULL THEN r.province_comparable_plan
                ELSE r.comparable_plan END AS comparable_plan,
           CASE WHEN g.plan_assigned_by = 'province' AND r.province_plan IS NOT NULL THEN 'province'
                ELSE r.plan_assigned_by END AS plan_assigned_by
) p
LEFT JOIN unit_mergers mg ON mg.predecessor_code = r.unit_code
LEFT JOIN unit_dissolutions ds ON ds.unit_code = r.unit_code;

-- As in 0025, counting the members of the group on the list's own date, in the list they were in then.
CREATE OR REPLACE VIEW assessment_states AS
SELECT t.group_id, t.indicator, t.plan_year, t.as_of, b.unit_code, m.list_id, m.home, b.as_of AS figures_as_of,
       b.reported, b.actual, b.plan, b.basis, b.not_assessed_reason, b.plan_assigned_by
FROM assessment_totals t
JOIN assessment_members m ON m.group_id = t.group_id AND t.as_of >= m.member_from
    AND (m.member_until IS NULL OR t.as_of < m.member_until)
CROSS JOIN LATERAL (
    SELECT * FROM assessment_bases b
    WHERE (b.group_id, b.unit_code, b.indicator, b.plan_year) = (m.group_id, m.unit_code, t.indicator, t.plan_year)
      AND b.as_of <= t.as_of
    ORDER BY b.as_of DESC LIMIT 1
) b
WHERE b.merged_on IS NULL OR t.as_of < b.merged_on;

-- As in 0010, in the home group the unit was in on the row's date.
CREATE OR REPLACE VIEW unit_standing_history AS
SELECT b.unit_code, b.indicator, b.plan_year, b.as_of, b.group_id, t.average,
       assessment_standing(b.actual, b.basis, t.total_actual, t.total_basis) AS standing
FROM assessment_bases b
JOIN assessment_members m ON (m.group_id, m.unit_code) = (b.group_id, b.unit_code) AND m.home
    AND b.as_of >= m.member_from AND (m.member_until IS NULL OR b.as_of < m.member_until)
JOIN assessment_totals t ON (t.group_id, t.indicator, t.plan_year, t.as_of) = (b.group_id, b.indicator, b.plan_year, b.as_of)
WHERE b.merged_on IS NULL OR b.as_of < b.merged_on;
