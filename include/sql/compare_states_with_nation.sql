-- Per date present in both, the states' summed cases and deaths and NYT's national ones from its newest
-- loaded publication (the national file counts the states, territories and DC).
WITH nation AS (
    SELECT DISTINCT ON (date) date, cases, deaths
      FROM covid_us_daily_history
     WHERE source = 'NYT'
     ORDER BY date, published_at DESC, ident DESC
), states AS (
    SELECT date, sum(cases)::bigint AS cases, sum(deaths)::bigint AS deaths
      FROM covid_us_state_daily
     GROUP BY date
)
SELECT states.date, states.cases, nation.cases, states.deaths, nation.deaths
  FROM states JOIN nation USING (date)
 ORDER BY states.date
