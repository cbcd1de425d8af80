-- Published by the ingest service (which owns `ingest_units`, the registry as submissions left it): each
-- unit's parent, for whoever needs the hierarchy without ingest's private table — the token scopes of
-- shared/auth.py (a department or committee token acts for its units and everything below them).
CREATE VIEW unit_hierarchy AS SELECT unit_code, parent_code FROM ingest_units;
