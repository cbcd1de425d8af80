-- Owner: the event store (shared/event_store.py). Before this, one append lock, held until the appending
-- transaction ended, ordered everything: a 1,000,000-row import held it ~20 s and every other report
-- waited. Now the lock is held that long only by small appends; a bulk append reserves its positions
-- (a committed row here, made on a connection of its own, under the append lock for milliseconds) and
-- writes them without it. Readers stop below the first reservation still being written, so a reader
-- that has seen position N still never later finds a new event below N.

-- One writer per stream: an append locks the rows of the streams it writes (before the append lock, never
-- after it), so stream versions continue without a race, and what a writer checked about a unit (its
-- figures, its merger) stays true until it commits.
CREATE TABLE store_stream_locks (stream_id text PRIMARY KEY);
INSERT INTO store_stream_locks (stream_id) SELECT DISTINCT stream_id FROM events;

-- Positions a bulk append holds while it writes them, and its transaction: deleted by that transaction as
-- it commits, so a row whose transaction is over belongs to one that rolled back (a hole, never written).
CREATE TABLE store_reservations (
    first_position bigint PRIMARY KEY,
    last_position  bigint      NOT NULL,
    xid            xid8        NOT NULL,
    reserved_at    timestamptz NOT NULL DEFAULT now()
);

-- The last position taken, written or reserved: the next append starts above it (under the append lock).
CREATE FUNCTION store_head() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT greatest((SELECT max(position) FROM events), (SELECT max(last_position) FROM store_reservations), 0)
$$;

-- The last position below which every event is final, as this statement's snapshot sees the store: the
-- highest one written, or just below the first reservation whose transaction the snapshot sees running
-- (or finishing after it). Readers read up to it and no further.
CREATE FUNCTION store_horizon() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT least(
        (SELECT coalesce(max(position), 0) FROM events),
        (SELECT min(first_position) - 1 FROM store_reservations
          WHERE NOT pg_visible_in_snapshot(xid, pg_current_snapshot()))
    )
$$;
