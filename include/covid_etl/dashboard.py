"""What the dashboard shows, computed on a worker and published as the ``publish_dashboard`` task's XCom.

On MWAA the API server, which serves the dashboard, runs in the service's own VPC without a route to
the private database; only schedulers and workers reach it. So the workers read the tables after each
load and publish a compact document into Airflow's metadata database (the XCom), which the plugin
reads with the caller's permissions checked. The document is a contract with
``plugins/covid_dashboard/data.py``: bump :data:`PAYLOAD_VERSION` when its shape changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import closing
from datetime import date, datetime
from typing import Any

from covid_etl.sql import read_sql

log = logging.getLogger(__name__)

PAYLOAD_VERSION = 1
RUN_LIMIT = 10
UNDEFINED_TABLE = "42P01"


def daily_columns(rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """[date, cases, deaths, recovered] rows, sorted by date, as one array per column from the first date.

    Element i is the value on first_date + i days; a date without a row holds None in every column
    (recovered is also None on dates JHU did not report it).
    """
    if not rows:
        return {"first_date": None, "cases": [], "deaths": [], "recovered": []}
    first = _as_date(rows[0][0])
    span = (_as_date(rows[-1][0]) - first).days + 1
    columns: dict[str, list] = {name: [None] * span for name in ("cases", "deaths", "recovered")}
    for day, cases, deaths, recovered in rows:
        offset = (_as_date(day) - first).days
        columns["cases"][offset], columns["deaths"][offset], columns["recovered"][offset] = cases, deaths, recovered
    return {"first_date": first.isoformat(), **columns}


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def build_payload(
    *, days: Sequence[Sequence[Any]], runs: Sequence[dict], last_success_at: datetime | str | None, run_id: str
) -> dict[str, Any]:
    """The published document.

    :param days: rows of covid_us_daily as [date, cases, deaths, recovered], sorted by date.
    :param runs: the last rows of etl_runs, newest first, as JSON objects.
    :param last_success_at: when the last successful run finished, or None.
    :param run_id: the run publishing it.
    """
    moment = last_success_at.isoformat() if isinstance(last_success_at, datetime) else last_success_at
    return {
        "version": PAYLOAD_VERSION,
        "run_id": run_id,
        "national": daily_columns(days),
        "runs": list(runs),
        "last_success_at": moment,
    }


def read_payload(conn: Any, *, run_id: str) -> dict[str, Any]:
    """Read the tables on ``conn`` (psycopg2 or psycopg 3) into the published document."""
    try:
        with closing(conn.cursor()) as cursor:
            cursor.execute(read_sql("dashboard"), {"run_limit": RUN_LIMIT})
            days, runs, last_success_at = cursor.fetchone()
    except Exception as exc:
        if UNDEFINED_TABLE not in (getattr(exc, "pgcode", None), getattr(exc, "sqlstate", None)):
            raise
        conn.rollback()
        log.info("The pipeline's tables do not exist yet: publishing an empty dashboard")
        days, runs, last_success_at = [], [], None
    payload = build_payload(days=days, runs=runs, last_success_at=last_success_at, run_id=run_id)
    log.info("Dashboard: %s days, %s runs", len(days), len(runs))
    return payload
