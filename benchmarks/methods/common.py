"""What every method script shares: the contract's arguments, the target table, the untimed steps, the
verification and the JSON line.

A script builds a :class:`Method` and hands it to :func:`run`, which

1. creates the table (``Method.setup``) in the fresh database it is given, and for a case that starts
   from a loaded publication puts BASE in it (``Method.prepare``), untimed; or, with ``--prepared``,
   finds both done already (the harness copied the database from one it prepared so: see
   bench_counties.py);
2. settles the server, untimed: VACUUM ANALYZE (as autovacuum would have, since the base load) and a
   CHECKPOINT, so that no method pays for flushing what an earlier step wrote;
3. gets the files around the load ready, untimed (``Method.before``: ours keeps or removes the previous
   publication's staged copy);
4. times ``Method.load`` alone;
5. verifies the table against the file (:func:`verify`), untimed, and prints the JSON line.

``--prepare-only`` stops after step 2, once BASE is verified: the harness makes its template so.

Verification compares digests: the file's, written by the generator as it wrote the file (or read from
the file when there is none) against the table's, computed by PostgreSQL; and checks that none of the
keys the publications dropped is in the table. Nothing of it goes through the loader under test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
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
# The cases a method may implement (benchmarks/methods/__init__.py says which each does), and the files
# each loads: (the generator's role of the file loaded, the role of the publication loaded before it).
CASE_FILES = {
    "first_load": ("base", None),
    "forced_reload": ("republished", "base"),
    "revised_1pct": ("revised", "base"),
    "next_day": ("next_day", "base"),
    "next_day_cold": ("next_day", "base"),
    "skip": ("base", "base"),
    "backfill_30": ("backfill", None),
}


def _csv_sql(column: str) -> str:
    """SQL for a text column as the generator writes it into a CSV line: quoted when it must be (strpos,
    not a regular expression: this runs for every row of every check, and takes half the time)."""
    special = " + ".join(f"strpos({column}, {char})" for char in ("','", """'"'""", "E'\\n'", "E'\\r'"))
    return f"""CASE WHEN {special} > 0 THEN '"' || replace({column}, '"', '""') || '"' ELSE {column} END"""


# A set of rows in brief (see Digest): PostgreSQL rebuilds each row's line as the generator writes it
# (date, county, state, FIPS, cases, deaths; empty FIPS for NULL) and hashes each date's lines in the
# file's order (state, then county, byte order): the md5 of a day's text, 60 bits of it, summed over days.
# date::text is YYYY-MM-DD under DateStyle ISO, which query_digest sets (faster than to_char). The lines are
# sorted once, by date and then in the file's order, and each day's aggregated in the order they come (what
# PostgreSQL 16 plans for string_agg(... ORDER BY ...) by itself; 15 sorted each day again): were they ever
# aggregated in another order, the digest would differ, a false alarm, never a false pass.
DIGEST_SQL = f"""
SELECT coalesce(sum(n), 0), coalesce(sum(c), 0), coalesce(sum(d), 0),
       coalesce(sum(('x' || left(h, 15))::bit(60)::bigint), 0)
  FROM (SELECT date, count(*) AS n, sum(cases) AS c, sum(deaths) AS d, md5(string_agg(line, '')) AS h
          FROM (SELECT date, cases, deaths,
                       concat_ws(',', date::text, {_csv_sql("county")}, {_csv_sql("state")},
                                 coalesce(fips, ''), cases, deaths) || E'\\n' AS line
                  FROM {{source}}
                 ORDER BY date, state COLLATE "C", county COLLATE "C") lines
         GROUP BY date) days
"""


@dataclass(frozen=True)
class LoadCounts:
    """What a load reports; None where the method cannot tell (dlt's merge does not count).

    ``extra`` goes into the JSON line as it is (ours: its history written and its profile).
    """

    inserted: int | None = None
    updated: int | None = None
    deleted: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Digest:
    """A set of county rows in brief: their number, the sums of cases and deaths, and the sum over dates
    of a 60-bit md5 of the date's lines (in the file's order: state, then county). Equal sets of rows
    have equal digests; a row more or less, another value or a key moved changes it."""

    rows: int
    cases: int
    deaths: int
    day_hashes: int


def day_hash(text: bytes) -> int:
    """A day's lines hashed as DIGEST_SQL hashes them: the first 60 bits of their md5."""
    return int(hashlib.md5(text, usedforsecurity=False).hexdigest()[:15], 16)


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


