"""Load a run's publications into PostgreSQL: one transaction per run, on psycopg2 or psycopg 3.

Each publication's days go into the history (include/sql/history.sql), and covid_us_daily is then
brought to what the newest loaded publication of each source says, whatever order runs came in.
PostgresHook hands out psycopg 3 connections on MWAA 3.3.1 (postgres provider 7) and psycopg2 ones
where only psycopg2 is installed; :func:`load_national` takes either.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from covid_etl.records import CovidDay, LoadResult, NytDay, Publication, RunInfo
from covid_etl.sql import read_sql

log = logging.getLogger(__name__)

# Rows per statement for psycopg2's execute_values: the whole national series fits in one.
_PSYCOPG2_PAGE_SIZE = 5000
# The temporary tables a load fills: each source's publication in turn, then the merged days.
_INCOMING = {
    "incoming_publication": "date date, cases bigint, deaths bigint, recovered bigint",
    "incoming_merged": "date date, cases bigint, deaths bigint, recovered bigint",
}


def is_psycopg2(conn: Any) -> bool:
    return type(conn).__module__.split(".")[0] == "psycopg2"


@contextmanager
def locked_transaction(conn: Any) -> Iterator[Any]:
    """Run the body in one transaction holding the load lock, with the tables and functions in place."""
    conn.autocommit = False
    try:
        with conn.cursor() as cursor:
            cursor.execute(read_sql("lock_covid_us_daily"))
            cursor.execute(read_sql("create_tables"))
            cursor.execute(read_sql("history"))
            yield cursor
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _fill(cursor: Any, table: str, rows: Sequence[tuple], psycopg2: bool) -> None:
    """(Re)fill one of the temporary incoming tables: COPY on psycopg 3, execute_values on psycopg2."""
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({_INCOMING[table]}) ON COMMIT DROP")
    cursor.execute(f"TRUNCATE {table}")
    if psycopg2:
        from psycopg2.extras import execute_values

        execute_values(cursor, f"INSERT INTO {table} VALUES %s", rows, page_size=_PSYCOPG2_PAGE_SIZE)
        return
    with cursor.copy(f"COPY {table} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _record_publication(
    cursor: Any, publication: Publication, rows: Sequence[tuple], run_id: str, psycopg2: bool
) -> bool:
    """Add one publication and its days to the history; False if it had been loaded before."""
    ident = publication.ident(run_id)
    cursor.execute(
        read_sql("insert_publication"),
        {
            "source": publication.source,
            "ident": ident,
            "commit": publication.commit,
            "published_at": publication.published_at,
            "url": publication.url,
            "sha256": publication.sha256,
            "first_date": rows[0][0],
            "last_date": rows[-1][0],
            "days": len(rows),
            "run_id": run_id,
        },
    )
    if cursor.fetchone() is None:
        log.info("%s publication %s was loaded before: its history is already recorded", publication.source, ident)
        return False
    _fill(cursor, "incoming_publication", rows, psycopg2)
    cursor.execute("SELECT covid_record_publication(%s, %s, %s)", (publication.source, publication.published_at, ident))
    return True


def _sources_json(run: RunInfo) -> str:
    return json.dumps([p.to_json() for p in (run.nyt, run.jhu) if p is not None])


def _run_row(
    run: RunInfo, *, status: str, result: LoadResult | None, days: Sequence[CovidDay], error: str | None
) -> dict:
    """The parameters of insert_etl_run.sql; what a run did not get to is NULL."""
    row = {"run_id": run.run_id, "dataset": run.dataset, "started_at": run.started_at, "status": status}
    row |= {"error": error, "sources": _sources_json(run)}
    for prefix, source in (("nyt", run.nyt), ("jhu", run.jhu)):
        row |= {f"{prefix}_{field}": getattr(source, field, None) for field in ("url", "sha256", "rows")}
    for field in ("inserted", "updated", "unchanged", "stale"):
        row[f"rows_{field}"] = getattr(result, field, None)
    row["first_date"], row["last_date"] = (days[0].date, days[-1].date) if days else (None, None)
    return row


def load_national(
    conn: Any,
    *,
    nyt: Sequence[NytDay],
    jhu_recovered: Mapping[date, int | None],
    merged: Sequence[CovidDay],
    run: RunInfo,
) -> LoadResult:
    """Record the run's two publications in the history, bring covid_us_daily up to date, and record
    the run in ``etl_runs``: all of it committed, or none of it.

    :param conn: an open psycopg2 or psycopg 3 connection (not in autocommit); it is not closed.
    :param nyt: the NYT publication's days, sorted by date.
    :param jhu_recovered: the JHU publication's US recovered per date (None: not reported), by date.
    :param merged: the two joined on date, sorted: what this run's publications say the table holds.
    :param run: the run's id and start, and its two publications (commit, time, sha256, rows).
    """
    psycopg2 = is_psycopg2(conn)
    with locked_transaction(conn) as cursor:
        nyt_rows = [(d.date, d.cases, d.deaths, None) for d in nyt]
        jhu_rows = [(day, None, None, recovered) for day, recovered in sorted(jhu_recovered.items())]
        for publication, rows in ((run.nyt, nyt_rows), (run.jhu, jhu_rows)):
            _record_publication(cursor, publication, rows, run.run_id, psycopg2)
        _fill(cursor, "incoming_merged", [(d.date, d.cases, d.deaths, d.recovered) for d in merged], psycopg2)
        cursor.execute(read_sql("upsert_covid_us_daily"), {"run_id": run.run_id})
        inserted, updated, stale, unchanged = cursor.fetchone()
        result = LoadResult(inserted=inserted, updated=updated, unchanged=unchanged, stale=stale)
        cursor.execute(
            read_sql("insert_etl_run"), _run_row(run, status="success", result=result, days=merged, error=None)
        )
    log.info(
        "Loaded %s days: %s inserted, %s updated, %s unchanged, %s stale",
        len(merged),
        result.inserted,
        result.updated,
        result.unchanged,
        result.stale,
    )
    return result


def loaded_publications(conn: Any, publications: Sequence[Publication]) -> list[Publication]:
    """Those of ``publications`` (pinned ones) that an earlier successful run loaded already."""
    with locked_transaction(conn) as cursor:
        found = []
        for publication in publications:
            if publication.pinned:
                cursor.execute(
                    "SELECT 1 FROM covid_publications WHERE source = %s AND ident = %s",
                    (publication.source, publication.commit),
                )
                if cursor.fetchone():
                    found.append(publication)
    return found


def record_run(conn: Any, run: RunInfo, *, status: str, error: str | None = None) -> None:
    """Record a run that loaded nothing (``failed`` after the load's rollback, or ``skipped``)."""
    with locked_transaction(conn) as cursor:
        cursor.execute(read_sql("insert_etl_run"), _run_row(run, status=status, result=None, days=(), error=error))
    log.info("Recorded %s run %s", status, run.run_id)
