"""Load merged days into PostgreSQL: one transaction per run, on psycopg2 or psycopg 3.

PostgresHook hands out psycopg 3 connections on MWAA 3.3.1 (postgres provider 7) and psycopg2 ones
where only psycopg2 is installed; :func:`load_days` takes either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from covid_etl.records import CovidDay, LoadResult, RunInfo
from covid_etl.sql import read_sql

log = logging.getLogger(__name__)

# Rows per statement for psycopg2's execute_values: the whole national series fits in one.
_PSYCOPG2_PAGE_SIZE = 5000


def is_psycopg2(conn: Any) -> bool:
    return type(conn).__module__.split(".")[0] == "psycopg2"


@contextmanager
def _locked_transaction(conn: Any) -> Iterator[Any]:
    """Run the body in one transaction holding the load lock, with the tables in place."""
    conn.autocommit = False
    try:
        with conn.cursor() as cursor:
            cursor.execute(read_sql("lock_covid_us_daily"))
            cursor.execute(read_sql("create_tables"))
            yield cursor
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _upsert(cursor: Any, days: Sequence[CovidDay], run_id: str, psycopg2: bool) -> list[tuple]:
    statement = read_sql("upsert_covid_us_daily")
    if psycopg2:
        from psycopg2.extras import execute_values

        rows = [(d.date, d.cases, d.deaths, d.recovered, run_id) for d in days]
        return execute_values(
            cursor, statement.format(incoming_rows="VALUES %s"), rows, page_size=_PSYCOPG2_PAGE_SIZE, fetch=True
        )
    # psycopg 3: the whole batch as five arrays, one statement and one round trip.
    arrays = "SELECT * FROM unnest(%s::date[], %s::bigint[], %s::bigint[], %s::bigint[], %s::text[])"
    cursor.execute(
        statement.format(incoming_rows=arrays),
        (
            [d.date for d in days],
            [d.cases for d in days],
            [d.deaths for d in days],
            [d.recovered for d in days],
            [run_id] * len(days),
        ),
    )
    return cursor.fetchall()


def _run_row(
    run: RunInfo, *, status: str, result: LoadResult | None, days: Sequence[CovidDay], error: str | None
) -> dict:
    """The parameters of insert_etl_run.sql; what a run did not get to is NULL."""
    row = {"run_id": run.run_id, "started_at": run.started_at, "status": status, "error": error}
    for prefix, source in (("nyt", run.nyt), ("jhu", run.jhu)):
        row |= {f"{prefix}_{field}": getattr(source, field, None) for field in ("url", "sha256", "rows")}
    for field in ("inserted", "updated", "unchanged"):
        row[f"rows_{field}"] = getattr(result, field, None)
    row["first_date"], row["last_date"] = (days[0].date, days[-1].date) if days else (None, None)
    return row


def load_days(conn: Any, days: Sequence[CovidDay], run: RunInfo) -> LoadResult:
    """Upsert ``days`` and record the run in ``etl_runs``, committing both or neither.

    :param conn: an open psycopg2 or psycopg 3 connection (not in autocommit); it is not closed.
    :param days: the merged rows, sorted by date, dates unique.
    :param run: the run's id, start and sources, for ``etl_runs``.
    """
    with _locked_transaction(conn) as cursor:
        returned = _upsert(cursor, days, run.run_id, is_psycopg2(conn))
        inserted = sum(1 for (was_inserted,) in returned if was_inserted)
        result = LoadResult(inserted=inserted, updated=len(returned) - inserted, unchanged=len(days) - len(returned))
        cursor.execute(
            read_sql("insert_etl_run"), _run_row(run, status="success", result=result, days=days, error=None)
        )
    log.info(
        "Loaded %s days: %s inserted, %s updated, %s unchanged",
        result.total,
        result.inserted,
        result.updated,
        result.unchanged,
    )
    return result


def record_failed_run(conn: Any, run: RunInfo, error: str) -> None:
    """Record a failed run in ``etl_runs``, in a transaction of its own (after the load's rollback)."""
    with _locked_transaction(conn) as cursor:
        cursor.execute(read_sql("insert_etl_run"), _run_row(run, status="failed", result=None, days=(), error=error))
    log.info("Recorded failed run %s", run.run_id)