# --- the files' side -----------------------------------------------------------------------------------


def generated_manifest(path: Path) -> dict:
    """The manifest of the folder the generator wrote ``path`` into ({} when there is none)."""
    manifest = path.parent / "manifest.json"
    return json.loads(manifest.read_text()) if manifest.is_file() else {}


def file_digest(path: Path) -> Digest:
    """The file's :class:`Digest`: as the generator recorded it while writing the file, else read from it."""
    recorded = generated_manifest(path).get("digests", {}).get(path.name)
    if recorded is not None:
        return Digest(**recorded)
    return read_digest(path)


def read_digest(path: Path) -> Digest:
    """The :class:`Digest` of a county file read as a stream (a day's lines are contiguous, as NYT sorts).

    A file whose lines are not in NYT's order (date, then state, then county) gets another digest than
    the table's: it does not verify, which is a false alarm, never a false pass.
    """
    rows = cases = deaths = hashes = 0
    day, text = None, []
    with path.open("rb") as handle:
        handle.readline()  # header: date,county,state,fips,cases,deaths
        for line in handle:
            if not line.endswith(b"\n"):
                line += b"\n"
            if line[:10] != day:
                if text:
                    hashes += day_hash(b"".join(text))
                day, text = line[:10], []
            text.append(line)
            row_cases, row_deaths = line.rstrip(b"\r\n").rsplit(b",", 2)[1:]
            rows, cases, deaths = rows + 1, cases + int(row_cases), deaths + int(row_deaths)
    if text:
        hashes += day_hash(b"".join(text))
    return Digest(rows, cases, deaths, hashes)


def gone_keys(path: Path) -> list[tuple[str, str, str]]:
    """The keys of earlier publications that the file's publication dropped (none may be in its table)."""
    return [tuple(key) for key in generated_manifest(path).get("gone", {}).get(path.name, [])]


# --- the table's side ----------------------------------------------------------------------------------


def query_digest(conn: psycopg.Connection, source: str, params: Iterable = ()) -> Digest:
    """The :class:`Digest` of the rows of ``source`` (a table, or a function call with parameters)."""
    conn.execute("SET DateStyle = ISO")
    row = conn.execute(DIGEST_SQL.format(source=source), tuple(params)).fetchone()
    return Digest(*(int(value) for value in row))


def table_digest(db_url: str, table: str = TABLE) -> Digest:
    """The :class:`Digest` of the table's rows, computed by PostgreSQL."""
    with psycopg.connect(db_url) as conn:
        return query_digest(conn, table)


def keys_present(conn: psycopg.Connection, keys: list[tuple[str, str, str]], table: str = TABLE) -> list[tuple]:
    """Which of ``keys`` (date, state, county) the table holds."""
    if not keys:
        return []
    rows = conn.execute(
        f"SELECT date::text, state, county FROM {table}"
        " WHERE (date::text, state, county) IN (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))",
        ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys]),
    ).fetchall()
    return sorted(rows)


def verify(db_url: str, path: Path, table: str = TABLE) -> tuple[int, list[str]]:
    """(rows in the file, what is wrong with the table: [] when it holds exactly the file's rows)."""
    expected = file_digest(path)
    problems = []
    with psycopg.connect(db_url) as conn:
        found = query_digest(conn, table)
        if found != expected:
            problems.append(f"the table's digest {asdict(found)} is not the file's {asdict(expected)}")
        left = keys_present(conn, gone_keys(path), table)
        if left:
            problems.append(f"keys the publication dropped are still in the table: {left}")
    return expected.rows, problems


