-- Owner: API tokens and accounts (shared/auth.py). Who gave or took away access, and when: every account
-- made or changed and every token made or revoked, by an admin in the pages or an operator with the CLI.
-- Append-only, like the event log (it is not on the ledger: it names people's e-mails and roles).
CREATE TABLE access_changes (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    by_whom   text        NOT NULL,  -- "Name <e-mail>" of an admin, or "operator (pim accounts)"
    action    text        NOT NULL,  -- account_made | account_changed | token_made | token_revoked
    subject   text        NOT NULL,  -- the account's e-mail, or the token's id
    detail    jsonb       NOT NULL DEFAULT '{}'
);
CREATE TRIGGER access_changes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON access_changes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
