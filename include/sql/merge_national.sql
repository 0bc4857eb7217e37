-- Bring covid_us_daily to NYT's cases and deaths joined on date with JHU's recovered, as the two sources'
-- latest tables hold them: only days whose values change are written, days no longer in the join are
-- deleted. One row of counts and dates:
--   inserted, updated, deleted   days written or removed (RETURNING xmax = 0 tells an insert)
--   unchanged                    days already stored with these values
--   stale                        days of this run's two publications (as of %(nyt_at)s and %(jhu_at)s,
--                                their commit times) whose values lost to a newer publication
--   first_date, last_date        the series' range
WITH merged AS MATERIALIZED (
    SELECT n.date, n.cases, n.deaths, j.recovered
      FROM nyt_us_daily n JOIN jhu_us_daily j ON j.date = n.date
), written AS (
    INSERT INTO covid_us_daily AS stored (date, cases, deaths, recovered, run_id)
    SELECT date, cases, deaths, recovered, %(run_id)s FROM merged
    ON CONFLICT (date) DO UPDATE
       SET cases = EXCLUDED.cases,
           deaths = EXCLUDED.deaths,
           recovered = EXCLUDED.recovered,
           run_id = EXCLUDED.run_id,
           loaded_at = now()
     WHERE (stored.cases, stored.deaths, stored.recovered)
           IS DISTINCT FROM (EXCLUDED.cases, EXCLUDED.deaths, EXCLUDED.recovered)
    RETURNING (xmax = 0) AS inserted
), deleted AS (
    DELETE FROM covid_us_daily stored
     WHERE NOT EXISTS (SELECT 1 FROM merged WHERE merged.date = stored.date)
    RETURNING 1
), incoming AS (
    SELECT n.date, n.cases, n.deaths, j.recovered
      FROM nyt_us_daily_as_of(%(nyt_at)s) n JOIN jhu_us_daily_as_of(%(jhu_at)s) j ON j.date = n.date
)
SELECT (SELECT count(*) FROM written WHERE inserted) AS inserted,
       (SELECT count(*) FROM written WHERE NOT inserted) AS updated,
       (SELECT count(*) FROM deleted) AS deleted,
       (SELECT count(*) FROM merged) - (SELECT count(*) FROM written) AS unchanged,
       (SELECT count(*)
          FROM incoming i LEFT JOIN merged m ON m.date = i.date
         WHERE (m.cases, m.deaths, m.recovered) IS DISTINCT FROM (i.cases, i.deaths, i.recovered)) AS stale,
       (SELECT min(date) FROM merged) AS first_date,
       (SELECT max(date) FROM merged) AS last_date
