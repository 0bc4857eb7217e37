-- Per date present in both, the states' summed cases and deaths and NYT's national ones, as their latest
-- tables hold them (the national file counts the states, territories and DC).
WITH states AS (
    SELECT date, sum(cases)::bigint AS cases, sum(deaths)::bigint AS deaths
      FROM covid_us_state_daily
     GROUP BY date
)
SELECT states.date, states.cases, nation.cases, states.deaths, nation.deaths
  FROM states JOIN nyt_us_daily nation USING (date)
 ORDER BY states.date
