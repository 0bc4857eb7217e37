"""The dashboard's data: typed records, derived daily values, and the read of the published document.

The API server has no route to the pipeline's database on MWAA, so the plugin never queries it: the
DAG's ``publish_dashboard`` task reads the tables on a worker and publishes a document as its XCom
(``include/covid_etl/publish/dashboard.py`` writes it), and :func:`fetch_dashboard` reads the newest one from
Airflow's metadata database, which the API server does reach.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from covid_dashboard import DAG_ID, PUBLISHER_TASK_ID
from covid_dashboard.history import AreaRevisions, History
from covid_dashboard.states import StatesView

log = logging.getLogger(__name__)

# The version of the published document this plugin reads (include/covid_etl/publish/dashboard.py).
PAYLOAD_VERSION = 4


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
    # Incoming days that lost to a newer publication (None for runs before pinned publications).
    rows_stale: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "rows_inserted": self.rows_inserted,
            "rows_updated": self.rows_updated,
            "rows_unchanged": self.rows_unchanged,
            "rows_stale": self.rows_stale,
            "first_date": self.first_date and self.first_date.isoformat(),
            "last_date": self.last_date and self.last_date.isoformat(),
            "error": self.error,
        }


@dataclass(frozen=True)
class Publication:
    """Which run published the document, and when."""

    run_id: str
    published_at: datetime


@dataclass(frozen=True)
class Dashboard:
    """What one page (or one JSON answer) shows."""

    days: tuple[Day, ...]
    runs: tuple[Run, ...]
    last_success_at: datetime | None
    # None until a run of the DAG has published the dashboard.
    publication: Publication | None = None
    history: History = field(default_factory=lambda: History.from_json(None))
    # The newest revisions of states and counties (the national series' are in ``history``).
    revisions: AreaRevisions = field(default_factory=lambda: AreaRevisions.from_json(None))
    states: StatesView = field(default_factory=lambda: StatesView.from_json(None, None))
    # Set when the days are the table as it stood then (from the history), not as it is.
    as_of: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        published = self.publication
        return {
            "as_of": self.as_of and self.as_of.isoformat(),
            "published_at": published and published.published_at.isoformat(),
            "published_by": published and published.run_id,
            "last_success_at": self.last_success_at and self.last_success_at.isoformat(),
            "days": [day.to_json() for day in self.days],
            "runs": [run.to_json() for run in self.runs],
        }


def _optional_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


def _timestamp(value: str) -> datetime:
    # PostgreSQL writes timestamptz in JSON as ISO 8601 with the session's offset.
    return datetime.fromisoformat(value)


def _mean_of_week(values: list[int]) -> float:
    """The mean of 7 counts, rounded half away from zero to 2 decimals (as PostgreSQL's round does)."""
    return float((Decimal(sum(values)) / 7).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def derive_days(
    first_date: date, cases: list[int | None], deaths: list[int | None], recovered: list[int | None]
) -> tuple[Day, ...]:
    """The days of the published columns (element i is first_date + i; cases None: no row that day).

    New = the day's cumulative count minus the previous calendar day's: None when that day has no row
    (the first day, or after a hole) rather than a silent multi-day difference; negative when a source
    revised its count down. The 7-day average is the mean of the 7 calendar days ending on the day,
    None unless all 7 have a value.
    """
    new_cases = [None] + [b - a if None not in (a, b) else None for a, b in zip(cases, cases[1:], strict=False)]
    new_deaths = [None] + [b - a if None not in (a, b) else None for a, b in zip(deaths, deaths[1:], strict=False)]

    def week(values: list[int | None], i: int) -> float | None:
        window = values[i - 6 : i + 1] if i >= 6 else [None]
        return None if None in window else _mean_of_week(window)

    return tuple(
        Day(
            date=first_date + timedelta(days=i),
            cases=cases[i],
            deaths=deaths[i],
            recovered=recovered[i],
            new_cases=new_cases[i],
            new_deaths=new_deaths[i],
            new_cases_avg7=week(new_cases, i),
            new_deaths_avg7=week(new_deaths, i),
        )
        for i in range(len(cases))
        if cases[i] is not None
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
        rows_stale=item.get("rows_stale"),
    )


def columns_of(rows: list[tuple[date, int, int, int | None]]) -> tuple[date | None, list, list, list]:
    """[date, cases, deaths, recovered] rows by date as (first date, one list per column, None on holes)."""
    if not rows:
        return None, [], [], []
    first = rows[0][0]
    span = (rows[-1][0] - first).days + 1
    cases, deaths, recovered = [None] * span, [None] * span, [None] * span
    for day, c, d, r in rows:
        offset = (day - first).days
        cases[offset], deaths[offset], recovered[offset] = c, d, r
    return first, cases, deaths, recovered


def dashboard_from_payload(
    payload: dict[str, Any], publication: Publication, *, as_of: datetime | None = None
) -> Dashboard:
    """Adapt the document publish_dashboard wrote; with ``as_of``, the days as the table stood then."""
    if payload.get("version") != PAYLOAD_VERSION:
        raise ValueError(f"dashboard document version {payload.get('version')!r}, this plugin reads {PAYLOAD_VERSION}")
    history = History.from_json(payload.get("history"))
    if as_of is None:
        national = payload["national"]
        first_date = national["first_date"] and date.fromisoformat(national["first_date"])
        columns = (first_date, national["cases"], national["deaths"], national["recovered"])
    else:
        columns = columns_of(history.as_of(as_of))
    days = derive_days(*columns) if columns[0] else ()
    last_success_at = payload["last_success_at"]
    return Dashboard(
        days=days,
        runs=tuple(run_from_json(item) for item in payload["runs"]),
        last_success_at=_timestamp(last_success_at) if last_success_at else None,
        publication=publication,
        history=history,
        revisions=AreaRevisions.from_json(payload["revisions"]),
        states=StatesView.from_json(payload.get("states"), payload.get("counties")),
        as_of=as_of,
    )


EMPTY = Dashboard(days=(), runs=(), last_success_at=None)


def latest_publication() -> tuple[dict[str, Any], Publication] | None:
    """The newest document publish_dashboard wrote, from Airflow's metadata database; None before the first.

    A task's XCom exists only once it succeeded (a retry or a cleared task removes it first), so the
    newest one is the last successful publication.
    """
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = (
        select(XComModel)
        .where(XComModel.dag_id == DAG_ID, XComModel.task_id == PUBLISHER_TASK_ID, XComModel.key == "return_value")
        .order_by(XComModel.timestamp.desc())
        .limit(1)
    )
    with create_session() as session:
        row = session.scalars(query).first()
        if row is None:
            return None
        return XComModel.deserialize_value(row), Publication(run_id=row.run_id, published_at=row.timestamp)


def fetch_dashboard(as_of: datetime | None = None) -> Dashboard:
    """What the page shows: the newest published document (the table as of ``as_of`` if given), or
    EMPTY before the first one."""
    found = latest_publication()
    if found is None:
        log.info("No run of %s has published the dashboard yet", DAG_ID)
        return EMPTY
    return dashboard_from_payload(*found, as_of=as_of)
