-- Owner: API tokens and accounts (shared/auth.py). People sign in with accounts of their own: a clerk, a
-- committee member, the head of a unit (bound to the leader record PIM names as answerable), a board member,
-- an admin; each acts for units (with everything below them) or for the whole country (`everywhere`: a
-- central committee, units registered later included). Passwords are Argon2 hashes. Machines keep tokens;
-- the portal's own token ('portal') acts only for the signed-in person it names.
CREATE TABLE accounts (
    account_id    text        PRIMARY KEY,
    email         text        NOT NULL,
    name          text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('clerk', 'committee', 'head', 'board', 'admin')),
    units         text[]      NOT NULL DEFAULT '{}',
    everywhere    boolean     NOT NULL DEFAULT false,
    leader_id     text,                  -- a head's leader record (tenures.leader_id)
    password_hash text,                  -- NULL: signs in through the province's OpenID Connect provider
    created_at    timestamptz NOT NULL DEFAULT now(),
    changed_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);
CREATE UNIQUE INDEX accounts_by_email ON accounts (lower(email));

ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('admin', 'department', 'committee', 'board', 'portal'));
