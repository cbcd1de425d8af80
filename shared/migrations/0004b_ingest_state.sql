-- The ingest service's own state: what it validates new submissions against. Updated in the same
-- transaction as the events it derives from, under the append lock, so it is never stale.

CREATE TABLE ingest_units (
    unit_code   text PRIMARY KEY,
    parent_code text,
    merged_into text,
    merged_on   date
);
CREATE INDEX ingest_units_by_parent ON ingest_units (parent_code);

CREATE TABLE ingest_tenures (
    tenure_id  text PRIMARY KEY,
    unit_code  text NOT NULL,
    leader_id  text NOT NULL,
    leader_name text NOT NULL,
    role       text NOT NULL,
    start_date date NOT NULL,
    end_date   date
);
CREATE INDEX ingest_tenures_by_unit ON ingest_tenures (unit_code);

-- The figure that counts for each key and date (the latest report), for the "cumulative never falls" check.
CREATE TABLE ingest_figures (
    unit_code    text    NOT NULL,
    indicator    text    NOT NULL,
    plan_year    integer NOT NULL,
    category     text    NOT NULL,
    project_code text    NOT NULL,
    as_of        date    NOT NULL,
    amount_kind  text    NOT NULL,
    amount       numeric NOT NULL,
    PRIMARY KEY (unit_code, indicator, plan_year, category, project_code, as_of)
);
