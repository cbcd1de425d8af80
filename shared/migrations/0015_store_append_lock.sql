-- Owner: the event store (shared/event_store.py). The append lock as a row lock (shared/locks.py): the
-- services' login owns nothing and holds no UPDATE on events, which `LOCK TABLE events IN EXCLUSIVE MODE`
-- would need; locking this row needs UPDATE on store_locks, which the read-only login has not.
CREATE TABLE store_locks (name text PRIMARY KEY);
INSERT INTO store_locks (name) VALUES ('append');
