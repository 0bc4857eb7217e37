-- The counties table of the dashboard, read by publish_dashboard: a json array of [state, county, fips,
-- cases, deaths, avg7] on the latest date, avg7 being the 7-day average of new cases
-- ((cases - cases 7 days before) / 7; NULL without the day 7 days before).
WITH county_latest AS (
    SELECT c.state, c.county, c.fips, c.cases, c.deaths,
           round((c.cases - before.cases) / 7.0, 2) AS avg7
      FROM covid_us_county_daily c
      JOIN (SELECT max(date) AS date FROM covid_us_county_daily) last ON c.date = last.date
      LEFT JOIN covid_us_county_daily before
             ON before.state = c.state AND before.county = c.county AND before.date = c.date - 7
)
SELECT coalesce(json_agg(json_build_array(state, county, fips, cases, deaths, avg7) ORDER BY state, county), '[]'::json)
  FROM county_latest
