-- Owner: the projector. Each checkpoint also records the store position of the last message it applied
-- on its partition: every event at or below the least of them is applied, which is where a catch-up from
-- the store starts (services/projector/catch_up.py). 0 (unknown) makes it start from the beginning.
ALTER TABLE projector_offsets ADD COLUMN position bigint NOT NULL DEFAULT 0;
