-- Alert lifecycle (escalate, acknowledge, silence, resolve with a conclusion) and the delivery outbox.

ALTER TABLE alerts ALTER COLUMN indicator DROP NOT NULL;  -- NULL: a finding about a leader (confidence vote)
ALTER TABLE alerts
    ADD COLUMN period           text NOT NULL DEFAULT '',  -- plan year, month (YYYY-MM) or vote
    ADD COLUMN summary          text NOT NULL DEFAULT '',
    ADD COLUMN unit_name        text,
    ADD COLUMN raised_at        timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at       timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN escalated_to     text,
    ADD COLUMN escalated_at     timestamptz,
    ADD COLUMN acknowledged_by  text,
    ADD COLUMN acknowledged_note text,
    ADD COLUMN acknowledged_at  timestamptz,
    ADD COLUMN silenced_until   date,
    ADD COLUMN silenced_by      text,
    ADD COLUMN silence_reason   text,
    ADD COLUMN resolved_at      timestamptz,
    ADD COLUMN resolved_by      text,
    ADD COLUMN resolution       text;
CREATE INDEX alerts_open_by_unit ON alerts (unit_code, plan_year) WHERE status = 'open';
CREATE INDEX alerts_by_committee ON alerts (committee, status);

-- Evaluations are per unit and plan year now (every indicator and the votes at once), and remember the
-- clock's date too: deadline rules change their answer when the date moves, with no new data.
DROP TABLE alert_evaluations;
CREATE TABLE alert_evaluations (
    unit_code    text    NOT NULL,
    plan_year    integer NOT NULL,
    version      bigint  NOT NULL,  -- the highest unit_progress version seen
    evaluated_on date    NOT NULL,  -- the clock's date of that evaluation
    PRIMARY KEY (unit_code, plan_year)
);

-- Written in the transaction that records the alert event; delivered after commit by the dispatcher.
-- The event's position is the idempotency key every channel carries, so a re-delivery after a crash
-- is recognisable as the same notification.
CREATE TABLE alert_outbox (
    position        bigint  NOT NULL,  -- the alert event in the store
    channel         text    NOT NULL,  -- kafka | webhook | email | grafana | alertmanager
    payload         jsonb   NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    PRIMARY KEY (position, channel)
);
CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at) WHERE delivered_at IS NULL;
