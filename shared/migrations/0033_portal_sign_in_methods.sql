-- Owner: the portal (services/portal). How each sign-in was made: a PIM password, or the province's
-- OpenID Connect provider (the e-mail it vouched for, matched to a PIM account).
ALTER TABLE portal_sign_ins ADD COLUMN method text NOT NULL DEFAULT 'password' CHECK (method IN ('password', 'oidc'));
