-- Owner: ingest (services/ingest). A unit that exists from a date (a commune formed on 1 July 2025) takes no
-- figure dated before it: those belong to the units it was formed from. From its first registration's
-- `effective_from`; NULL: since always.
ALTER TABLE ingest_units ADD COLUMN exists_from date;
UPDATE ingest_units u SET exists_from = (
    SELECT (e.payload->>'effective_from')::date FROM events e
    WHERE e.stream_id = u.unit_code AND e.event_type = 'UnitRegistered' ORDER BY e.position LIMIT 1
);
