-- The history of every publication loaded, and what it answers. Idempotent: every run executes it.
--
-- covid_us_daily_history holds, per source and per day, only the changes: a day's values as a
-- publication gave them, where they differ from that source's previous publication in publication
-- order (published_at, then ident). A day's first appearance is stored too; it is not a revision.
-- Publications may be loaded in any order: covid_record_publication keeps the history the same as if
-- they had been loaded oldest first.

-- The merged table as it would stand had only the loaded publications committed at or before `at`
-- been loaded: per day, each source's values from its newest such publication; NYT's cases and
-- deaths joined on date with JHU's recovered (NULL: not reported), as the pipeline merges them.
CREATE OR REPLACE FUNCTION covid_us_daily_as_of(at timestamptz)
RETURNS TABLE (date date, cases bigint, deaths bigint, recovered bigint)
LANGUAGE sql STABLE AS $$
    WITH nyt AS (
        SELECT DISTINCT ON (h.date) h.date, h.cases, h.deaths
          FROM covid_us_daily_history h
         WHERE h.source = 'NYT' AND h.published_at <= at
         ORDER BY h.date, h.published_at DESC, h.ident DESC
    ), jhu AS (
        SELECT DISTINCT ON (h.date) h.date, h.recovered
          FROM covid_us_daily_history h
         WHERE h.source = 'JHU' AND h.published_at <= at
         ORDER BY h.date, h.published_at DESC, h.ident DESC
    )
    SELECT nyt.date, nyt.cases, nyt.deaths, jhu.recovered
      FROM nyt JOIN jhu ON jhu.date = nyt.date
     ORDER BY nyt.date
$$;

-- One row per revision: a day's values in a publication that differ from the same source's previous
-- publication of that day (first appearances are not revisions).
CREATE OR REPLACE VIEW covid_us_daily_revisions AS
    SELECT *
      FROM (
        SELECT h.date,
               h.source,
               h.published_at,
               p.commit,
               lag(h.published_at) OVER by_day AS previous_published_at,
               lag(h.cases) OVER by_day AS old_cases,
               h.cases AS new_cases,
               lag(h.deaths) OVER by_day AS old_deaths,
               h.deaths AS new_deaths,
               lag(h.recovered) OVER by_day AS old_recovered,
               h.recovered AS new_recovered,
               row_number() OVER by_day AS appearance
          FROM covid_us_daily_history h
          JOIN covid_publications p ON p.source = h.source AND p.ident = h.ident
        WINDOW by_day AS (PARTITION BY h.source, h.date ORDER BY h.published_at, h.ident)
      ) changes
     WHERE appearance > 1;

-- Record publication (p_source, p_published_at, p_ident) from the temporary table incoming_publication
-- (date, cases, deaths, recovered), whose row in covid_publications already exists. For each day:
--   1. the publication gets an entry if the day is new or differs from the state just before it;
--   2. the next publication that covers the day (when this one arrived late) is compared anew against
--      this one: its entry is dropped if it now repeats this publication's values, or added (with the
--      values it really had, which were the state before) if this publication changed them.
-- Publications cover a contiguous range of days (first_date .. last_date in covid_publications).
CREATE OR REPLACE FUNCTION covid_record_publication(p_source text, p_published_at timestamptz, p_ident text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TEMPORARY TABLE publication_plan ON COMMIT DROP AS
    SELECT i.date, i.cases, i.deaths, i.recovered,
           before.found AS had_before, before.cases AS before_cases, before.deaths AS before_deaths,
           before.recovered AS before_recovered,
           later.published_at AS next_published_at, later.ident AS next_ident,
           next_entry.found AS next_had_entry, next_entry.cases AS next_cases,
           next_entry.deaths AS next_deaths, next_entry.recovered AS next_recovered
      FROM incoming_publication i
      LEFT JOIN LATERAL (
            SELECT true AS found, h.cases, h.deaths, h.recovered
              FROM covid_us_daily_history h
             WHERE h.source = p_source AND h.date = i.date AND (h.published_at, h.ident) < (p_published_at, p_ident)
             ORDER BY h.published_at DESC, h.ident DESC
             LIMIT 1) before ON true
      LEFT JOIN LATERAL (
            SELECT p.published_at, p.ident
              FROM covid_publications p
             WHERE p.source = p_source AND (p.published_at, p.ident) > (p_published_at, p_ident)
               AND i.date BETWEEN p.first_date AND p.last_date
             ORDER BY p.published_at, p.ident
             LIMIT 1) later ON true
      LEFT JOIN LATERAL (
            SELECT true AS found, h.cases, h.deaths, h.recovered
              FROM covid_us_daily_history h
             WHERE h.source = p_source AND h.date = i.date
               AND (h.published_at, h.ident) = (later.published_at, later.ident)) next_entry ON true;

    INSERT INTO covid_us_daily_history (source, date, published_at, ident, cases, deaths, recovered)
    SELECT p_source, date, p_published_at, p_ident, cases, deaths, recovered
      FROM publication_plan
     WHERE had_before IS NULL
        OR (before_cases, before_deaths, before_recovered) IS DISTINCT FROM (cases, deaths, recovered);

    DELETE FROM covid_us_daily_history h
     USING publication_plan plan
     WHERE plan.next_had_entry
       AND (plan.next_cases, plan.next_deaths, plan.next_recovered)
           IS NOT DISTINCT FROM (plan.cases, plan.deaths, plan.recovered)
       AND h.source = p_source AND h.date = plan.date
       AND (h.published_at, h.ident) = (plan.next_published_at, plan.next_ident);

    INSERT INTO covid_us_daily_history (source, date, published_at, ident, cases, deaths, recovered)
    SELECT p_source, date, next_published_at, next_ident, before_cases, before_deaths, before_recovered
      FROM publication_plan
     WHERE next_published_at IS NOT NULL AND next_had_entry IS NULL AND had_before
       AND (before_cases, before_deaths, before_recovered) IS DISTINCT FROM (cases, deaths, recovered);

    DROP TABLE publication_plan;
END
$$;
