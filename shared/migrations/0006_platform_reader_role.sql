-- pim_reader: what Grafana (and any other dashboard) may read. SELECT on the read models and alerts,
-- nothing else: no events (they carry who submitted what), no api_tokens (secret hashes), no writes.
-- A login for Grafana is made by the operator as a member: CREATE ROLE grafana LOGIN PASSWORD '…' IN ROLE pim_reader.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pim_reader') THEN
        CREATE ROLE pim_reader NOLOGIN;  -- roles are cluster-wide; databases grant it their own tables
    END IF;
END
$$;

-- Also called after `pim projector rebuild`, whose fresh tables carry no grants.
CREATE FUNCTION pim_grant_reader() RETURNS void LANGUAGE sql AS $$
    GRANT USAGE ON SCHEMA public TO pim_reader;
    GRANT SELECT ON units, unit_mergers, tenures, targets, target_history, figures, confidence_votes,
        leader_accountability, unit_progress_history, unit_progress, alerts TO pim_reader;
$$;
SELECT pim_grant_reader();
