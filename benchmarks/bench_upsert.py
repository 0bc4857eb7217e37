"""Benchmark the upsert on both drivers against a throwaway local PostgreSQL; prints rows/s.

Three cases per driver, on synthetic national series of N days (default 1,200 and 50,000), with the
time and the peak of Python allocations (tracemalloc; the server's memory is not counted):
the first load (all inserts), a rerun (all unchanged), and a rerun with every tenth day revised.
Usage: python benchmarks/bench_upsert.py [N ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import psycopg2

from covid_etl.loader import load_days
from covid_etl.records import CovidDay, RunInfo
from devstack import LocalPostgres, free_port


def series(days: int, revision: int = 0) -> list[CovidDay]:
    start = date(1900, 1, 1)
    return [
        CovidDay(start + timedelta(n), n * 100 + (revision if n % 10 == 0 else 0), n, None if n > days // 2 else n * 3)
        for n in range(days)
    ]


def timed(connect, url: str, days: list[CovidDay]) -> tuple[float, int, object]:
    conn = connect(url)
    tracemalloc.start()
    started = time.perf_counter()
    result = load_days(conn, days, RunInfo(run_id="bench", started_at=datetime.now(UTC)))
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    conn.close()
    return elapsed, peak, result


def main(sizes: list[int]) -> None:
    server = LocalPostgres(Path(tempfile.mkdtemp()) / "pg", port=free_port(), durable=False)
    server.start()
    try:
        print(f"{'driver':<9} {'days':>7} {'case':<14} {'seconds':>8} {'rows/s':>10} {'py MiB':>9}  result")
        for size in sizes:
            for name, connect in (("psycopg2", psycopg2.connect), ("psycopg3", psycopg.connect)):
                url = server.create_database(f"bench_{name}_{size}")
                for case, days in (
                    ("first load", series(size)),
                    ("rerun", series(size)),
                    ("10% revised", series(size, 1)),
                ):
                    elapsed, peak, result = timed(connect, url, days)
                    print(
                        f"{name:<9} {size:>7} {case:<14} {elapsed:>8.3f} {size / elapsed:>10.0f} "
                        f"{peak / 2**20:>9.1f}  {result}"
                    )
    finally:
        server.stop()


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1200, 50000])
