-- The one statement for the first load and every later run: insert new days, update only the days
-- whose values changed, leave the rest alone. The incoming_rows slot is filled in per driver by
-- covid_etl/loader.py: a VALUES list for psycopg2's execute_values, unnest() of arrays for psycopg 3.
-- RETURNING yields one row per insert (true) or update (false); unchanged days return nothing.
INSERT INTO covid_us_daily AS stored (date, cases, deaths, recovered, run_id)
SELECT incoming.date::date, incoming.cases::bigint, incoming.deaths::bigint,
       incoming.recovered::bigint, incoming.run_id::text
  FROM ({incoming_rows}) AS incoming (date, cases, deaths, recovered, run_id)
ON CONFLICT (date) DO UPDATE
   SET cases = EXCLUDED.cases,
       deaths = EXCLUDED.deaths,
       recovered = EXCLUDED.recovered,
       run_id = EXCLUDED.run_id,
       loaded_at = now()
 WHERE (stored.cases, stored.deaths, stored.recovered)
       IS DISTINCT FROM (EXCLUDED.cases, EXCLUDED.deaths, EXCLUDED.recovered)
RETURNING (xmax = 0) AS inserted
