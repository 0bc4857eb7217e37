"""What the history's foreign key costs its writes: changes inserted, and moved to another publication, into
a copy of the county changes table (its columns and indexes) with the foreign key to the publications and
without it.

A load writes its changes with one INSERT and, in a backfill, moves the next publication's changes to itself
with one UPDATE (include/sql/dataset_load.sql); PostgreSQL checks the foreign key of each row either writes.
Prints, each the median of --repeat runs (each rolled back), the seconds with the key and without, and their
ratio:

    .venv/bin/python benchmarks/change_writes.py --db postgresql://…/scratch [--rows 64000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))  # the project's library, as on MWAA

from covid_etl.load.database import ensure_schema  # noqa: E402
from covid_etl.sources.specs import COUNTIES  # noqa: E402

CHANGES = f"{COUNTIES.table}_changes"
# N changed keys over 765 days and 3,300 counties, as a load's changes (one row per key, publication 1).
SOURCE = """
CREATE TEMPORARY TABLE source AS
SELECT date '2020-01-21' + n % 765 AS date, 'State ' || n % 55 AS state, 'County ' || n AS county, 1 AS publication,
       '~' AS change, '01001' AS old_fips, n::bigint AS old_cases, 0::bigint AS old_deaths,
       '01001' AS new_fips, n::bigint + 1 AS new_cases, 0::bigint AS new_deaths
  FROM generate_series(1, {rows}) n
"""
WRITES = {
    "insert": "INSERT INTO {table} SELECT * FROM source",
    "move to another publication": "UPDATE {table} SET publication = 2",
}


def tables(conn: psycopg.Connection, rows: int) -> None:
    """Two copies of the changes table, ``keyed`` with the foreign key (to a temporary copy of the publications:
    a temporary table references only temporary ones), ``plain`` without; both hold the rows for the update."""
    conn.execute("CREATE TEMPORARY TABLE publications (id integer PRIMARY KEY)")
    conn.execute("INSERT INTO publications VALUES (1), (2)")
    conn.execute(SOURCE.format(rows=int(rows)))
    for name in ("keyed", "plain"):
        conn.execute(f"CREATE TEMPORARY TABLE {name} (LIKE {CHANGES} INCLUDING INDEXES)")
    conn.execute("ALTER TABLE keyed ADD FOREIGN KEY (publication) REFERENCES publications (id)")


def seconds(conn: psycopg.Connection, write: str, table: str) -> float:
    """One write, timed, then rolled back (to a savepoint: the tables stay)."""
    statement = WRITES[write].format(table=table)
    with conn.transaction(force_rollback=True):
        if write != "insert":
            conn.execute(WRITES["insert"].format(table=table))
        began = time.perf_counter()
        conn.execute(statement)
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="URL of a database to use (the project's schema is ensured)")
    parser.add_argument("--rows", type=int, default=64_000, help="changes written (a far backfill load's: 64,131)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with psycopg.connect(args.db) as conn:
        ensure_schema(conn)
        tables(conn, args.rows)
        print(f"{args.rows:,} changes, median of {args.repeat}")
        print(f"{'write':<30} {'with key s':>10} {'without s':>10} {'ratio':>7}")
        for write in WRITES:
            runs = [(seconds(conn, write, "keyed"), seconds(conn, write, "plain")) for _ in range(args.repeat)]
            keyed, plain = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
            print(f"{write:<30} {keyed:10.3f} {plain:10.3f} {keyed / plain:6.2f}x")


if __name__ == "__main__":
    main()
