-- Owner: API tokens (shared/auth.py). Boards (Ban Tổ chức) read the board pack with a token of their own:
-- read-only, refused by every route that writes.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('admin', 'department', 'committee', 'board'));
