-- The projector recomputes derived rows while it writes the next batches' facts. A batch's record of
-- what it touched must then never wait for a recompute taking (deleting) the same key: each batch
-- appends rows of its own, and the recompute takes every committed row, folding a key's rows into one.
ALTER TABLE projector_pending DROP CONSTRAINT projector_pending_pkey;
ALTER TABLE projector_pending ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
