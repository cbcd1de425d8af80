-- pim_reader (Grafana's login) sees what the dashboards read and nothing more: the relations their queries
-- name, those the functions they call read (reporting_standings: the reporting periods, the groups' members,
-- the units' names, mergers and dissolutions), and unit_progress (each unit as it stands, for a board's own
-- query in Grafana's Explore). tests/unit/test_reader_grants.py holds this list equal to the dashboards' needs.
CREATE OR REPLACE FUNCTION pim_grant_reader() RETURNS void LANGUAGE sql AS $$
    REVOKE ALL ON ALL TABLES IN SCHEMA public FROM pim_reader;
    GRANT USAGE ON SCHEMA public TO pim_reader;
    GRANT SELECT ON alert_ages, alerts, assessment_groups, assessment_lists, assessment_members,
        assessment_standings, assessment_totals, confidence_votes, figures, known_on_progress,
        leader_accountability, leader_scorecards, reporting_periods, review_timeline, targets, tenures,
        unit_dissolutions, unit_mergers, unit_progress, unit_progress_history, unit_standing_history,
        unit_versions, units TO pim_reader;
$$;
SELECT pim_grant_reader();
