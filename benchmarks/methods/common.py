"""What every method script shares: the contract's arguments, the target table, the untimed steps, the JSON line.

A script builds a :class:`Method` and hands it to :func:`run`, which

1. creates the table (``Method.setup``) in the fresh database it is given;
2. for ``reload``, ``revised`` and ``skip``, loads BASE (``Method.prepare``), untimed;
3. settles the server, untimed: VACUUM ANALYZE (as autovacuum would have, since the base load) and a
   CHECKPOINT, so that no method pays for flushing what an earlier step wrote;
4. times ``Method.load`` alone;
5. verifies the table against PATH (:func:`verify`), untimed, and prints the JSON line.

Verification reads the file as a stream and lets PostgreSQL aggregate, so it adds little to the peak RSS
that the harness measures for the whole process.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from psycopg.copy import LibpqWriter

TABLE = "covid_us_county_daily"
COPY_CHUNK_BYTES = 1 << 20
# The file's columns, in its order: COPY maps them by position.
FILE_COLUMNS = "(date, county, state, fips, cases, deaths)"
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    date      date        NOT NULL,
    state     text        NOT NULL,
    county    text        NOT NULL,
    fips      text        NULL,
    cases     bigint      NOT NULL,
    deaths    bigint      NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    run_id    text        NOT NULL,
    PRIMARY KEY (date, state, county)
)
"""
# One md5 per row, of the same text on both sides, summed: equal for equal sets of rows in any order,
# without sorting (or holding) millions of rows in Python. 15 hex digits fit a bigint.
ROW_HASH_SQL = (
    "('x' || left(md5(concat_ws('|', to_char(date, 'YYYY-MM-DD'), state, county, coalesce(fips, ''),"
    " cases, deaths)), 15))::bit(60)::bigint"
)


@dataclass(frozen=True)
class LoadCounts:
    """What a load reports; None where the method cannot tell (dlt's merge does not count)."""

    inserted: int | None = None
    updated: int | None = None


@dataclass(frozen=True)
class Digest:
    """A set of rows in brief: their number, the sums of cases and deaths, and the sum of their row hashes."""

    rows: int
    cases: int
    deaths: int
    row_hashes: int


def create_table(db_url: str, table: str = TABLE) -> None:
    """Create the target table (logged, with its primary key) if it is not there."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(CREATE_TABLE.format(table=table))


def copy_file(cursor: psycopg.Cursor, statement: str, path: Path) -> int:
    """Stream ``path``'s bytes into ``COPY ... FROM STDIN`` in chunks; return the rows COPY took.

    Memory stays at one chunk: psycopg runs libpq non-blocking, where libpq keeps growing its output buffer
    while the server is slower than the file is read (~100 MiB for 2.5M rows). In blocking mode each chunk
    is sent before the next is read; and the writer sends from this thread instead of queueing for another.
    """
    pgconn = cursor.connection.pgconn
    pgconn.nonblocking = 0
    try:
        with cursor.copy(statement, writer=LibpqWriter(cursor)) as copy, path.open("rb") as source:
            while chunk := source.read(COPY_CHUNK_BYTES):
                copy.write(chunk)
    finally:
        pgconn.nonblocking = 1
    return cursor.rowcount


def copy_into_table(db_url: str, path: Path, run_id: str, table: str = TABLE) -> int:
    """COPY a county file into ``table`` with a constant run_id (a default for the duration); return rows."""
    with psycopg.connect(db_url) as conn, conn.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} ALTER COLUMN run_id SET DEFAULT {_literal(run_id)}")
        rows = copy_file(cursor, f"COPY {table} {FILE_COLUMNS} FROM STDIN (FORMAT csv, HEADER)", path)
        cursor.execute(f"ALTER TABLE {table} ALTER COLUMN run_id DROP DEFAULT")
    return rows


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def prepare_by_copy(db_url: str, base: Path) -> None:
    """The default prepare step: the table holds BASE, as any upsert would have left it (values are values)."""
    copy_into_table(db_url, base, run_id="base")


def settle(db_url: str) -> None:
    """VACUUM ANALYZE the database and CHECKPOINT, so the timed load starts from a quiet, flushed server."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")


