-- Owner: the projector (services/projector). The review of each alert as the alerts service published it on
-- the ledger: the explanation asked (of whom, due when), the explanation given (causes, text, document,
-- commitments), each commitment's verdict from the figures, and the committee's typed conclusion — each on
-- the day it is about, and known on the day it was recorded, so a board pack as of a date (and as known on a
-- meeting) shows the review as it stood then. Filled from the ledger like every fact table; rebuilt with them.
CREATE TABLE review_timeline (
    position     bigint  PRIMARY KEY,
    fingerprint  text    NOT NULL,
    event_type   text    NOT NULL,  -- ExplanationRequested | ExplanationSubmitted | CommitmentChecked | AlertResolved
    on_date      date    NOT NULL,  -- asked, given, decided (the deciding report's date), concluded
    known_on     date    NOT NULL,  -- the day it was recorded (UTC, as a figure's)
    unit_code    text    NOT NULL,
    leader_id    text,
    leader_name  text,
    by_whom      text,
    due          date,              -- asked: the explanation's due date; checked: the promise's date
    causes       text[],
    body         text,              -- the request's note, the explanation, the conclusion
    document     text,
    commitments  jsonb,             -- given: [{indicator, by, rate, amount}]
    indicator    text,              -- checked: the promise's indicator
    kept         boolean,           -- checked
    reached      numeric,           -- checked: the rate (or amount) the figures showed
    outcome      text               -- concluded: no_fault | reminder | criticism | self_criticism | discipline_recommended
);
CREATE INDEX review_timeline_by_unit ON review_timeline (unit_code, fingerprint);
CREATE INDEX review_timeline_by_leader ON review_timeline (leader_id);

CREATE OR REPLACE FUNCTION pim_grant_reader() RETURNS void LANGUAGE sql AS $$
    GRANT USAGE ON SCHEMA public TO pim_reader;
    GRANT SELECT ON units, unit_mergers, tenures, targets, target_history, figures, confidence_votes,
        leader_accountability, unit_progress_history, unit_progress, alerts, assessment_groups, assessment_lists,
        assessment_members, assessment_rows, assessment_totals, assessment_bases, assessment_states,
        assessment_standings, unit_standing_history, known_on_progress, alert_ages, leader_scorecards,
        unit_versions, reporting_periods, unit_dissolutions, review_timeline TO pim_reader;
$$;
SELECT pim_grant_reader();
