-- The national series' history, from its two sources' (dataset_schema.sql for nyt_us_daily and
-- jhu_us_daily): what it was as of a time, and every revision of a day by either source.

-- covid_us_daily as it would stand had only the publications committed at or before `at` been loaded:
-- NYT's cases and deaths joined on date with JHU's recovered (NULL: not reported), as merge_national.sql
-- joins them.
CREATE OR REPLACE FUNCTION covid_us_daily_as_of(at timestamptz)
RETURNS TABLE (date date, cases bigint, deaths bigint, recovered bigint)
LANGUAGE sql STABLE AS $$
    SELECT n.date, n.cases, n.deaths, j.recovered
      FROM nyt_us_daily_as_of(at) n JOIN jhu_us_daily_as_of(at) j ON j.date = n.date
     ORDER BY n.date
$$;

-- One row per revision of a day by a source: its values in a publication that differ from the same
-- source's previous publication of that day (first appearances are not revisions).
CREATE OR REPLACE VIEW covid_us_daily_revisions AS
    SELECT r.date, r.source, r.published_at, r.commit,
           (SELECT max(p.published_at)
              FROM dataset_publications p
             WHERE p.dataset = r.dataset AND p.published_at < r.published_at
               AND r.date BETWEEN p.scope_from AND p.scope_to) AS previous_published_at,
           r.old_cases, r.new_cases, r.old_deaths, r.new_deaths, r.old_recovered, r.new_recovered
      FROM (SELECT 'nyt' AS dataset, 'NYT' AS source, date, published_at, commit,
                   old_cases, new_cases, old_deaths, new_deaths, NULL::bigint AS old_recovered,
                   NULL::bigint AS new_recovered
              FROM nyt_us_daily_revisions
            UNION ALL
            SELECT 'jhu', 'JHU', date, published_at, commit, NULL, NULL, NULL, NULL, old_recovered, new_recovered
              FROM jhu_us_daily_revisions) r;
