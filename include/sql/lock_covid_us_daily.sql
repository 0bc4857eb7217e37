-- Serializes concurrent loads (a backfill beside the daily run, say): a second transaction waits
-- here until the first commits or rolls back. Released automatically at the transaction's end.
SELECT pg_advisory_xact_lock(hashtext('covid_etl.covid_us_daily'))
