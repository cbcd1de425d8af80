-- A role per service (pim_ingest, pim_relay, pim_projector, pim_alerts, pim_portal; each service's login is a
-- member of its own): its own tables to read and write, every owner's published relations to read, and the
-- shared owners' tables its code uses through shared/ (the store's appends, the accounts an admin changes).
-- shared/service_roles.py makes the roles (cluster-wide: a restored dump needs them again) and grants them
-- after every migration run and every rebuild, computed from the migrations' owners and shared/db.py's
-- PUBLISHED. pim_service (the login of a process that runs several services: `pim up`) is a member of all
-- five and holds nothing of its own any more.
CREATE OR REPLACE FUNCTION pim_grant_service() RETURNS void LANGUAGE sql AS $$
    REVOKE ALL ON ALL TABLES IN SCHEMA public FROM pim_service;
    GRANT USAGE ON SCHEMA public TO pim_service;
$$;
SELECT pim_grant_service();
