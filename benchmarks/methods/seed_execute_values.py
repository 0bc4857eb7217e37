"""seed_execute_values: the project's earlier upsert, applied to the county series.

As ``covid_etl.loader`` did for the national series on psycopg2: the file parsed in Python (dates as
``datetime.date``, empty FIPS as None), sent in pages of ``PAGE_SIZE`` rows through ``execute_values``
into one ``INSERT ... SELECT ... FROM (VALUES ...) ON CONFLICT DO UPDATE ... WHERE IS DISTINCT FROM``
statement per page, ``RETURNING (xmax = 0)`` to count inserts and updates; one transaction for the file.
The file is read as a stream, one page in memory at a time.

An upsert never deletes, and a publication may drop keys (next_day does): so that its result is the
publication, each page's statement also records the keys it sent in a temporary table (a data-modifying
``WITH``: still one statement per page), and one ``DELETE`` at the end removes the table's keys that were
not sent. It keeps no history.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from datetime import date
from itertools import islice
from pathlib import Path

import psycopg2
from common import TABLE, LoadCounts, Method, run
from psycopg2.extras import execute_values

PAGE_SIZE = 5000  # as covid_etl.loader's _PSYCOPG2_PAGE_SIZE
RUN_ID = "seed_execute_values"
SENT_KEYS = "CREATE TEMPORARY TABLE sent_keys (date date, state text, county text) ON COMMIT DROP"
UPSERT = f"""
WITH incoming AS (
    SELECT v.date::date AS date, v.state::text AS state, v.county::text AS county, v.fips::text AS fips,
           v.cases::bigint AS cases, v.deaths::bigint AS deaths, v.run_id::text AS run_id
      FROM (VALUES %s) AS v (date, state, county, fips, cases, deaths, run_id)
), sent AS (
    INSERT INTO sent_keys SELECT date, state, county FROM incoming
)
INSERT INTO {TABLE} AS stored (date, state, county, fips, cases, deaths, run_id)
SELECT date, state, county, fips, cases, deaths, run_id
  FROM incoming
ON CONFLICT (date, state, county) DO UPDATE
   SET fips = EXCLUDED.fips,
       cases = EXCLUDED.cases,
       deaths = EXCLUDED.deaths,
       run_id = EXCLUDED.run_id,
       loaded_at = now()
 WHERE (stored.fips, stored.cases, stored.deaths) IS DISTINCT FROM (EXCLUDED.fips, EXCLUDED.cases, EXCLUDED.deaths)
RETURNING (xmax = 0) AS inserted
"""
DELETE_NOT_SENT = f"""
DELETE FROM {TABLE} t
 WHERE NOT EXISTS (SELECT 1 FROM sent_keys k WHERE (k.date, k.state, k.county) = (t.date, t.state, t.county))
"""


def parsed_rows(path: Path) -> Iterator[tuple]:
    """The file's rows as the statement's parameters: (date, state, county, fips or None, cases, deaths, run_id)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        for day, county, state, fips, cases, deaths in reader:
            yield date.fromisoformat(day), state, county, fips or None, int(cases), int(deaths), RUN_ID


def load(db_url: str, path: Path, case: str) -> LoadCounts:
    """Upsert the file page by page in one transaction, counting what the statement returned; then
    delete the keys not sent."""
    inserted = updated = 0
    conn = psycopg2.connect(db_url)
    try:
        with conn, conn.cursor() as cursor:  # psycopg2's `with conn`: commit, or roll back on error
            cursor.execute(SENT_KEYS)
            rows = parsed_rows(path)
            while page := list(islice(rows, PAGE_SIZE)):
                returned = execute_values(cursor, UPSERT, page, page_size=PAGE_SIZE, fetch=True)
                page_inserted = sum(1 for (was_inserted,) in returned if was_inserted)
                inserted, updated = inserted + page_inserted, updated + len(returned) - page_inserted
            cursor.execute("ANALYZE sent_keys")  # a hash anti-join, not a nested loop over millions
            cursor.execute(DELETE_NOT_SENT)
            deleted = cursor.rowcount
    finally:
        conn.close()
    return LoadCounts(inserted=inserted, updated=updated, deleted=deleted)


CASES = ("first_load", "forced_reload", "revised_1pct", "next_day")

if __name__ == "__main__":
    sys.exit(run(Method(name="seed_execute_values", cases=CASES, load=load)))
