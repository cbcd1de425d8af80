-- The alerts service's own state: which alerts are open, and which progress it has evaluated.

CREATE TABLE alerts (
    fingerprint   text PRIMARY KEY,  -- unit / indicator / rule / plan year: one open alert at a time
    unit_code     text    NOT NULL,
    indicator     text    NOT NULL,
    plan_year     integer NOT NULL,
    rule          text    NOT NULL,
    severity      text    NOT NULL,
    status        text    NOT NULL,  -- open | resolved
    as_of         date    NOT NULL,
    responsible_leader_id   text,
    responsible_leader_name text,
    committee     text    NOT NULL,
    evidence      jsonb   NOT NULL,
    raised_position bigint NOT NULL  -- the AlertRaised event in the store
);

CREATE TABLE alert_evaluations (
    unit_code text    NOT NULL,
    indicator text    NOT NULL,
    plan_year integer NOT NULL,
    version   bigint  NOT NULL,  -- the unit_progress version last evaluated
    PRIMARY KEY (unit_code, indicator, plan_year)
);
