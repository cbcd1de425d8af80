-- Owner: the alerts service. The review of an alert (the loop after the flag): the committee's request for
-- an explanation with its due date in working days, the head's explanation (causes from the taxonomy, text,
-- document) and the commitments it holds, which the figures later find kept or missed; the committee's
-- conclusion is typed on the alert. Rows from the alert's events in the log (rebuilt with the alerts).
ALTER TABLE alerts ADD COLUMN conclusion_outcome text, ADD COLUMN conclusion_document text;

CREATE TABLE alert_reviews (
    fingerprint        text        PRIMARY KEY,
    unit_code          text        NOT NULL,
    leader_id          text,                   -- the head asked (NULL: a vacant post; the unit answers)
    leader_name        text,
    requested_by       text        NOT NULL,
    requested_at       timestamptz NOT NULL,
    requested_position bigint      NOT NULL,
    due                date        NOT NULL,   -- in Vietnam's working days from the request
    note               text        NOT NULL DEFAULT '',
    explained_by       text,
    explained_at       timestamptz,
    explained_position bigint,
    on_behalf          boolean,
    causes             text[],
    explanation        text,
    document           text
);

CREATE TABLE alert_commitments (
    position     bigint  NOT NULL,  -- the ExplanationSubmitted event
    ordinal      integer NOT NULL,
    fingerprint  text    NOT NULL,
    unit_code    text    NOT NULL,
    leader_id    text,
    indicator    text    NOT NULL,
    due          date    NOT NULL,  -- the commitment's date
    rate         numeric,           -- a share of the plan, or
    amount       numeric,           -- an amount (VND)
    plan_year    integer NOT NULL,  -- the alert's: the year whose figures decide
    outcome      text,              -- kept | missed, once the figures decide (NULL: not yet)
    figures_as_of date,             -- the report that decided it
    reached      numeric,           -- its rate (or amount) then
    PRIMARY KEY (position, ordinal)
);
CREATE INDEX alert_commitments_undecided ON alert_commitments (unit_code, plan_year) WHERE outcome IS NULL;
CREATE INDEX alert_commitments_by_alert ON alert_commitments (fingerprint);

-- Each deadline missed escalates once: an acknowledgement not given, or an explanation not submitted, by
-- its date (in working days). Written with the AlertEscalated event, in its transaction: a restart after a
-- kill -9 finds the deadline escalated already, or escalates it then, never twice.
CREATE TABLE alert_deadline_escalations (
    fingerprint text    NOT NULL,
    deadline    text    NOT NULL CHECK (deadline IN ('acknowledgement', 'explanation')),
    due         date    NOT NULL,
    position    bigint  NOT NULL,  -- the AlertEscalated event
    PRIMARY KEY (fingerprint, deadline, due)
);
