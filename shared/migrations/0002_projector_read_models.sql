-- Projector read models. Disposable: everything here can be rebuilt from the event store.

-- Where the projector is in each ledger partition; committed with the rows it produced.
CREATE TABLE projector_offsets (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (topic, partition)
);

CREATE TABLE units (
    unit_code   text PRIMARY KEY,
    name        text NOT NULL,
    level       text NOT NULL,
    parent_code text,
    committee   text NOT NULL,
    position    bigint NOT NULL  -- the event that set this row; a later position wins
);

-- Kept apart from units: a merger may be delivered before the registration of the units it names.
CREATE TABLE unit_mergers (
    predecessor_code text   PRIMARY KEY,
    successor_code   text   NOT NULL,
    effective_date   date   NOT NULL,
    position         bigint NOT NULL
);

CREATE TABLE tenures (
    tenure_id   text PRIMARY KEY,
    unit_code   text,
    leader_id   text,
    leader_name text,
    role        text,
    indicator   text,
    start_date  date,
    end_date    date,          -- last day in the post; NULL while in office
    appointed_position bigint,
    left_position      bigint
);
CREATE INDEX tenures_by_unit ON tenures (unit_code, start_date);

CREATE TABLE targets (
    unit_code  text    NOT NULL,
    indicator  text    NOT NULL,
    plan_year  integer NOT NULL,
    amount     numeric NOT NULL,
    late_supplement    numeric NOT NULL DEFAULT 0, -- supplemented after 30 September
    decision_number    text NOT NULL,
    decision_date      date,
    decision_authority text NOT NULL,
    position   bigint  NOT NULL,
    PRIMARY KEY (unit_code, indicator, plan_year)
);

-- Every target and adjustment, for "as known on" questions (targets above keeps only the latest).
CREATE TABLE target_history (
    position        bigint  PRIMARY KEY,
    unit_code       text    NOT NULL,
    indicator       text    NOT NULL,
    plan_year       integer NOT NULL,
    amount          numeric NOT NULL,
    late_supplement numeric NOT NULL,
    known_on        date    NOT NULL
);

-- Every reported figure, keyed by the event that reported it: a redelivered event is a no-op, and
-- "the later report for the same date supersedes" is the highest position, whatever the arrival order.
CREATE TABLE figures (
    position          bigint  PRIMARY KEY,
    unit_code         text    NOT NULL,
    indicator         text    NOT NULL,
    plan_year         integer NOT NULL,
    category          text    NOT NULL,
    project_code      text    NOT NULL,  -- '' when reported for the unit as a whole
    as_of             date    NOT NULL,
    amount_kind       text    NOT NULL,  -- cumulative | period
    amount            numeric NOT NULL,
    correction_reason text,
    known_on          date    NOT NULL  -- when it became known: the source document's date, else the day recorded
);
CREATE INDEX figures_by_key ON figures (unit_code, indicator, plan_year, category, project_code, as_of, position);

CREATE TABLE confidence_votes (
    position  bigint  PRIMARY KEY,
    unit_code text    NOT NULL,
    leader_id text    NOT NULL,
    vote_date date    NOT NULL,
    voters    integer NOT NULL,
    high      integer NOT NULL,
    confidence integer NOT NULL,
    low       integer NOT NULL,
    band      text    NOT NULL   -- Regulation 96: dismissal (≥ 2/3 low) | review (> 1/2 low) | none
);

-- Who answered for each indicator, stint by stint: the plan year split among the heads (or acting
-- heads) in post, and separately among the deputies in charge of the indicator; vacant stints have no
-- leader. Recomputed with the unit's progress and whenever its tenures change.
CREATE TABLE leader_accountability (
    unit_code      text    NOT NULL,
    indicator      text    NOT NULL,
    plan_year      integer NOT NULL,
    answerable_as  text    NOT NULL,  -- head | deputy_in_charge
    stint_start    date    NOT NULL,
    stint_end      date    NOT NULL,
    leader_id      text,              -- NULL: vacant
    leader_name    text,
    role           text,              -- head | acting_head | deputy_in_charge
    tenure_id      text,
    tenure_start   date,
    tenure_end     date,
    rate_at_start  numeric,
    rate_at_end    numeric,
    gap_at_start   numeric,           -- expected pace minus rate when the stint began
    gap_at_end     numeric,
    gap_arisen     numeric,           -- the part of the gap that arose during the stint
    months_behind  integer NOT NULL,
    PRIMARY KEY (unit_code, indicator, plan_year, answerable_as, stint_start)
);

-- Progress of each unit on each date it reported, in total (category '') and per category/capital
-- source. Recomputed per (unit, indicator, plan year) from the facts above whenever one of them changes.
CREATE TABLE unit_progress_history (
    unit_code       text    NOT NULL,
    indicator       text    NOT NULL,
    plan_year       integer NOT NULL,
    category        text    NOT NULL,  -- '' for the unit's total
    as_of           date    NOT NULL,
    target          numeric,           -- after adjustments; the same on every category row
    comparable_target numeric,         -- target less capital supplemented after 30 September
    actual_ytd      numeric NOT NULL,
    rate            numeric,           -- actual / target (a fraction); per category: its share of the target
    comparable_rate numeric,           -- actual / comparable target (total rows)
    expected_pace   numeric NOT NULL,  -- the share of the target expected by as_of
    gap_to_pace     numeric,           -- expected_pace - rate (total rows)
    status          text,              -- on_track | behind | critical | not_assessed (total rows)
    peer_group      text,              -- 'national' (provinces and central agencies) or level/parent
    peer_average    numeric,           -- the group's weighted rate on this date (total rows)
    standing        text,              -- at_or_above | below | not_assessed (total rows)
    peer_rank       integer,           -- 1 = best; ties share a rank
    version         bigint  NOT NULL,  -- highest event position among the facts of this unit/indicator/year
    PRIMARY KEY (unit_code, indicator, plan_year, category, as_of)
);

-- The current progress: each unit's total on its latest reported date.
CREATE VIEW unit_progress AS
SELECT DISTINCT ON (unit_code, indicator, plan_year)
       unit_code, indicator, plan_year, as_of, target, comparable_target, actual_ytd, rate, comparable_rate,
       expected_pace, gap_to_pace, status, peer_group, peer_average, standing, peer_rank, version
FROM unit_progress_history
WHERE category = ''
ORDER BY unit_code, indicator, plan_year, as_of DESC;
