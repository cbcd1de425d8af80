-- Owner: the alerts service (services/alerts). The data dates of an alert's life beside its recording
-- times: `raised_as_of` is the date of the figures (or of the clock, for a deadline or a vote) that first
-- showed the finding, `resolved_as_of` the date that closed it. Boards read alerts by these: a history
-- replayed today was not raised today.
ALTER TABLE alerts ADD COLUMN raised_as_of date, ADD COLUMN resolved_as_of date;
UPDATE alerts a SET raised_as_of = (e.payload->>'as_of')::date FROM events e WHERE e.position = a.raised_position;
UPDATE alerts a SET raised_as_of = as_of WHERE raised_as_of IS NULL;
-- One pass over the log (no index serves a payload field): each fingerprint's latest resolution.
UPDATE alerts a SET resolved_as_of = r.as_of
FROM (SELECT DISTINCT ON (payload->>'fingerprint') payload->>'fingerprint' AS fingerprint,
             (payload->>'as_of')::date AS as_of, position
      FROM events WHERE event_type = 'AlertResolved'
      ORDER BY payload->>'fingerprint', position DESC) r
WHERE a.status = 'resolved' AND r.fingerprint = a.fingerprint AND r.position > a.raised_position;
ALTER TABLE alerts ALTER COLUMN raised_as_of SET NOT NULL;

-- How long each alert has held, in days, as the alerts service counts it: from the data date that first
-- showed it to the one that closed it, or to today in Vietnam while it is open. The committees' API and
-- every dashboard read this; none counts its own.
-- `resolved_day_start`: the resolution's date as the instant that day begins in Vietnam, what a dashboard's
-- time range (instants) filters on.
CREATE VIEW alert_ages AS
SELECT fingerprint, raised_as_of AS since,
       coalesce(resolved_as_of, (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) - raised_as_of AS age_days,
       resolved_as_of::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS resolved_day_start
FROM alerts;
