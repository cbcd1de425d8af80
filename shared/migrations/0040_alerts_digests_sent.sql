-- Owner: the alerts service. The monthly digests e-mailed to each committee (alerts opened, explanations
-- asked, given and overdue, reviews concluded, promises due): one per committee and month, recorded in the
-- transaction that sends it, so a restart neither skips nor repeats one.
CREATE TABLE alert_digests_sent (
    committee text        NOT NULL,
    month     date        NOT NULL,  -- its first day
    sent_at   timestamptz NOT NULL DEFAULT now(),
    addresses text[]      NOT NULL,
    PRIMARY KEY (committee, month)
);
