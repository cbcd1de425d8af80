-- Owner: the projector (services/projector). As in 0027, with the state's unit read from the membership
-- rather than from the row looked up for it (the same code): a filter on the unit then reaches the members
-- before each one's state is looked up, so the totals' correction by a few touched members
-- (services/projector/assessment_totals.py) reads their states only, not every member's.
CREATE OR REPLACE VIEW assessment_states AS
SELECT t.group_id, t.indicator, t.plan_year, t.as_of, m.unit_code, m.list_id, m.home, b.as_of AS figures_as_of,
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
