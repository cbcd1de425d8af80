-- pim_service: what the services' login may do. It owns nothing, so it cannot disable or drop the
-- append-only trigger, alter a table or change the schema; the operator's login (which runs the
-- migrations, rebuilds and token commands) owns the tables. A login for the services is made by
-- `pim init` (PIM_SERVICE_PASSWORD) or by `pim up` as a member: CREATE ROLE pim_app LOGIN IN ROLE pim_service.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pim_service') THEN
        CREATE ROLE pim_service NOLOGIN;  -- roles are cluster-wide; databases grant it their own tables
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database's migration made it at the same moment
END
$$;

-- Called by every migration run and after `pim projector rebuild`, whose fresh tables carry no grants.
CREATE FUNCTION pim_grant_service() RETURNS void LANGUAGE sql AS $$
    GRANT USAGE ON SCHEMA public TO pim_service;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO pim_service;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO pim_service;
    -- The log is append-only, tokens are the operator's to make and revoke, the schema the migrations'.
    REVOKE UPDATE, DELETE ON events FROM pim_service;
    REVOKE INSERT, UPDATE, DELETE ON api_tokens, schema_migrations FROM pim_service;
$$;
SELECT pim_grant_service();
