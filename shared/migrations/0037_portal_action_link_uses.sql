-- Owner: the portal (services/portal). Each signed action link used (an e-mail's "acknowledge", "write the
-- explanation", "open the alert"): a link is one person's, for one alert and one purpose, and opens nothing
-- after its first use. The row is written in the transaction that acts, so two clicks at once act once.
CREATE TABLE portal_action_link_uses (
    link_id     text        PRIMARY KEY,
    account_id  text        NOT NULL,
    fingerprint text        NOT NULL,
    purpose     text        NOT NULL CHECK (purpose IN ('open', 'acknowledge', 'explain')),
    used_at     timestamptz NOT NULL DEFAULT now(),
    client      text        NOT NULL
);
CREATE INDEX portal_action_link_uses_by_account ON portal_action_link_uses (account_id, used_at);
