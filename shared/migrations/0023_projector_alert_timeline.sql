-- Owner: the projector (services/projector). The alerts service publishes every step of an alert's life on
-- the ledger; the projector keeps them, one row per event, so a board pack as of a date (and as known on a
-- meeting) shows each alert as it stood then — its severity, summary and committee on that date — rather
-- than the alerts service's current row. Filled from the ledger like every fact table; rebuilt with them.
CREATE TABLE alert_timeline (
    position      bigint  PRIMARY KEY,
    fingerprint   text    NOT NULL,
    event_type    text    NOT NULL,  -- AlertRaised | AlertRefreshed | AlertEscalated | AlertAcknowledged | ...
    data_date     date,              -- the date of the figures (or the clock) the step is about; NULL: none
    known_on      date    NOT NULL,  -- the day it was recorded (as a figure's: UTC)
    unit_code     text    NOT NULL,
    indicator     text,              -- raised only (the others name the fingerprint)
    plan_year     integer,
    rule          text,
    severity      text,              -- raised and refreshed
    summary       text,
    committee     text,              -- raised: the committee; escalated: the committee it went to
    responsible_leader_id   text,
    responsible_leader_name text
);
CREATE INDEX alert_timeline_by_fingerprint ON alert_timeline (fingerprint, position);
CREATE INDEX alert_timeline_by_unit ON alert_timeline (unit_code);

-- The alert events already stored, from the log.
INSERT INTO alert_timeline
SELECT e.position, e.payload->>'fingerprint', e.event_type, (e.payload->>'as_of')::date,
       (e.recorded_at AT TIME ZONE 'UTC')::date, e.payload->>'unit_code', e.payload->>'indicator',
       (e.payload->>'plan_year')::int, e.payload->>'rule', e.payload->>'severity', e.payload->>'summary',
       coalesce(e.payload->>'committee', e.payload->>'to_committee'), e.payload->>'responsible_leader_id',
       e.payload->>'responsible_leader_name'
FROM events e
WHERE e.event_type IN ('AlertRaised', 'AlertRefreshed', 'AlertEscalated', 'AlertAcknowledged', 'AlertSilenced',
                       'AlertResolved');