def file_digest(path: Path) -> Digest:
    """The :class:`Digest` of a county file's rows (empty FIPS counts as NULL), cached beside the file.

    Reading 2.5M rows takes seconds; every case of every method verifies against one of a few files, so the
    first script to read a file leaves ``<file>.digest.json``, valid while the file's size and mtime hold.
    """
    cache = path.with_name(path.name + ".digest.json")
    stat = path.stat()
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        cached = json.loads(cache.read_text())
        if cached["key"] == key:
            return Digest(**cached["digest"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # absent, unreadable or stale: read the file
    digest = _read_digest(path)
    try:
        partial = cache.with_name(cache.name + ".partial")
        partial.write_text(json.dumps({"key": key, "digest": asdict(digest)}))
        partial.replace(cache)
    except OSError:
        pass  # a read-only folder: no cache, same answer
    return digest


def _read_digest(path: Path) -> Digest:
    rows = cases = deaths = row_hashes = 0
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)  # header: date,county,state,fips,cases,deaths
        for day, county, state, fips, row_cases, row_deaths in reader:
            row_cases, row_deaths = int(row_cases), int(row_deaths)
            text = f"{day}|{state}|{county}|{fips}|{row_cases}|{row_deaths}"
            row_hashes += int(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:15], 16)
            rows, cases, deaths = rows + 1, cases + row_cases, deaths + row_deaths
    return Digest(rows, cases, deaths, row_hashes)


def table_digest(db_url: str, table: str = TABLE) -> Digest:
    """The :class:`Digest` of the table's rows, computed by PostgreSQL."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            f"SELECT count(*), coalesce(sum(cases), 0), coalesce(sum(deaths), 0),"
            f" coalesce(sum({ROW_HASH_SQL}), 0) FROM {table}"
        ).fetchone()
    return Digest(*(int(value) for value in row))


def verify(db_url: str, path: Path, table: str = TABLE) -> tuple[int, bool]:
    """(rows in the file, whether the table holds exactly the file's rows)."""
    expected = file_digest(path)
    return expected.rows, table_digest(db_url, table) == expected


@dataclass(frozen=True)
class Method:
    """A method script's parts; :func:`run` calls them in the contract's order.

    ``load(db_url, path, skip_enabled)`` is the timed part. ``prepare(db_url, base)`` puts BASE in the
    table before a ``reload``, ``revised`` or ``skip`` case. ``table`` is where the rows end up (qualified
    when the method loads into a schema of its own).
    """

    name: str
    cases: tuple[str, ...]
    load: Callable[[str, Path, bool], LoadCounts]
    prepare: Callable[[str, Path], None] = prepare_by_copy
    setup: Callable[[str], None] = create_table
    table: str = TABLE


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Load a county file into PostgreSQL, timed (benchmarks/methods).")
    parser.add_argument("--db", required=True, help="URL of an empty database")
    parser.add_argument("--case", required=True, choices=("first", "reload", "revised", "skip"))
    parser.add_argument("--file", required=True, type=Path, help="the county file to load (timed)")
    parser.add_argument("--base", type=Path, help="the publication the table holds before the load")
    return parser.parse_args(argv)


def run(method: Method, argv: list[str] | None = None) -> int:
    """Run one case of ``method`` as the contract says; print its JSON line; return the exit status."""
    args = parse_args(argv)
    if args.case not in method.cases:
        print(
            f"{method.name} does not implement case {args.case!r} (it does: {', '.join(method.cases)})", file=sys.stderr
        )
        return 2
    if args.case != "first" and args.base is None:
        print(f"case {args.case!r} needs --base", file=sys.stderr)
        return 2
    method.setup(args.db)
    if args.case != "first":
        method.prepare(args.db, args.base)
    settle(args.db)

    started = time.perf_counter()
    counts = method.load(args.db, args.file, args.case == "skip")
    seconds = time.perf_counter() - started

    rows, verified = verify(args.db, args.file, method.table)
    result = {
        "method": method.name,
        "case": args.case,
        "seconds": round(seconds, 3),
        "rows": rows,
        "inserted": counts.inserted,
        "updated": counts.updated,
        "verified": verified,
    }
    print(json.dumps(result), flush=True)
    return 0
