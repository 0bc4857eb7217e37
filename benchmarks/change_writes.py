"""What checking that the history's changes name loaded publications costs their writes: changes inserted, and
moved to another publication, into copies of the county changes table (its columns and indexes) with a
foreign key to the publications, with the statement triggers the schema installs instead
(include/sql/schema.sql), and with no check.

A load writes its changes with one INSERT and, in a backfill, moves the next publication's changes to itself
with one UPDATE (include/sql/dataset_load.sql); PostgreSQL checks a foreign key for each row either writes, the
triggers once per statement. Prints, each the median of --repeat runs (each rolled back), the seconds of each
way and their ratios to no check:

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
# N changed keys over 765 days and 3,300 counties, as a load's changes (one row per key, one publication).
SOURCE = """
CREATE TEMPORARY TABLE source AS
SELECT date '2020-01-21' + n % 765 AS date, 'State ' || n % 55 AS state, 'County ' || n AS county,
       {publication} AS publication, '~' AS change, '01001' AS old_fips, n::bigint AS old_cases,
       0::bigint AS old_deaths, '01001' AS new_fips, n::bigint + 1 AS new_cases, 0::bigint AS new_deaths
  FROM generate_series(1, {rows}) n
"""
WRITES = {
    "insert": "INSERT INTO {table} SELECT * FROM source",
    "move to another publication": "UPDATE {table} SET publication = {other}",
}
WAYS = ("foreign key", "statement triggers", "no check")
TABLES = dict(zip(WAYS, ("keyed", "triggered", "plain"), strict=True))


def tables(conn: psycopg.Connection, rows: int) -> dict[str, int]:
    """The copies of the changes table, and two publications in dataset_publications (rolled back at the end),
    whose ids are returned as ``publication`` and ``other``. The foreign key's copy references a temporary copy
    of the publications (a temporary table references only temporary ones)."""
    ids = [
        conn.execute(
            "INSERT INTO dataset_publications (dataset, part, ident, published_at, scope_from, scope_to, url, sha256,"
            " rows, run_id) VALUES ('change_writes', '', %s, now(), '-infinity', 'infinity', '', '', 0, '')"
            " RETURNING id",
            (ident,),
        ).fetchone()[0]
        for ident in ("a", "b")
    ]
    conn.execute("CREATE TEMPORARY TABLE publications (id integer PRIMARY KEY)")
    conn.execute("INSERT INTO publications VALUES (%s), (%s)", ids)
    conn.execute(SOURCE.format(rows=int(rows), publication=ids[0]))
    for name in TABLES.values():
        conn.execute(f"CREATE TEMPORARY TABLE {name} (LIKE {CHANGES} INCLUDING INDEXES)")
    conn.execute("ALTER TABLE keyed ADD FOREIGN KEY (publication) REFERENCES publications (id)")
    for event in ("INSERT", "UPDATE"):
        conn.execute(
            f"CREATE TRIGGER triggered_{event.lower()} AFTER {event} ON triggered REFERENCING NEW TABLE AS written"
            " FOR EACH STATEMENT EXECUTE FUNCTION covid_etl_publications_exist()"
        )
    return {"publication": ids[0], "other": ids[1]}


def seconds(conn: psycopg.Connection, write: str, table: str, ids: dict[str, int]) -> float:
    """One write, timed, then rolled back (to a savepoint: the tables stay)."""
    statement = WRITES[write].format(table=table, **ids)
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
        ids = tables(conn, args.rows)
        print(f"{args.rows:,} changes, median of {args.repeat}; seconds, and the ratio to no check")
        print(f"{'write':<30}" + "".join(f"{way:>20}" for way in WAYS))
        for write in WRITES:
            runs = [[seconds(conn, write, TABLES[way], ids) for way in WAYS] for _ in range(args.repeat)]
            medians = [statistics.median(run[n] for run in runs) for n in range(len(WAYS))]
            cells = [f"{median:.3f} s {median / medians[-1]:5.2f}x" for median in medians]
            print(f"{write:<30}" + "".join(f"{cell:>20}" for cell in cells))
        conn.rollback()  # the two publications


if __name__ == "__main__":
    main()
