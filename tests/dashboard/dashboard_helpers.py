"""Helpers for the dashboard tests: the plugin package on sys.path, the pipeline's tables, test data.

A module of its own rather than conftest.py: tests/ has a conftest.py too, and `import conftest`
would be ambiguous.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
FIXTURES = ROOT / "tests" / "fixtures"
# The real files the browser test loads through the DAG, and the SQL tests load directly.
NYT_FIXTURE = "real/nyt-us-2023-01-24.csv"
JHU_FIXTURE = "jhu/combined-us-through-2021-09.csv"
UTC = UTC
ONE_DAY = timedelta(days=1)

# Airflow puts its plugins folder on sys.path; so do the tests, to import the package as Airflow does.
if str(PLUGINS) not in sys.path:
    sys.path.insert(0, str(PLUGINS))

from covid_etl.records import CovidDay  # noqa: E402


def connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def insert_days(url: str, days: Iterable[CovidDay], run_id: str = "test") -> None:
    with connect(url) as conn, conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO covid_us_daily (date, cases, deaths, recovered, run_id) VALUES (%s, %s, %s, %s, %s)",
            [(d.date, d.cases, d.deaths, d.recovered, run_id) for d in days],
        )


def insert_run(url: str, run_id: str, status: str, started_at: datetime, **columns) -> None:
    values = {
        "run_id": run_id,
        "status": status,
        "started_at": started_at,
        "finished_at": started_at + timedelta(minutes=1),
        **columns,
    }
    with connect(url) as conn:
        conn.execute(
            f"INSERT INTO etl_runs ({', '.join(values)}) VALUES ({', '.join(['%s'] * len(values))})",
            list(values.values()),
        )


def synthetic_days(count: int, first: date = date(2020, 3, 1), recovered_until: int | None = None) -> list[CovidDay]:
    """Deterministic, irregular cumulative series; recovered is None from index ``recovered_until`` on."""
    days, cases, deaths = [], 0, 0
    for i in range(count):
        cases += (i * 7919) % 5000 + (i % 3) * 1000
        deaths += (i * 104729) % 90
        recovered = None if recovered_until is not None and i >= recovered_until else cases // 2
        days.append(CovidDay(first + timedelta(days=i), cases, deaths, recovered))
    return days


def expected_derived(days: Iterable[CovidDay]) -> dict[date, dict[str, float | int | None]]:
    """Per date, computed here independently of dashboard.sql: daily new counts (None without the
    previous calendar day) and their 7-day means (None unless all 7 days have one)."""
    by_date = {d.date: d for d in days}

    def new(day: date, column: str) -> int | None:
        today, yesterday = by_date.get(day), by_date.get(day - ONE_DAY)
        return None if today is None or yesterday is None else getattr(today, column) - getattr(yesterday, column)

    def mean7(day: date, column: str) -> float | None:
        window = [new(day - k * ONE_DAY, column) for k in range(7)]
        return None if None in window else sum(window) / 7

    return {
        day: {
            "new_cases": new(day, "cases"),
            "new_deaths": new(day, "deaths"),
            "new_cases_avg7": mean7(day, "cases"),
            "new_deaths_avg7": mean7(day, "deaths"),
        }
        for day in by_date
    }
