-- What was known on each past month end (services/projector/time_travel.py): each unit's latest progress
-- row computed from the facts known that day, for screens that read tables (the leader dashboard's
-- "as known on"). Computed by the same code as `pim progress --as-known-on`; rebuildable like the rest.
CREATE TABLE known_on_progress (
    known_on          date    NOT NULL,
    unit_code         text    NOT NULL,
    indicator         text    NOT NULL,
    plan_year         integer NOT NULL,
    category          text    NOT NULL,
    as_of             date    NOT NULL,
    target            numeric,
    comparable_target numeric,
    actual_ytd        numeric NOT NULL,
    rate              numeric,
    comparable_rate   numeric,
    expected_pace     numeric NOT NULL,
    gap_to_pace       numeric,
    status            text,
    version           bigint  NOT NULL,
    PRIMARY KEY (known_on, unit_code, indicator, plan_year)
);

-- The first and last day any fact became known: the span of month ends the snapshots cover.
CREATE TABLE known_on_span (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    first     date    NOT NULL,
    last      date    NOT NULL
);

CREATE OR REPLACE FUNCTION pim_grant_reader() RETURNS void LANGUAGE sql AS $$
    GRANT USAGE ON SCHEMA public TO pim_reader;
    GRANT SELECT ON units, unit_mergers, tenures, targets, target_history, figures, confidence_votes,
        leader_accountability, unit_progress_history, unit_progress, alerts, assessment_groups, assessment_lists,
        assessment_members, assessment_rows, assessment_totals, assessment_bases, assessment_states,
        assessment_standings, unit_standing_history, known_on_progress TO pim_reader;
$$;
SELECT pim_grant_reader();
