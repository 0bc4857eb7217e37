-- The tables every dataset shares. Idempotent: executed before a load whenever the schema changed, so a
-- fresh database needs no manual step (covid_etl/load/database.py).

-- Every publication (one version of one file of a dataset) a run loaded. ident orders publications with
-- the same commit time and names them: the commit id, or "run:<run id>" for an unpinned download (a URL
-- override), which counts as published when its run started. The scope is the dates the file holds:
-- a publication replaces the dataset's rows of those dates (a key it no longer has is deleted).
CREATE TABLE IF NOT EXISTS dataset_publications (
    id           integer     GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset      text        NOT NULL,
    part         text        NOT NULL,
    ident        text        NOT NULL,
    commit       text,
    published_at timestamptz NOT NULL,
    scope_from   date        NOT NULL,
    scope_to     date        NOT NULL,
    url          text        NOT NULL,
    sha256       text        NOT NULL,
    rows         bigint      NOT NULL,
    first_date   date,
    last_date    date,
    run_id       text        NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (dataset, part, ident)
);
CREATE INDEX IF NOT EXISTS dataset_publications_order_idx ON dataset_publications (dataset, published_at, ident);

-- Per dataset, date and publication, the fingerprint of the day's lines as the publication had them
-- (covid_etl/read/fingerprints.py): what a load compares a publication with, instead of the table's rows
-- (ADR 0005). A record is written only where a publication's day differs from the one before it (rows 0
-- and empty digests: the day is gone), so a publication's day is its latest record at or before it in
-- publication order; the table's, the newest publication's. A statement that changes a dataset's table
-- outside a load deletes the dataset's fingerprints (the trigger below), and the next load then compares
-- with the rows themselves.
-- Fingerprints of the table alone (before they were kept per publication) are dropped: the next load of
-- each dataset compares every row, once.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = 'dataset_fingerprinted'
                  AND column_name = 'scope_from') THEN
        DROP TABLE dataset_fingerprints, dataset_fingerprinted;
    END IF;
END
$$;
CREATE TABLE IF NOT EXISTS dataset_fingerprints (
    dataset     text    NOT NULL,
    date        date    NOT NULL,
    publication integer NOT NULL REFERENCES dataset_publications (id),
    rows        integer NOT NULL,
    keysum      bigint  NOT NULL,
    digest      bytea   NOT NULL,
    blocks      bytea   NOT NULL,
    chunks      bytea   NOT NULL,
    PRIMARY KEY (dataset, date, publication)
);

-- The publications whose every day is told by the fingerprints (each loaded with its fingerprints
-- written since they were last voided): a publication can be compared with these only.
CREATE TABLE IF NOT EXISTS dataset_fingerprinted (
    dataset     text    NOT NULL,
    publication integer NOT NULL REFERENCES dataset_publications (id),
    PRIMARY KEY (dataset, publication)
);

CREATE OR REPLACE FUNCTION covid_etl_forget_fingerprints() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dataset_fingerprinted WHERE dataset = TG_ARGV[0];
    DELETE FROM dataset_fingerprints WHERE dataset = TG_ARGV[0];
    RETURN NULL;
END
$$;

