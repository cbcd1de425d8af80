-- Owner: the projector (services/projector). A plan binds from its decision: the lists as of a date use the
-- plan in force on that date (the newest decision dated on or before it), so a revision decided in December
-- no longer rewrites November's lists. An undated decision is the whole year's plan (plan year's 1 January).
ALTER TABLE target_history ADD COLUMN in_force_from date;
UPDATE target_history h
SET in_force_from = coalesce((SELECT (e.payload->>'decision_date')::date FROM events e WHERE e.position = h.position),
                             make_date(h.plan_year, 1, 1));
ALTER TABLE target_history ALTER COLUMN in_force_from SET NOT NULL;

-- The rows of every plan revised after its year began were made with the latest plan on every date: the
-- projector recomputes them at its next start.
INSERT INTO projector_pending (kind, unit_code, indicator, plan_year)
SELECT DISTINCT 'progress', unit_code, indicator, plan_year FROM target_history
WHERE in_force_from > make_date(plan_year, 1, 1);
