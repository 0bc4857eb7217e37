-- One row per run and dataset, success, skip or failure: what was read, what changed, and the error if any.
INSERT INTO etl_runs (
    run_id, dataset, started_at, finished_at, status, sources,
    nyt_url, nyt_sha256, jhu_url, jhu_sha256,
    rows_inserted, rows_updated, rows_unchanged, rows_stale, rows_deleted, first_date, last_date, error
) VALUES (
    %(run_id)s, %(dataset)s, %(started_at)s, now(), %(status)s, %(sources)s,
    %(nyt_url)s, %(nyt_sha256)s, %(jhu_url)s, %(jhu_sha256)s,
    %(inserted)s, %(updated)s, %(unchanged)s, %(stale)s, %(deleted)s, %(first_date)s, %(last_date)s, %(error)s
)
