-- What the dashboard shows, read on a worker by the publish_dashboard task: on MWAA the API server,
-- where the dashboard is served, has no route to this database. One row of five values:
--   days            json array of [date, cases, deaths, recovered], one per row of covid_us_daily, by date
--   runs            json array of the last rows of etl_runs (run_limit of them), newest first
--   last_success_at when the last successful run finished (NULL before the first one)
--   publications    json array of [source, ident, commit, published_at], in publication order
--   history         json array of [source, ident, date, cases, deaths, recovered]: every change each
--                   publication made (history.sql), in publication order
-- Daily new counts and their 7-day averages are derived by the dashboard from these rows.
WITH recent_runs AS (
    SELECT id, run_id, status, started_at, finished_at, rows_inserted, rows_updated, rows_unchanged,
           rows_stale, first_date, last_date, error
    FROM etl_runs
    ORDER BY started_at DESC, id DESC
    LIMIT %(run_limit)s
)
SELECT
    (SELECT coalesce(json_agg(json_build_array(date, cases, deaths, recovered) ORDER BY date), '[]'::json)
       FROM covid_us_daily) AS days,
    (SELECT coalesce(json_agg(recent_runs ORDER BY started_at DESC, id DESC), '[]'::json) FROM recent_runs) AS runs,
    (SELECT max(finished_at) FROM etl_runs WHERE status = 'success') AS last_success_at,
    (SELECT coalesce(json_agg(json_build_array(source, ident, commit, published_at)
                              ORDER BY source, published_at, ident), '[]'::json)
       FROM covid_publications) AS publications,
    (SELECT coalesce(json_agg(json_build_array(source, ident, date, cases, deaths, recovered)
                              ORDER BY source, published_at, ident, date), '[]'::json)
       FROM covid_us_daily_history) AS history
