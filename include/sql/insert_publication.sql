-- Register a publication before its days are recorded (history.sql reads its date range from here).
INSERT INTO covid_publications (source, ident, commit, published_at, url, sha256, first_date, last_date, days, run_id)
VALUES (%(source)s, %(ident)s, %(commit)s, %(published_at)s, %(url)s, %(sha256)s, %(first_date)s, %(last_date)s,
        %(days)s, %(run_id)s)
ON CONFLICT (source, ident) DO NOTHING
RETURNING true AS new
