-- Owner: the event store (shared/event_store.py). A receipt for every submission appended, whoever sent it
-- and however: its positions, who, through which channel, when. A person's history of what they sent is
-- read from here (the log itself has no index by sender: it would slow every append).
CREATE TABLE store_receipts (
    first_position bigint      PRIMARY KEY,
    last_position  bigint      NOT NULL,
    submitted_by   text        NOT NULL,
    channel        text        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX store_receipts_by_sender ON store_receipts (submitted_by, first_position DESC);
-- The submissions appended before: one receipt per transaction's run of events from one sender.
INSERT INTO store_receipts (first_position, last_position, submitted_by, channel, recorded_at)
SELECT min(position), max(position), submitted_by, channel, recorded_at FROM events
GROUP BY submitted_by, channel, recorded_at;
