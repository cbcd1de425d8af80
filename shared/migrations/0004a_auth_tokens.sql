-- Owner: API tokens (shared/auth.py), read by every service that answers HTTP.

-- API tokens: only a hash of the secret is kept; the token itself is shown once, at creation.
CREATE TABLE api_tokens (
    token_id    text PRIMARY KEY,
    name        text NOT NULL,
    secret_hash bytea NOT NULL,
    role        text NOT NULL CHECK (role IN ('admin', 'department', 'committee')),
    units       text[] NOT NULL DEFAULT '{}',  -- the units (with their subordinates) it may act for
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
