-- Idempotent DDL of the generic datasets (covid_etl/datasets.py): every load executes it.
-- run_id defaults to the loading transaction's setting covid_etl.run_id (SET LOCAL by the loader), so
-- that COPY can fill the table without sending it on every line.
CREATE TABLE IF NOT EXISTS covid_us_state_daily (
    date      date        NOT NULL,
    state     text        NOT NULL,
    fips      text,
    cases     bigint      NOT NULL CHECK (cases >= 0),
    deaths    bigint      NOT NULL CHECK (deaths >= 0),
    loaded_at timestamptz NOT NULL DEFAULT now(),
    run_id    text        NOT NULL DEFAULT current_setting('covid_etl.run_id', true),
    PRIMARY KEY (date, state)
);

-- fips is NULL for NYT's geographic exceptions (New York City, Kansas City, Joplin, "Unknown").
CREATE TABLE IF NOT EXISTS covid_us_county_daily (
    date      date        NOT NULL,
    state     text        NOT NULL,
    county    text        NOT NULL,
    fips      text,
    cases     bigint      NOT NULL CHECK (cases >= 0),
    deaths    bigint      NOT NULL CHECK (deaths >= 0),
    loaded_at timestamptz NOT NULL DEFAULT now(),
    run_id    text        NOT NULL DEFAULT current_setting('covid_etl.run_id', true),
    PRIMARY KEY (date, state, county)
);

-- Per dataset and file, the publication the table holds (its rows were all written): what the next
-- load compares a new publication with, so that it sends only the rows that changed.
CREATE TABLE IF NOT EXISTS dataset_files (
    dataset      text        NOT NULL,
    part         text        NOT NULL,
    commit       text,
    published_at timestamptz NOT NULL,
    sha256       text        NOT NULL,
    rows         bigint      NOT NULL,
    staged_path  text        NOT NULL,
    run_id       text        NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dataset, part)
);
