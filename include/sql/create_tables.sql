-- Idempotent DDL: every run executes it, so a fresh database needs no manual step.
CREATE TABLE IF NOT EXISTS covid_us_daily (
    date        date        PRIMARY KEY,
    cases       bigint      NOT NULL CHECK (cases >= 0),
    deaths      bigint      NOT NULL CHECK (deaths >= 0),
    -- NULL: JHU did not report US recoveries that day (it reports 0 from 2020-12-14 on).
    recovered   bigint      NULL CHECK (recovered >= 0),
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    run_id      text        NOT NULL
);

CREATE TABLE IF NOT EXISTS etl_runs (
    id             bigserial   PRIMARY KEY,
    run_id         text        NOT NULL,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL DEFAULT now(),
    status         text        NOT NULL CHECK (status IN ('success', 'failed')),
    nyt_url        text,
    nyt_sha256     text,
    nyt_rows       integer,
    jhu_url        text,
    jhu_sha256     text,
    jhu_rows       integer,
    rows_inserted  integer,
    rows_updated   integer,
    rows_unchanged integer,
    first_date     date,
    last_date      date,
    error          text
);

CREATE INDEX IF NOT EXISTS etl_runs_started_at_idx ON etl_runs (started_at DESC);