-- A publication's day is its latest record at or before it: a record deleted outside a load would let an
-- older one stand for it. Fingerprints deleted outside a load void the marks of their datasets (all of
-- them, for a TRUNCATE), and the next load of each compares every row.
CREATE OR REPLACE FUNCTION covid_etl_forget_fingerprinted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM dataset_fingerprinted;
    ELSE
        DELETE FROM dataset_fingerprinted WHERE dataset IN (SELECT dataset FROM deleted);
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER dataset_fingerprints_deleted
    AFTER DELETE ON dataset_fingerprints
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT
    WHEN (current_setting('covid_etl.loading', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION covid_etl_forget_fingerprinted();
CREATE OR REPLACE TRIGGER dataset_fingerprints_truncated
    AFTER TRUNCATE ON dataset_fingerprints
    FOR EACH STATEMENT
    WHEN (current_setting('covid_etl.loading', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION covid_etl_forget_fingerprinted();

-- The fingerprints say what the tables hold only if the loader alone writes them (a copy from another
-- database would not): other sessions may delete them (the next load then compares every row), not write.
CREATE OR REPLACE FUNCTION covid_etl_loader_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is written by covid_etl''s loader only: delete its rows instead, and the next load compares every row',
        TG_TABLE_NAME;
END
$$;
CREATE OR REPLACE TRIGGER dataset_fingerprints_loader_only
    BEFORE INSERT OR UPDATE ON dataset_fingerprints
    FOR EACH STATEMENT
    WHEN (current_setting('covid_etl.loading', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION covid_etl_loader_only();
CREATE OR REPLACE TRIGGER dataset_fingerprinted_loader_only
    BEFORE INSERT OR UPDATE ON dataset_fingerprinted
    FOR EACH STATEMENT
    WHEN (current_setting('covid_etl.loading', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION covid_etl_loader_only();

-- A dataset's history names the publications of its changes (dataset_schema.sql). What a foreign key
-- would ensure, checked once per statement rather than once per change (ADR 0009: a third of writing the
-- changes): the publications a statement's changes name exist, locked FOR KEY SHARE as a foreign key's
-- check locks them, so that none is deleted before the transaction ends; and publications deleted are
-- named by no change of the table TG_ARGV[0] (that deletion waits for such locks).
CREATE OR REPLACE FUNCTION covid_etl_publications_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    named  integer[];
    locked integer;
BEGIN
    SELECT array_agg(publication) INTO named FROM (SELECT DISTINCT publication FROM written) w;
    PERFORM 1 FROM dataset_publications WHERE id = ANY (named) FOR KEY SHARE;
    GET DIAGNOSTICS locked = ROW_COUNT;
    IF locked < coalesce(cardinality(named), 0) THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('%s names publications that dataset_publications lacks: %s', TG_TABLE_NAME,
                             (SELECT string_agg(n::text, ', ') FROM unnest(named) n
                               WHERE NOT EXISTS (SELECT 1 FROM dataset_publications p WHERE p.id = n)));
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION covid_etl_publications_unnamed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    named integer;
BEGIN
    EXECUTE format('SELECT publication FROM %I WHERE publication IN (SELECT id FROM removed) LIMIT 1', TG_ARGV[0])
       INTO named;
    IF named IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('publication %s is named by %s: it cannot be deleted', named, TG_ARGV[0]);
    END IF;
    RETURN NULL;
END
$$;

-- One row per run and dataset, success, skip or failure: what was read, what changed, and the error if any.
CREATE TABLE IF NOT EXISTS etl_runs (
    id             bigserial   PRIMARY KEY,
    run_id         text        NOT NULL,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL DEFAULT now(),
    status         text        NOT NULL,
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
-- Added with pinned publications: the dataset, the rows that lost to a newer publication, and per file
-- its URL, commit (NULL when unpinned), commit time, sha256 and rows, as a JSON array.
ALTER TABLE etl_runs ADD COLUMN IF NOT EXISTS dataset text NOT NULL DEFAULT 'national';
ALTER TABLE etl_runs ADD COLUMN IF NOT EXISTS rows_stale integer;
ALTER TABLE etl_runs ADD COLUMN IF NOT EXISTS sources jsonb;
-- Added with the history of every dataset: the keys a publication no longer has.
ALTER TABLE etl_runs ADD COLUMN IF NOT EXISTS rows_deleted integer;
-- 'skipped': every resolved publication had been loaded already, so the run loaded nothing.
ALTER TABLE etl_runs DROP CONSTRAINT IF EXISTS etl_runs_status_check;
ALTER TABLE etl_runs ADD CONSTRAINT etl_runs_status_check CHECK (status IN ('success', 'failed', 'skipped'));

-- The national series: NYT's cases and deaths joined on date with JHU's recovered (merge_national.sql).
CREATE TABLE IF NOT EXISTS covid_us_daily (
    date        date        PRIMARY KEY,
    cases       bigint      NOT NULL CHECK (cases >= 0),
    deaths      bigint      NOT NULL CHECK (deaths >= 0),
    -- NULL: JHU did not report US recoveries that day (it reports 0 from 2020-12-14 on).
    recovered   bigint      NULL CHECK (recovered >= 0),
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    run_id      text        NOT NULL
);
