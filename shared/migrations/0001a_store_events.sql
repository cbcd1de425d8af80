-- The event store: the system of record. Append-only; the database itself refuses changes.

CREATE TABLE events (
    position        bigint      PRIMARY KEY,  -- global order, gap-free, assigned under the append lock
    event_id        uuid        NOT NULL,  -- random (v4): unique by construction; looked up by position, so
                                           -- no index (it cost a sixth of a bulk import's time)
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL,
    event_type      text        NOT NULL,
    schema_version  smallint    NOT NULL,
    occurred_on     date,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    submitted_by    text        NOT NULL,
    channel         text        NOT NULL,
    correlation_id  uuid,
    payload         jsonb       NOT NULL,
    UNIQUE (stream_id, stream_version)
);

-- One row per report a source sent: re-sending the same key returns these events, never new ones.
-- A submission's events are contiguous (appended under one lock), so a position range names them.
CREATE TABLE submissions (
    source          text        NOT NULL,
    idempotency_key text        NOT NULL,
    content_hash    bytea       NOT NULL,
    first_position  bigint      NOT NULL,
    last_position   bigint      NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, idempotency_key)
);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER submissions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON submissions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
