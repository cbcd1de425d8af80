-- Owner: the projector (services/projector). A unit's own pace (a province's monthly targets for one of its
-- units, by decision) overrides the indicator's curve for that unit from the decision's date; the progress
-- rows say which decision their expected pace came from.
CREATE TABLE unit_milestones (
    position        bigint  PRIMARY KEY,
    unit_code       text    NOT NULL,
    indicator       text    NOT NULL,
    plan_year       integer NOT NULL,
    decision_number text    NOT NULL,
    decision_date   date    NOT NULL,  -- in force from; also when it became known ("as known on")
    milestones      jsonb   NOT NULL   -- [{"by": "2025-10-31", "share": "0.70"}, …]; [] returns to the curve
);
CREATE INDEX unit_milestones_by_key ON unit_milestones (unit_code, indicator, plan_year);

-- The decision whose milestones gave a row's expected pace; NULL: the indicator's curve.
ALTER TABLE unit_progress_history ADD COLUMN pace_decision text;
ALTER TABLE known_on_progress ADD COLUMN pace_decision text;
