"""What the loader's way of writing a COPY costs the thread beside it, and what its binary fingerprints save.

The loader reads and checks a file in one thread while a second thread COPYs on its connection (ADR 0009).
Prints, each the median of --repeat runs:

- how fast a busy Python thread runs beside a COPY of the file written from another thread, as a share of
  its speed alone: libpq's blocking mode (which waits on the socket holding Python's lock) against the
  loader's ``copy_in`` (non-blocking, waiting for each write to be flushed with the lock released), and the
  COPY's seconds each way;
- the seconds to COPY 765 days' fingerprint records (the bench's county file) in PostgreSQL's text format,
  the bytes written as hex, against its binary format (``binary_row``).

    .venv/bin/python benchmarks/copy_writers.py --db postgresql://…/scratch --file build/bench/…/base.csv
"""

from __future__ import annotations

import argparse
import os
import statistics
import struct
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))  # the project's library, as on MWAA
sys.path.insert(0, str(Path(__file__).resolve().parent / "methods"))  # the harness's COPY

from common import COPY_CHUNK_BYTES, copy_file  # noqa: E402

from covid_etl.load.database import binary_row, copy_in  # noqa: E402

TABLE = "CREATE TEMPORARY TABLE t (date date, county text, state text, fips text, cases bigint, deaths bigint)"
PRINTS = (
    "CREATE TEMPORARY TABLE p (dataset text, date date, rows integer, keysum bigint, digest bytea, blocks bytea,"
    " chunks bytea)"
)
DAYS, BLOCKS, CHUNKS = 765, 374, 4860  # a day's block and chunk records at the bench's 2.5 M rows, in bytes


def spins(seconds: float) -> int:
    """Python's own work: how many loop turns in ``seconds``."""
    turns, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        turns += 1
    return turns


def blocking_copy(conn: psycopg.Connection, path: Path) -> None:
    """The file COPYed with libpq in blocking mode, as the harness's COPYs are (``common.copy_file``)."""
    with conn.cursor() as cursor:
        copy_file(cursor, "COPY t FROM STDIN (FORMAT csv, HEADER)", path)


def loader_copy(conn: psycopg.Connection, path: Path) -> None:
    """The file COPYed by the loader's ``copy_in``."""
    with path.open("rb") as stream, conn.cursor() as cursor:
        stream.readline()
        copy_in(
            cursor,
            "t",
            ("date", "county", "state", "fips", "cases", "deaths"),
            iter(lambda: stream.read(COPY_CHUNK_BYTES), b""),
        )


def beside(db_url: str, path: Path, copy: Callable[[psycopg.Connection, Path], None]) -> tuple[float, float]:
    """The COPY's seconds from a thread of its own, and the Python thread's speed meanwhile as a share of its
    speed alone."""
    alone = spins(0.5) / 0.5
    with psycopg.connect(db_url) as conn:
        conn.execute(TABLE)
        seconds: list[float] = []

        def run() -> None:
            began = time.perf_counter()
            copy(conn, path)
            seconds.append(time.perf_counter() - began)

        thread = threading.Thread(target=run)
        began = time.perf_counter()
        thread.start()
        turns = 0
        while thread.is_alive():
            turns += spins(0.05)
        thread.join()
        rate = turns / (time.perf_counter() - began)
        conn.rollback()
    return seconds[0], rate / alone


def fingerprints(db_url: str, binary: bool) -> float:
    """Seconds to COPY a county file's fingerprint records (random bytes of their sizes)."""
    days = [
        (date(2020, 1, 21) + timedelta(n), os.urandom(8), os.urandom(BLOCKS), os.urandom(CHUNKS)) for n in range(DAYS)
    ]
    with psycopg.connect(db_url) as conn, conn.cursor() as cursor:
        cursor.execute(PRINTS)
        began = time.perf_counter()
        columns = ("dataset", "date", "rows", "keysum", "digest", "blocks", "chunks")
        if binary:
            epoch = date(2000, 1, 1).toordinal()
            rows = (
                binary_row(b"counties", struct.pack("!i", day.toordinal() - epoch), struct.pack("!i", 3273),
                           struct.pack("!q", 2**40), digest, blocks, chunks)
                for day, digest, blocks, chunks in days
            )  # fmt: skip
            copy_in(cursor, "p", columns, rows, binary=True)
        else:
            sql = f"COPY p ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(sql) as copy:
                for day, digest, blocks, chunks in days:
                    copy.write(b"counties\t%s\t3273\t%d\t\\\\x%s\t\\\\x%s\t\\\\x%s\n" % (
                        day.isoformat().encode(), 2**40, digest.hex().encode(), blocks.hex().encode(),
                        chunks.hex().encode()))  # fmt: skip
        seconds = time.perf_counter() - began
        conn.rollback()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="URL of a database to use (temporary tables only)")
    parser.add_argument("--file", type=Path, required=True, help="a county file (e.g. the bench's base.csv)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.file} ({args.file.stat().st_size / 1e6:.1f} MB), median of {args.repeat}")
    print(f"{'COPY from a second thread':<44} {'COPY s':>7} {'Python beside it':>17}")
    for name, copy in (("libpq blocking mode", blocking_copy), ("the loader's copy_in", loader_copy)):
        runs = [beside(args.db, args.file, copy) for _ in range(args.repeat)]
        seconds, share = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        print(f"{name:<44} {seconds:7.3f} {share:16.2f}x")
    text = statistics.median(fingerprints(args.db, binary=False) for _ in range(args.repeat))
    binary = statistics.median(fingerprints(args.db, binary=True) for _ in range(args.repeat))
    print(f"{'fingerprints COPY, text (hex)':<44} {text:7.3f}")
    print(f"{'fingerprints COPY, binary':<44} {binary:7.3f} {binary / text:16.2f}x")


if __name__ == "__main__":
    main()
