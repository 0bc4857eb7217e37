"""floor_indexed: the floor for the table ours builds, case ``first_load`` only: a plain COPY of the file's bytes
into the floor's table with both its indexes, the primary key (date, state, county) and ours' lookup index on
(state, county) (``lookup=`` of the counties' spec, include/covid_etl/sources/specs.py; the index that serves one
county's series and its as-of query). The floor (floor.py) maintains the primary key only.

Two plain ways, ``BENCH_FLOOR_INDEXED`` choosing (both measured: benchmarks/README.md):

- ``after`` (the default, the faster): COPY into the table without indexes (its primary key dropped by setup,
  untimed), then ``ADD PRIMARY KEY`` and ``CREATE INDEX``, all in the one timed transaction;
- ``during``: COPY into the table with both indexes in place (made by setup, untimed), each row inserted into
  both as it comes.

As for the floor, setup gives run_id a constant default (untimed). The JSON line says which way ran (``how``)
and which indexes the table has afterwards (``indexes``, by their columns), which the harness checks.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg
from common import FILE_COLUMNS, TABLE, LoadCounts, Method, copy_file, create_table, run

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "include"))  # the project's library, for the spec

from covid_etl.sources.specs import COUNTIES  # noqa: E402

RUN_ID = "floor_indexed"
KEY = "date, state, county"
LOOKUP = ", ".join(COUNTIES.lookup)  # state, county
LOOKUP_INDEX = f"CREATE INDEX {TABLE}_lookup_idx ON {TABLE} ({LOOKUP})"
ADD_PRIMARY_KEY = f"ALTER TABLE {TABLE} ADD PRIMARY KEY ({KEY})"
WAYS = ("after", "during")


def way() -> str:
    chosen = os.environ.get("BENCH_FLOOR_INDEXED", "after")
    if chosen not in WAYS:
        raise SystemExit(f"BENCH_FLOOR_INDEXED is one of {', '.join(WAYS)}, not {chosen!r}")
    return chosen


def setup(db_url: str) -> None:
    create_table(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {TABLE} ALTER COLUMN run_id SET DEFAULT '{RUN_ID}'")
        if way() == "after":
            conn.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT {TABLE}_pkey")
        else:
            conn.execute(LOOKUP_INDEX)


def load(db_url: str, path: Path, case: str) -> LoadCounts:
    """COPY the file into the table and have both indexes, in one transaction; every row is an insert."""
    chosen = way()
    with psycopg.connect(db_url) as conn, conn.cursor() as cursor:
        rows = copy_file(cursor, f"COPY {TABLE} {FILE_COLUMNS} FROM STDIN (FORMAT csv, HEADER)", path)
        if chosen == "after":
            cursor.execute(ADD_PRIMARY_KEY)
            cursor.execute(LOOKUP_INDEX)
    how = {
        "after": "COPY into the bare table, then ADD PRIMARY KEY and CREATE INDEX (state, county)",
        "during": "COPY into the table with its primary key and (state, county) index in place",
    }[chosen]
    return LoadCounts(inserted=rows, updated=0, deleted=0, extra={"how": how, "way": chosen})


def after(db_url: str, case: str, path: Path) -> dict:
    """The table's valid indexes afterwards, each as [unique, its columns], untimed."""
    return {"indexes": table_indexes(db_url)}


def table_indexes(db_url: str, table: str = TABLE) -> list[list]:
    """The table's valid indexes, each as [whether unique (a primary key's is), its columns in order], sorted."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT i.indisunique, array_agg(a.attname::text ORDER BY k.ord)"
            "  FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)"
            "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indrelid = %s::regclass AND i.indisvalid GROUP BY i.indexrelid, i.indisunique",
            (table,),
        ).fetchall()
    return sorted([unique, list(columns)] for unique, columns in rows)


if __name__ == "__main__":
    sys.exit(run(Method(name="floor_indexed", cases=("first_load",), load=load, setup=setup, after=after)))
