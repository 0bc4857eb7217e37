-- Everything the dashboard shows, in one round trip: one row of three values.
--   days            json array, one object per date: cumulative counts, daily new counts and their
--                   7-day averages (derived here with window functions, not in the browser)
--   runs            json array of the last rows of etl_runs (run_limit of them), newest first
--   last_success_at when the last successful run finished (NULL before the first one)
WITH daily AS (
    SELECT
        date,
        cases,
        deaths,
        recovered,
        -- New = today's cumulative count minus yesterday's. NULL when yesterday is missing (first day,
        -- or a hole in the table), rather than silently a multi-day difference. May be negative:
        -- the sources revise cumulative counts down.
        CASE WHEN lag(date) OVER by_date = date - 1 THEN cases - lag(cases) OVER by_date END AS new_cases,
        CASE WHEN lag(date) OVER by_date = date - 1 THEN deaths - lag(deaths) OVER by_date END AS new_deaths
    FROM covid_us_daily
    WINDOW by_date AS (ORDER BY date)
),
averaged AS (
    SELECT
        daily.*,
        -- Mean over the 7 calendar days ending on this date (RANGE, not ROWS, so a hole cannot
        -- stretch the window); NULL unless all 7 days have a value.
        CASE WHEN count(new_cases) OVER last_7_days = 7
             THEN round(avg(new_cases) OVER last_7_days, 2) END AS new_cases_avg7,
        CASE WHEN count(new_deaths) OVER last_7_days = 7
             THEN round(avg(new_deaths) OVER last_7_days, 2) END AS new_deaths_avg7
    FROM daily
    WINDOW last_7_days AS (ORDER BY date RANGE BETWEEN INTERVAL '6 days' PRECEDING AND CURRENT ROW)
),
recent_runs AS (
    SELECT id, run_id, status, started_at, finished_at, rows_inserted, rows_updated, rows_unchanged,
           first_date, last_date, error
    FROM etl_runs
    ORDER BY started_at DESC, id DESC
    LIMIT %(run_limit)s
)
SELECT
    (SELECT coalesce(json_agg(averaged ORDER BY date), '[]'::json) FROM averaged) AS days,
    (SELECT coalesce(json_agg(recent_runs ORDER BY started_at DESC, id DESC), '[]'::json) FROM recent_runs) AS runs,
    (SELECT max(finished_at) FROM etl_runs WHERE status = 'success') AS last_success_at
