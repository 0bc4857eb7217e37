"""What finding a load's references costs as publications accumulate (include/sql/fingerprint_references.sql).

Every compared load first asks, per date, for its reference's fingerprint record and the one it inherits: the
latest record at or before a publication, in publication order. A daily load that revises every date (the
bench's 0.1% spread does) writes a record of every date, so each date gains a record a day. This adds
synthetic daily publications after the newest one of --dataset in a database that holds a loaded one, each with
a copy of the newest records of every date (as such a publication writes them), and times the query for the
newest publication (a daily load's) at each count in --publications, median of --repeat, two ways side by
side: as the query is, walking the publications in their order and probing the fingerprints' key; and
sorting each date's records by their publications' order, as it was before 2026-12-07. Everything it adds is
rolled back; vacuum the database before a run, since the records of one rolled back slow the sorted way.

    .venv/bin/python benchmarks/references_scaling.py --db postgresql://…/bench_db --publications 30,100,300
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "include"))

from covid_etl.sql import read_sql  # noqa: E402

# The two fingerprint look-ups as they are, and as they were: a date's records joined to their publications,
# sorted, the first kept.
PROBED = """FROM dataset_publications q JOIN dataset_fingerprints f
                         ON f.dataset = %(dataset)s AND f.date = r.date AND f.publication = q.id
                      WHERE q.dataset = %(dataset)s AND (q.published_at, q.ident) <= """
SORTED = """FROM dataset_fingerprints f JOIN dataset_publications q ON q.id = f.publication
                      WHERE f.dataset = %(dataset)s AND f.date = r.date
                        AND (q.published_at, q.ident) <= """

ADD_PUBLICATIONS = """
INSERT INTO dataset_publications
    (dataset, part, ident, commit, published_at, scope_from, scope_to, url, sha256, rows, run_id, first_date, last_date)
SELECT p.dataset, p.part, 'synthetic-' || n, p.commit, p.published_at + n * interval '1 day', p.scope_from,
       p.scope_to, p.url, p.sha256, p.rows, p.run_id, p.first_date, p.last_date
  FROM dataset_publications p, generate_series(%(first)s::integer, %(last)s::integer) n
 WHERE p.id = %(newest)s
"""
ADD_RECORDS = """
INSERT INTO dataset_fingerprints (dataset, date, publication, rows, keysum, digest, blocks, chunks)
SELECT f.dataset, f.date, q.id, f.rows, f.keysum, f.digest, f.blocks, f.chunks
  FROM (SELECT DISTINCT ON (f.date) f.*
          FROM dataset_fingerprints f JOIN dataset_publications p ON p.id = f.publication
         WHERE f.dataset = %(dataset)s
         ORDER BY f.date, p.published_at DESC, p.ident DESC) f
 CROSS JOIN dataset_publications q
 WHERE q.dataset = %(dataset)s AND q.ident LIKE 'synthetic-%%'
   AND q.id NOT IN (SELECT publication FROM dataset_fingerprinted)
"""


def newest(conn, dataset: str) -> tuple[int, int]:
    """The dataset's newest publication, and how many it has."""
    return conn.execute(
        "SELECT (SELECT id FROM dataset_publications WHERE dataset = %(d)s ORDER BY published_at DESC, ident DESC"
        " LIMIT 1), (SELECT count(*) FROM dataset_publications WHERE dataset = %(d)s)",
        {"d": dataset},
    ).fetchone()


def median_seconds(conn, query: str, parameters: dict, repeat: int) -> tuple[float, list]:
    runs, rows = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        # Planned each time, as a load's one execution is: psycopg would prepare it after five.
        rows = conn.execute(query, parameters, prepare=False).fetchall()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a database holding a loaded publication of the dataset")
    parser.add_argument("--dataset", default="counties")
    parser.add_argument("--publications", default="30,100,300", help="the counts to time at, ascending")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    probed = read_sql("fingerprint_references")
    if probed.count(PROBED) != 2:
        raise SystemExit("fingerprint_references.sql no longer probes as this script expects: update PROBED")
    sorted_ = probed.replace(PROBED, SORTED)
    with psycopg.connect(args.db) as conn:
        conn.execute("SET LOCAL covid_etl.loading = 'on'")  # the loader's own writes: the triggers let them be
        first_newest, count = newest(conn, args.dataset)
        print(f"{args.dataset}: {count} publications loaded; seconds to find a daily load's references")
        print(f"{'publications':>12} {'as it is':>10} {'sorted':>10} {'sorted / as it is':>18}")
        for target in (int(value) for value in args.publications.split(",")):
            if target > count:
                parameters = {"first": count, "last": target - 1, "newest": first_newest}
                conn.execute(ADD_PUBLICATIONS, parameters)
                conn.execute(ADD_RECORDS, {"dataset": args.dataset})
                conn.execute(
                    "INSERT INTO dataset_fingerprinted SELECT dataset, id FROM dataset_publications"
                    " WHERE dataset = %s AND ident LIKE 'synthetic-%%' ON CONFLICT DO NOTHING",
                    (args.dataset,),
                )
                conn.execute("ANALYZE dataset_publications")
                conn.execute("ANALYZE dataset_fingerprints")
                count = target
            publication, count = newest(conn, args.dataset)
            parameters = {"dataset": args.dataset, "publication": publication, "first": "-infinity", "last": "infinity"}
            seconds, rows = median_seconds(conn, probed, parameters, args.repeat)
            before, before_rows = median_seconds(conn, sorted_, parameters, args.repeat)
            if rows != before_rows:
                raise SystemExit(f"at {count} publications the two ways found different references")
            print(f"{count:>12} {seconds:>10.3f} {before:>10.3f} {before / seconds:>17.1f}x")
        conn.rollback()


if __name__ == "__main__":
    main()
