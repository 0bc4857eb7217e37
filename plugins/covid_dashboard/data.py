"""The dashboard's data: typed records, the adapter from the query's row, and the query itself."""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent / "sql"
RUN_LIMIT = 10
UNDEFINED_TABLE = "42P01"


@dataclass(frozen=True)
class Day:
    """One row of the daily series; None where the value is unknown."""

    date: date
    cases: int
    deaths: int
    recovered: int | None
    new_cases: int | None
    new_deaths: int | None
    new_cases_avg7: float | None
    new_deaths_avg7: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "cases": self.cases,
            "deaths": self.deaths,
            "recovered": self.recovered,
            "new_cases": self.new_cases,
            "new_deaths": self.new_deaths,
            "new_cases_avg7": self.new_cases_avg7,
            "new_deaths_avg7": self.new_deaths_avg7,
        }


@dataclass(frozen=True)
class Run:
    """One row of etl_runs, as the dashboard lists it."""

    run_id: str
    status: str
    started_at: datetime
    finished_at: datetime
    rows_inserted: int | None
    rows_updated: int | None
    rows_unchanged: int | None
    first_date: date | None
    last_date: date | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "rows_inserted": self.rows_inserted,
            "rows_updated": self.rows_updated,
            "rows_unchanged": self.rows_unchanged,
            "first_date": self.first_date and self.first_date.isoformat(),
            "last_date": self.last_date and self.last_date.isoformat(),
            "error": self.error,
        }


@dataclass(frozen=True)
class Dashboard:
    """What one page (or one JSON answer) shows."""

    days: tuple[Day, ...]
    runs: tuple[Run, ...]
    last_success_at: datetime | None
    # False when the tables do not exist yet (no run has ever reached the database).
    loaded: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "last_success_at": self.last_success_at and self.last_success_at.isoformat(),
            "days": [day.to_json() for day in self.days],
            "runs": [run.to_json() for run in self.runs],
        }


EMPTY = Dashboard(days=(), runs=(), last_success_at=None, loaded=False)


@cache
def read_sql(name: str) -> str:
    """Return the text of ``sql/<name>.sql``, shipped inside the plugin."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _optional_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


def _optional_float(value: float | int | None) -> float | None:
    return float(value) if value is not None else None


def _timestamp(value: str) -> datetime:
    # PostgreSQL writes timestamptz in JSON as ISO 8601 with the session's offset.
    return datetime.fromisoformat(value)


def day_from_json(item: dict[str, Any]) -> Day:
    return Day(
        date=date.fromisoformat(item["date"]),
        cases=item["cases"],
        deaths=item["deaths"],
        recovered=item["recovered"],
        new_cases=item["new_cases"],
        new_deaths=item["new_deaths"],
        new_cases_avg7=_optional_float(item["new_cases_avg7"]),
        new_deaths_avg7=_optional_float(item["new_deaths_avg7"]),
    )


def run_from_json(item: dict[str, Any]) -> Run:
    return Run(
        run_id=item["run_id"],
        status=item["status"],
        started_at=_timestamp(item["started_at"]),
        finished_at=_timestamp(item["finished_at"]),
        rows_inserted=item["rows_inserted"],
        rows_updated=item["rows_updated"],
        rows_unchanged=item["rows_unchanged"],
        first_date=_optional_date(item["first_date"]),
        last_date=_optional_date(item["last_date"]),
        error=item["error"],
    )


def dashboard_from_row(row: tuple[Any, Any, datetime | None]) -> Dashboard:
    """Adapt the single row of ``dashboard.sql`` (both drivers decode its json columns)."""
    days, runs, last_success_at = row
    return Dashboard(
        days=tuple(day_from_json(item) for item in days),
        runs=tuple(run_from_json(item) for item in runs),
        last_success_at=last_success_at,
    )


def is_undefined_table(exc: BaseException) -> bool:
    """Whether a driver error (psycopg2 or psycopg 3) says a table does not exist."""
    return UNDEFINED_TABLE in (getattr(exc, "pgcode", None), getattr(exc, "sqlstate", None))


def fetch_dashboard(conn_id: str) -> Dashboard:
    """Run ``dashboard.sql`` once on connection ``conn_id``."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    # A plain cursor rather than hook.get_first, which logs the whole statement on every page view.
    try:
        with closing(PostgresHook(postgres_conn_id=conn_id).get_conn()) as conn, closing(conn.cursor()) as cursor:
            cursor.execute(read_sql("dashboard"), {"run_limit": RUN_LIMIT})
            row = cursor.fetchone()
    except Exception as exc:
        if is_undefined_table(exc):
            # A fresh database: the DAG creates the tables on its first run.
            log.info("Tables of %s not created yet: no run has loaded data", conn_id)
            return EMPTY
        raise
    dashboard = dashboard_from_row(row)
    log.debug("Read %s days and %s runs from %s", len(dashboard.days), len(dashboard.runs), conn_id)
    return dashboard
