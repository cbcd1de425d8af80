-- Owner: the alerts service. The reminders sent before a deadline (DeadlineReminded events): one per
-- deadline — an alert to acknowledge, an explanation to give, a month's report to send — so the daily
-- evaluation reminds once. Rows from the events in the log (rebuilt with the alerts).
CREATE TABLE alert_reminders (
    deadline  text    NOT NULL CHECK (deadline IN ('acknowledgement', 'explanation', 'report')),
    subject   text    NOT NULL,  -- the alert's fingerprint, or unit/indicator/month of a report
    due       date    NOT NULL,
    unit_code text    NOT NULL,
    position  bigint  NOT NULL,
    PRIMARY KEY (deadline, subject, due)
);
