"""Helpers for the dashboard's tests (tests/unit/dashboard, tests/integration/dashboard, tests/e2e/dashboard):
the national series loaded by the pipeline's own loader, runs, and test data.

A module of its own rather than a conftest.py: tests/ has a conftest.py too, and `import conftest`
would be ambiguous.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from support import ROOT

PLUGINS = ROOT / "plugins"
# The real files the e2e test loads through the DAG, and the unit tests derive values from.
NYT_FIXTURE = "real/nyt-us-2023-01-24.csv"
JHU_FIXTURE = "jhu/combined-us-through-2021-09.csv"
UTC = UTC
ONE_DAY = timedelta(days=1)


class Day(NamedTuple):
    """A row of covid_us_daily (recovered None: not reported)."""

    date: date
    cases: int
    deaths: int
    recovered: int | None


def connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True)


def load_national(
    url: str, days: Sequence[Day], folder: Path, *, at: datetime, commit: str, run_id: str = "test"
) -> None:
    """Load ``days`` as the pipeline does: a NYT us.csv and a JHU combined file (its US rows) of them,
    committed at ``at``, each through the loader, then the national merge into covid_us_daily.

    A recovered count of None is written as JHU writes "not reported", a 0 (after an earlier positive
    one, which the loader's step turns into NULL)."""
    import psycopg
    from loads import load_file

    from covid_etl.load.national import merge_national
    from covid_etl.records import Publication
    from covid_etl.sources.specs import DATASETS

    nyt = folder / f"nyt-{commit}.csv"
    nyt.write_text("date,cases,deaths\n" + "".join(f"{d.date},{d.cases},{d.deaths}\n" for d in days))
    jhu = folder / f"jhu-{commit}.csv"
    jhu.write_text(
        "Date,Country/Region,Province/State,Confirmed,Recovered,Deaths\n"
        + "".join(f"{d.date},US,,{d.cases},{d.recovered or 0},{d.deaths}\n" for d in days)
    )
    publications = {}
    for name, path in (("nyt", nyt), ("jhu", jhu)):
        load_file(url, name, path, at=at, commit=f"{name}-{commit}", run_id=run_id)
        publications[name] = Publication(name, DATASETS[name].whole_file.path, path.as_uri(), at, f"{name}-{commit}")
    with psycopg.connect(url) as conn:
        merge_national(conn, run_id=run_id, started_at=at, publications=publications)


def insert_run(url: str, run_id: str, status: str, started_at: datetime, **columns) -> None:
    """A row of etl_runs, as a run of the DAG leaves it."""
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


def synthetic_days(count: int, first: date = date(2020, 3, 1), recovered_until: int | None = None) -> list[Day]:
    """Deterministic, irregular cumulative series; recovered is None from index ``recovered_until`` on."""
    days, cases, deaths = [], 0, 0
    for i in range(count):
        cases += (i * 7919) % 5000 + (i % 3) * 1000
        deaths += (i * 104729) % 90
        recovered = None if recovered_until is not None and i >= recovered_until else cases // 2
        days.append(Day(first + timedelta(days=i), cases, deaths, recovered))
    return days


def expected_derived(days: Iterable[Day]) -> dict[date, dict[str, float | int | None]]:
    """Per date, computed here independently of the plugin: daily new counts (None without the previous
    calendar day) and their 7-day means (None unless all 7 days have one)."""
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
