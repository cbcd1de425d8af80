-- Owner: the portal (services/portal), PIM's web pages for people. A session is a random secret in a
-- Secure, HttpOnly, SameSite cookie, kept here as its SHA-256, with the form token (CSRF) of that session;
-- it expires, and signing out ends it. Every sign-in, failed or not, is kept: the audit, and the count
-- that throttles guessing.
CREATE TABLE portal_sessions (
    session_hash bytea       PRIMARY KEY,
    account_id   text        NOT NULL,
    csrf_token   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz
);
CREATE INDEX portal_sessions_by_account ON portal_sessions (account_id);

CREATE TABLE portal_sign_ins (
    at         timestamptz NOT NULL DEFAULT now(),
    email      text        NOT NULL,   -- as typed, lower-cased
    client     text        NOT NULL,   -- the client's address
    account_id text,                   -- who signed in; NULL: refused
    outcome    text        NOT NULL CHECK (outcome IN ('signed_in', 'refused', 'throttled', 'signed_out'))
);
CREATE INDEX portal_sign_ins_by_email ON portal_sign_ins (email, at);
CREATE INDEX portal_sign_ins_by_client ON portal_sign_ins (client, at);
