-- A unit's peer standing changes when its peers report, with no new fact of its own (its progress version
-- stays): the alerts service remembers the peer state it evaluated, to know when to evaluate again.
ALTER TABLE alert_evaluations ADD COLUMN peer_state text NOT NULL DEFAULT '';
