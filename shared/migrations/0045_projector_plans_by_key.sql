-- Owner: the projector (services/projector). A key's plan decisions and a unit's mergers looked up by their
-- key: without these, each key of a recompute read every plan decision of the registry (twice) and every
-- merger, a cost per key that grew with the registry (the national bench: 225 ms of a 250-key chunk's
-- 370 ms at a quarter of Vietnam's size, four times that at its size).
CREATE INDEX target_history_by_key ON target_history (unit_code, indicator, plan_year);
CREATE INDEX unit_mergers_by_successor ON unit_mergers (successor_code);
