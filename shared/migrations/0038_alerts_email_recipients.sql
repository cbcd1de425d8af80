-- Owner: the alerts service. Who each alert e-mail reached: one e-mail per person gathers the notifications
-- of one evaluation round for them (with their own signed links), so a delivery is per address. A retry after
-- a partial failure sends only to the addresses not yet reached; the alert's page lists them.
CREATE TABLE alert_email_recipients (
    position bigint      NOT NULL,  -- the notification (its alert event's position)
    address  text        NOT NULL,
    sent_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (position, address)
);