# --- the contract --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Method:
    """A method script's parts; :func:`run` calls them in the contract's order.

    ``load(db_url, path, case)`` is the timed part. ``prepare(db_url, base)`` puts BASE in the table
    before a case that starts from a loaded publication. ``before(db_url, case, path, base)`` gets the
    files around the load ready, untimed; ``after(db_url, case, path)`` returns what else the JSON line
    says, untimed (ours: the history the load wrote). ``backfill(db_url, manifest)`` runs the backfill case whole
    (timing, verifying and measuring what it reports itself). ``table`` is where the rows end up
    (qualified when the method loads into a schema of its own).
    """

    name: str
    cases: tuple[str, ...]
    load: Callable[[str, Path, str], LoadCounts]
    prepare: Callable[[str, Path], None] = prepare_by_copy
    setup: Callable[[str], None] = create_table
    before: Callable[[str, str, Path, Path | None], None] = lambda db_url, case, path, base: None
    after: Callable[[str, str, Path], dict] = lambda db_url, case, path: {}
    backfill: Callable[[str, Path, float | None], dict] | None = None
    table: str = TABLE


def _absolute(text: str) -> Path:
    return Path(text).resolve()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Load a county file into PostgreSQL, timed (benchmarks/methods).")
    parser.add_argument("--db", required=True, help="URL of an empty database (or a prepared one: --prepared)")
    parser.add_argument("--case", required=True, choices=tuple(CASE_FILES))
    # Absolute: a publication's URL is its file's (file://...).
    parser.add_argument("--file", type=_absolute, help="the file to load (timed); for backfill_30 its manifest")
    parser.add_argument("--base", type=_absolute, help="the publication the table holds before the load")
    parser.add_argument("--prepared", action="store_true", help="the database holds BASE already")
    parser.add_argument("--prepare-only", action="store_true", help="put BASE in the database, settle, verify")
    parser.add_argument("--budget", type=float, help="backfill_30: stop loading after this many seconds")
    return parser.parse_args(argv)


def run(method: Method, argv: list[str] | None = None) -> int:
    """Run one case of ``method`` as the contract says; print its JSON line; return the exit status."""
    args = parse_args(argv)
    if args.case not in method.cases:
        print(
            f"{method.name} does not implement case {args.case!r} (it does: {', '.join(method.cases)})", file=sys.stderr
        )
        return 2
    needs_base = CASE_FILES[args.case][1] is not None
    if (needs_base or args.prepare_only) and args.base is None:
        print(f"case {args.case!r} needs --base", file=sys.stderr)
        return 2
    if not args.prepare_only and args.file is None:
        print("--file is required", file=sys.stderr)
        return 2
    if not args.prepared:
        method.setup(args.db)
        if needs_base or args.prepare_only:
            method.prepare(args.db, args.base)
    settle(args.db)
    if args.prepare_only:
        rows, problems = verify(args.db, args.base, method.table)
        print(json.dumps({"method": method.name, "case": "prepare", "rows": rows, "verified": not problems,
                          "problems": problems}), flush=True)  # fmt: skip
        return 0
    if args.case == "backfill_30":
        result = method.backfill(args.db, args.file, args.budget)
        print(json.dumps({"method": method.name, "case": args.case, **result}), flush=True)
        return 0

    method.before(args.db, args.case, args.file, args.base)
    started = time.perf_counter()
    counts = method.load(args.db, args.file, args.case)
    seconds = time.perf_counter() - started

    rows, problems = verify(args.db, args.file, method.table)
    extra = counts.extra | method.after(args.db, args.case, args.file)
    result = {
        "method": method.name,
        "case": args.case,
        "seconds": round(seconds, 4),
        "rows": rows,
        "inserted": counts.inserted,
        "updated": counts.updated,
        "deleted": counts.deleted,
        "verified": not problems,
        "problems": problems,
        **extra,
    }
    print(json.dumps(result), flush=True)
    return 0


def published_at(path: Path) -> datetime:
    """When the generator says the file's publication was committed."""
    return datetime.fromisoformat(generated_manifest(path)["published_at"][path.name])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
