-- Owner: the projector (services/projector). A leader's months behind the pace in a plan year, over all
-- the stints answered for (any unit, any indicator): the one total the board pack's scorecards and the
-- leader dashboard show.
CREATE VIEW leader_scorecards AS
SELECT leader_id, plan_year, min(leader_name) AS leader_name, count(*)::integer AS stints,
       sum(months_behind)::integer AS months_behind
FROM leader_accountability WHERE leader_id IS NOT NULL
GROUP BY leader_id, plan_year;

CREATE OR REPLACE FUNCTION pim_grant_reader() RETURNS void LANGUAGE sql AS $$
    GRANT USAGE ON SCHEMA public TO pim_reader;
    GRANT SELECT ON units, unit_mergers, tenures, targets, target_history, figures, confidence_votes,
        leader_accountability, unit_progress_history, unit_progress, alerts, assessment_groups, assessment_lists,
        assessment_members, assessment_rows, assessment_totals, assessment_bases, assessment_states,
        assessment_standings, unit_standing_history, known_on_progress, alert_ages, leader_scorecards
        TO pim_reader;
$$;
SELECT pim_grant_reader();
