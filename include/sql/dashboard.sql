-- What the dashboard shows, read on a worker by the publish_dashboard task: on MWAA the API server,
-- where the dashboard is served, has no route to this database. One row of five values:
--   days            json array of [date, cases, deaths, recovered], one per row of covid_us_daily, by date
--   runs            json array of the last rows of etl_runs (run_limit of them), newest first
--   last_success_at when the last successful run finished (NULL before the first one)
--   publications    json array of [source, ident, commit, published_at] of NYT's and JHU's national
--                   files, in publication order
--   history         json array of [source, ident, date, cases, deaths, recovered]: each publication's
--                   values of the days it changed (the first one's: every day), in publication order
-- Daily new counts and their 7-day averages are derived by the dashboard from these rows.
WITH recent_runs AS (
    SELECT id, run_id, dataset, status, started_at, finished_at, rows_inserted, rows_updated, rows_deleted,
           rows_unchanged, rows_stale, first_date, last_date, error
    FROM etl_runs
    ORDER BY started_at DESC, id DESC
    LIMIT %(run_limit)s
), sources AS (
    SELECT p.*, upper(p.dataset) AS source,
           row_number() OVER (PARTITION BY p.dataset ORDER BY p.published_at, p.ident) AS place
      FROM dataset_publications p
     WHERE p.dataset IN ('nyt', 'jhu')
), changes AS (
    SELECT s.source, s.ident, s.published_at, d.date, d.cases, d.deaths, NULL::bigint AS recovered
      FROM sources s CROSS JOIN LATERAL nyt_us_daily_as_of(s.published_at) d
     WHERE s.dataset = 'nyt' AND s.place = 1
    UNION ALL
    SELECT s.source, s.ident, s.published_at, e.date, e.new_cases, e.new_deaths, NULL
      FROM nyt_us_daily_changes e JOIN sources s ON s.id = e.publication
     WHERE e.change <> '-'
    UNION ALL
    SELECT s.source, s.ident, s.published_at, d.date, NULL, NULL, d.recovered
      FROM sources s CROSS JOIN LATERAL jhu_us_daily_as_of(s.published_at) d
     WHERE s.dataset = 'jhu' AND s.place = 1
    UNION ALL
    SELECT s.source, s.ident, s.published_at, e.date, NULL, NULL, e.new_recovered
      FROM jhu_us_daily_changes e JOIN sources s ON s.id = e.publication
     WHERE e.change <> '-'
)
SELECT
    (SELECT coalesce(json_agg(json_build_array(date, cases, deaths, recovered) ORDER BY date), '[]'::json)
       FROM covid_us_daily) AS days,
    (SELECT coalesce(json_agg(recent_runs ORDER BY started_at DESC, id DESC), '[]'::json) FROM recent_runs) AS runs,
    (SELECT max(finished_at) FROM etl_runs WHERE status = 'success') AS last_success_at,
    (SELECT coalesce(json_agg(json_build_array(source, ident, commit, published_at)
                              ORDER BY source, published_at, ident), '[]'::json)
       FROM sources) AS publications,
    (SELECT coalesce(json_agg(json_build_array(source, ident, date, cases, deaths, recovered)
                              ORDER BY source, published_at, ident, date), '[]'::json)
       FROM changes) AS history
