-- Owner: the projector (services/projector). A plan is assigned by the Prime Minister (what the Ministry ranks
-- localities on) or by the province (with its local capital: what it holds its departments and communes
-- to); a unit may have both. Each assessment group says which it ranks on, and every standing names the
-- plan it used. A unit with one plan is held to it whoever ranks it.
ALTER TABLE target_history ADD COLUMN assigned_by text NOT NULL DEFAULT 'prime_minister';
ALTER TABLE targets ADD COLUMN assigned_by text NOT NULL DEFAULT 'prime_minister';
ALTER TABLE targets DROP CONSTRAINT targets_pkey;
ALTER TABLE targets ADD PRIMARY KEY (unit_code, indicator, plan_year, assigned_by);

-- `plan`: the Prime Minister's where the unit has it (else the province's), as before; `plan_assigned_by`
-- says which. `province_plan`: the province's, only where the unit has both (NULL: `plan` is the only one).
ALTER TABLE assessment_rows ADD COLUMN plan_assigned_by text NOT NULL DEFAULT 'prime_minister',
    ADD COLUMN province_plan numeric, ADD COLUMN province_comparable_plan numeric;
ALTER TABLE assessment_groups ADD COLUMN plan_assigned_by text NOT NULL DEFAULT 'prime_minister';

-- As in 0010, each group taking the plan it ranks on; the plan used is named (the last column).
CREATE OR REPLACE VIEW assessment_bases AS
SELECT m.group_id, m.list_id, m.home, r.unit_code, r.indicator, r.plan_year, r.as_of, r.reported, r.actual,
       p.plan, p.comparable_plan, mg.effective_date AS merged_on,
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
JOIN assessment_members m USING (unit_code)
JOIN assessment_groups g ON g.group_id = m.group_id AND r.indicator = ANY (g.indicators)
CROSS JOIN LATERAL (
    SELECT CASE WHEN g.plan_assigned_by = 'province' AND r.province_plan IS NOT NULL THEN r.province_plan
                ELSE r.plan END AS plan,
           CASE WHEN g.plan_assigned_by = 'province' AND r.province_plan IS NOT NULL THEN r.province_comparable_plan
                ELSE r.comparable_plan END AS comparable_plan,
           CASE WHEN g.plan_assigned_by = 'province' AND r.province_plan IS NOT NULL THEN 'province'
                ELSE r.plan_assigned_by END AS plan_assigned_by
) p
LEFT JOIN unit_mergers mg ON mg.predecessor_code = r.unit_code;

CREATE OR REPLACE VIEW assessment_states AS
SELECT t.group_id, t.indicator, t.plan_year, t.as_of, b.unit_code, b.list_id, b.home, b.as_of AS figures_as_of,
       b.reported, b.actual, b.plan, b.basis, b.not_assessed_reason, b.plan_assigned_by
FROM assessment_totals t
JOIN assessment_members m ON m.group_id = t.group_id
CROSS JOIN LATERAL (
    SELECT * FROM assessment_bases b
    WHERE (b.group_id, b.unit_code, b.indicator, b.plan_year) = (m.group_id, m.unit_code, t.indicator, t.plan_year)
      AND b.as_of <= t.as_of
    ORDER BY b.as_of DESC LIMIT 1
) b
WHERE b.merged_on IS NULL OR t.as_of < b.merged_on;

CREATE OR REPLACE VIEW assessment_standings AS
SELECT s.group_id, s.indicator, s.plan_year, s.as_of, s.unit_code, s.list_id, s.home, s.figures_as_of, s.reported,
       s.actual, s.plan, s.basis, s.not_assessed_reason, s.actual / s.basis AS rate, t.average,
       assessment_standing(s.actual, s.basis, t.total_actual, t.total_basis) AS standing,
       CASE WHEN s.basis IS NOT NULL THEN rank() OVER (
           PARTITION BY s.group_id, s.indicator, s.plan_year, s.as_of, s.basis IS NULL
           ORDER BY div(s.actual * 1e40, s.basis) DESC) END AS rank,
       CASE WHEN s.basis IS NOT NULL THEN rank() OVER (
           PARTITION BY s.group_id, s.indicator, s.plan_year, s.as_of, s.list_id, s.basis IS NULL
           ORDER BY div(s.actual * 1e40, s.basis) DESC) END AS list_rank,
       s.plan_assigned_by
FROM assessment_states s
JOIN assessment_totals t USING (group_id, indicator, plan_year, as_of);

