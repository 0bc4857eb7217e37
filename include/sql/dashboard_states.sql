-- The states map of the dashboard, read by publish_dashboard (see dashboard.sql): a json array of
-- [date, state, fips, avg7], each state's 7-day average of new cases on every 7th date counting back
-- from the latest (the map's date control); NULL unless all 7 days have a new count (as for the
-- national series: a missing day voids the days after it).
WITH latest AS (
    SELECT max(date) AS date FROM covid_us_state_daily
), daily AS (
    SELECT date, state, fips,
           CASE WHEN lag(date) OVER by_state = date - 1 THEN cases - lag(cases) OVER by_state END AS new_cases
      FROM covid_us_state_daily
    WINDOW by_state AS (PARTITION BY state ORDER BY date)
), averaged AS (
    SELECT date, state, fips,
           CASE WHEN count(new_cases) OVER last_7_days = 7 THEN round(avg(new_cases) OVER last_7_days, 2) END AS avg7
      FROM daily
    WINDOW last_7_days AS (PARTITION BY state ORDER BY date RANGE BETWEEN INTERVAL '6 days' PRECEDING AND CURRENT ROW)
)
SELECT coalesce(json_agg(json_build_array(a.date, a.state, a.fips, a.avg7) ORDER BY a.date, a.state), '[]'::json)
  FROM averaged a, latest
 WHERE (latest.date - a.date) % 7 = 0
