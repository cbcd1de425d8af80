-- What the projector's facts changed that its derived rows (progress, peer standing, accountability) have
-- not caught up with yet. Written in the transaction that writes the facts and moves the checkpoint;
-- deleted in the one that recomputes the derived rows. A burst of events is folded into few recomputes,
-- and a crash between the two leaves the work recorded here.
CREATE TABLE projector_pending (
    kind      text    NOT NULL,  -- progress: a unit/indicator/year | registered | retenured | merged: a unit
    unit_code text    NOT NULL,
    indicator text    NOT NULL DEFAULT '',
    plan_year integer NOT NULL DEFAULT 0,
    since     date    NOT NULL DEFAULT '0001-01-01',  -- progress: the earliest date whose rows changed
    recorded_at timestamptz NOT NULL DEFAULT now(),  -- when the oldest of its facts was written
    PRIMARY KEY (kind, unit_code, indicator, plan_year)
);
