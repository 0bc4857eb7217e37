"""floor: COPY of the file's bytes into the empty table, the least work any load can do; case ``first_load`` only.

No parsing in Python, no staging, no conflict handling: PostgreSQL's CSV COPY straight into the target
table with its primary key. Every other method's time is read as a multiple of this one.

The table's run_id is NOT NULL and the file has none, so setup gives run_id a constant default (untimed),
which costs COPY what a constant column would.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
from common import FILE_COLUMNS, TABLE, LoadCounts, Method, copy_file, create_table, run

RUN_ID = "floor"


def setup(db_url: str) -> None:
    create_table(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {TABLE} ALTER COLUMN run_id SET DEFAULT '{RUN_ID}'")


def load(db_url: str, path: Path, case: str) -> LoadCounts:
    """COPY the file into the table in one transaction; every row is an insert."""
    with psycopg.connect(db_url) as conn, conn.cursor() as cursor:
        rows = copy_file(cursor, f"COPY {TABLE} {FILE_COLUMNS} FROM STDIN (FORMAT csv, HEADER)", path)
    return LoadCounts(inserted=rows, updated=0, deleted=0)


if __name__ == "__main__":
    sys.exit(run(Method(name="floor", cases=("first_load",), load=load, setup=setup)))
