"""Every lock PIM takes, in one place, with what it protects.

Mutual exclusion between PIM's processes is held as row locks (`SELECT … FOR SHARE / FOR UPDATE`) on
rows only PIM's own login may lock: locking a row needs UPDATE on its table, which the read-only login
has not, whereas an advisory lock can be taken by any login and so could freeze a service with one
SELECT. The migrations (and the operator's other set-up steps) hold `schema_migrations`, on which the
read-only and services' logins hold no lock-taking privilege.
"""

from __future__ import annotations

# One operator's set-up at a time (several processes may start at once); readers of the table still read.
MIGRATIONS = "LOCK TABLE schema_migrations IN SHARE ROW EXCLUSIVE MODE"
# Positions are taken one appender at a time (gap safety: shared/event_store.py): held until a small
# append's transaction ends, and only while a bulk append reserves its positions.
STORE_APPEND = "SELECT 1 FROM public.store_locks WHERE name = 'append' FOR UPDATE"
# One writer per stream until its transaction ends ($1: the stream ids, sorted, so two writers take them in
# the same order). Taken before the append lock, never while holding it (shared/event_store.py, which
# makes a stream's row as its first writer locks it).
STORE_STREAMS = (
    "SELECT 1 FROM public.store_stream_locks WHERE stream_id = ANY($1::text[]) ORDER BY stream_id FOR UPDATE"
)
# The same, passing over those another writer holds (the streams it could lock are returned): for reports written
# together, where the reports for a held stream are written alone and the others go on without waiting.
STORE_STREAMS_FREE = STORE_STREAMS.replace("SELECT 1 FROM", "SELECT stream_id FROM") + " SKIP LOCKED"

# Live projector batches hold it shared; a rebuild's swap holds it exclusively.
PROJECTOR_BATCHES_SHARED = "SELECT 1 FROM public.projector_locks WHERE name = 'batches' FOR SHARE"
PROJECTOR_BATCHES_EXCLUSIVE = "SELECT 1 FROM public.projector_locks WHERE name = 'batches' FOR UPDATE"
# The one projector instance recomputing derived rows: a peer group spans partitions.
PROJECTOR_RECOMPUTE = "SELECT 1 FROM public.projector_locks WHERE name = 'recompute' FOR UPDATE"
# One alerts evaluation of a unit and plan year at a time, so several alerts instances never decide on
# the same open alerts at once: the row lock of its evaluation row (services/alerts/service.py, which
# owns that table, makes the row first if there is none).
