-- Owner: the alerts service. A delivery is retried until it is delivered or, after its last attempt,
-- dead-lettered explicitly (never silently abandoned): `pim alerts deliveries` lists and retries them.
ALTER TABLE alert_outbox ADD COLUMN dead_lettered_at timestamptz,
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();  -- rows before this migration: its time
UPDATE alert_outbox SET dead_lettered_at = now() WHERE delivered_at IS NULL AND attempts >= 12;
DROP INDEX alert_outbox_due;
CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at) WHERE delivered_at IS NULL AND dead_lettered_at IS NULL;
