-- Idempotent DDL: every run executes it, so a fresh database needs no manual step, and a database of
-- an earlier version is brought up to date (ADD COLUMN IF NOT EXISTS, constraints replaced).
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

-- Added with pinned publications: the dataset, the days that lost to a newer publication, and per
-- source its URL, commit (NULL when unpinned), commit time, sha256 and rows, as a JSON array.
ALTER TABLE etl_runs ADD COLUMN IF NOT EXISTS dataset text NOT NULL DEFAULT 'national';
ALTER TABLE etl_runs ADD COLUMN IF NOT EXISTS rows_stale integer;
ALTER TABLE etl_runs ADD COLUMN IF NOT EXISTS sources jsonb;
-- 'skipped': every resolved publication had been loaded already, so the run loaded nothing.
ALTER TABLE etl_runs DROP CONSTRAINT IF EXISTS etl_runs_status_check;
ALTER TABLE etl_runs ADD CONSTRAINT etl_runs_status_check CHECK (status IN ('success', 'failed', 'skipped'));

-- Every publication (one version of one source file) a run loaded. ident orders publications with the
-- same commit time and names them: the commit id, or "run:<run id>" for an unpinned download (a URL
-- override), which counts as published when its run started.
CREATE TABLE IF NOT EXISTS covid_publications (
    source       text        NOT NULL CHECK (source IN ('NYT', 'JHU')),
    ident        text        NOT NULL,
    commit       text,
    published_at timestamptz NOT NULL,
    url          text        NOT NULL,
    sha256       text        NOT NULL,
    first_date   date        NOT NULL,
    last_date    date        NOT NULL,
    days         integer     NOT NULL,
    run_id       text        NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, ident)
);
CREATE INDEX IF NOT EXISTS covid_publications_order_idx ON covid_publications (source, published_at, ident);

-- Per source and day, the values of each publication that changed them (see history.sql).
CREATE TABLE IF NOT EXISTS covid_us_daily_history (
    source       text        NOT NULL,
    date         date        NOT NULL,
    published_at timestamptz NOT NULL,
    ident        text        NOT NULL,
    cases        bigint,
    deaths       bigint,
    recovered    bigint,
    PRIMARY KEY (source, date, published_at, ident),
    FOREIGN KEY (source, ident) REFERENCES covid_publications (source, ident)
);
