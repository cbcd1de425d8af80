-- Owner: the projector (services/projector). A unit dissolved from a date (the districts on 1 July 2025)
-- leaves every list that day, like a merged unit; its plan and year to date go to several receivers in
-- stated amounts, which the receivers' rows take from that date.
CREATE TABLE unit_dissolutions (
    unit_code       text    PRIMARY KEY,
    effective_date  date    NOT NULL,
    position        bigint  NOT NULL
);
CREATE TABLE unit_handovers (
    position         bigint  NOT NULL,  -- the UnitDissolved event
    unit_code        text    NOT NULL,  -- the dissolved unit
    receiver_code    text    NOT NULL,
    indicator        text    NOT NULL,
    plan_year        integer NOT NULL,
    effective_date   date    NOT NULL,
    plan             numeric NOT NULL,
    year_to_date     numeric NOT NULL,
    receivers_report text    NOT NULL,  -- consolidated | own_only
    PRIMARY KEY (position, receiver_code, indicator, plan_year)
);
CREATE INDEX unit_handovers_by_receiver ON unit_handovers (receiver_code, indicator, plan_year);

-- As in 0025, a dissolved unit leaving its groups on its date as a merged one does on the merger date.
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
LEFT JOIN unit_mergers mg ON mg.predecessor_code = r.unit_code
LEFT JOIN unit_dissolutions ds ON ds.unit_code = r.unit_code;
