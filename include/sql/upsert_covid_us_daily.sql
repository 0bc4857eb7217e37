-- Bring covid_us_daily to what the loaded publications say: per day, each source's values from its
-- newest publication loaded so far (covid_us_daily_as_of, history.sql), whatever order the runs came
-- in. Only days whose values change are written. One row of counts for the run's incoming days (the
-- temporary table incoming_merged: this run's NYT and JHU rows, merged):
--   inserted, updated  days written (RETURNING xmax = 0 tells an insert from an update)
--   stale              incoming days whose values lost to a newer publication (they differ from the result)
--   unchanged          incoming days that were stored with these values already
-- A day can be both updated (one source won) and stale (the other source's values lost).
WITH latest AS MATERIALIZED (
    SELECT date, cases, deaths, recovered FROM covid_us_daily_as_of('infinity')
), written AS (
    INSERT INTO covid_us_daily AS stored (date, cases, deaths, recovered, run_id)
    SELECT date, cases, deaths, recovered, %(run_id)s FROM latest
    ON CONFLICT (date) DO UPDATE
       SET cases = EXCLUDED.cases,
           deaths = EXCLUDED.deaths,
           recovered = EXCLUDED.recovered,
           run_id = EXCLUDED.run_id,
           loaded_at = now()
     WHERE (stored.cases, stored.deaths, stored.recovered)
           IS DISTINCT FROM (EXCLUDED.cases, EXCLUDED.deaths, EXCLUDED.recovered)
    RETURNING date, (xmax = 0) AS inserted
)
SELECT
    (SELECT count(*) FROM written WHERE inserted) AS inserted,
    (SELECT count(*) FROM written WHERE NOT inserted) AS updated,
    (SELECT count(*)
       FROM incoming_merged m LEFT JOIN latest l ON l.date = m.date
      WHERE (l.cases, l.deaths, l.recovered) IS DISTINCT FROM (m.cases, m.deaths, m.recovered)) AS stale,
    (SELECT count(*)
       FROM incoming_merged m JOIN latest l ON l.date = m.date
      WHERE (l.cases, l.deaths, l.recovered) IS NOT DISTINCT FROM (m.cases, m.deaths, m.recovered)
        AND NOT EXISTS (SELECT 1 FROM written w WHERE w.date = m.date)) AS unchanged
