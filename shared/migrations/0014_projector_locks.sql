-- Owner: the projector. Its mutual exclusion as row locks (shared/locks.py): an advisory lock can be taken
-- by any login, the read-only one included, which could freeze projection with one SELECT; locking a
-- row needs UPDATE on its table, which only PIM's own login has.
CREATE TABLE projector_locks (name text PRIMARY KEY);
INSERT INTO projector_locks (name) VALUES ('batches'), ('recompute');
