"""Helpers for the dashboard's tests (tests/unit/dashboard, tests/integration/dashboard, tests/e2e/dashboard):
the national series loaded by the pipeline's own loader, runs, and test data.

A module of its own rather than a conftest.py: tests/ has a conftest.py too, and `import conftest`
would be ambiguous.
"""

from __future__ import annotations

import csv
import io
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


# The real national files of tests/fixtures/real, and when each was published (the JHU times are the
# real commits'; NYT's are not recorded: the day after the file's last date, at noon, as in fake_github.py).
NYT_VERSIONS = {
    "real/nyt-us-2020-08-13.csv": datetime(2020, 8, 14, 12, tzinfo=UTC),
    "real/nyt-us-2022-04-19.csv": datetime(2022, 4, 20, 12, tzinfo=UTC),
    "real/nyt-us-2023-01-24.csv": datetime(2023, 1, 25, 12, tzinfo=UTC),
}
JHU_VERSIONS = {
    "real/jhu-combined-2020-12-14.csv": datetime(2020, 12, 14, 6, 7, 45, tzinfo=UTC),
    "real/jhu-combined-2021-03-17.csv": datetime(2021, 3, 17, 6, 9, 33, tzinfo=UTC),
}


# The real vintages of NYT's state and county files, and when each was published.
STATE_VINTAGES = {
    "real/nyt-us-states-2020-07-19.csv": datetime(2020, 7, 20, 1, tzinfo=UTC),
    "real/nyt-us-states-2021-03-15.csv": datetime(2021, 3, 16, 1, tzinfo=UTC),
}
COUNTY_VINTAGES = {
    "real/nyt-us-counties-2020-03-28.csv": datetime(2020, 3, 29, 1, tzinfo=UTC),
    "real/nyt-us-counties-2020-03-31.csv": datetime(2020, 4, 1, 1, tzinfo=UTC),
}


NEW_YORK_CITY = ("New York", "New York City")
WESTCHESTER = ("New York", "Westchester")
# Earlier publications of tests/fixtures/counties/us-counties.csv, for the browser test's revisions view
# (tests/e2e/dashboard/conftest.py): New York City's counts of 2020-03-13 and 2020-03-14 lower, raised
# in two steps to the fixture's (each date revised twice, deaths once), and Westchester's of 2020-03-14
# lower once. Per publication, the (cases, deaths) taken off a key's values in the fixture.
EARLIER_COUNTY_PUBLICATIONS = (
    {
        ("2020-03-13", *NEW_YORK_CITY): (12, 0),
        ("2020-03-14", *NEW_YORK_CITY): (15, 1),
        ("2020-03-14", *WESTCHESTER): (5, 0),
    },
    {
        ("2020-03-13", *NEW_YORK_CITY): (4, 0),
        ("2020-03-14", *NEW_YORK_CITY): (7, 0),
    },
)


def earlier_county_version(text: str, lowered: dict[tuple[str, str, str], tuple[int, int]]) -> str:
    """The county file with the given keys' cases and deaths lowered."""
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        cases, deaths = lowered.get((row["date"], row["state"], row["county"]), (0, 0))
        row["cases"], row["deaths"] = int(row["cases"]) - cases, int(row["deaths"]) - deaths
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def load_fixture(url: str, dataset: str, name: str, folder: Path, *, at: datetime, run_id: str = "test"):
    """Load a fixture file as a publication of ``dataset`` committed at ``at``, through the real loader."""
    from loads import fixture_file, load_file

    commit = f"{dataset}-{at:%Y%m%d%H%M%S}"
    return load_file(url, dataset, fixture_file(name, folder), at=at, commit=commit, run_id=run_id)


def merge(url: str, *, nyt_at: datetime, jhu_at: datetime, run_id: str = "test") -> None:
    """The national merge into covid_us_daily, as the DAG's national.merge task runs it."""
    import psycopg

    from covid_etl.load.national import merge_national
    from covid_etl.records import Publication
    from covid_etl.sources.specs import DATASETS

    publications = {
        name: Publication(name, DATASETS[name].whole_file.path, "file://", at, f"{name}-{at:%Y%m%d%H%M%S}")
        for name, at in (("nyt", nyt_at), ("jhu", jhu_at))
    }
    with psycopg.connect(url) as conn:
        merge_national(conn, run_id=run_id, started_at=datetime.now(UTC), publications=publications)


def load_national(url: str, days: Sequence[Day], folder: Path, *, at: datetime, run_id: str = "test") -> None:
    """Load ``days`` as the pipeline does: a NYT us.csv and a JHU combined file (its US rows) of them,
    committed at ``at``, each through the loader, then the national merge into covid_us_daily.

    A recovered count of None is written as JHU writes "not reported", a 0 (after an earlier positive
    one, which the loader's step turns into NULL)."""
    from loads import load_file

    nyt = folder / f"nyt-{at:%Y%m%d%H%M%S}.csv"
    nyt.write_text("date,cases,deaths\n" + "".join(f"{d.date},{d.cases},{d.deaths}\n" for d in days))
    jhu = folder / f"jhu-{at:%Y%m%d%H%M%S}.csv"
    jhu.write_text(
        "Date,Country/Region,Province/State,Confirmed,Recovered,Deaths\n"
        + "".join(f"{d.date},US,,{d.cases},{d.recovered or 0},{d.deaths}\n" for d in days)
    )
    for name, path in (("nyt", nyt), ("jhu", jhu)):
        load_file(url, name, path, at=at, commit=f"{name}-{at:%Y%m%d%H%M%S}", run_id=run_id)
    merge(url, nyt_at=at, jhu_at=at, run_id=run_id)


def publish_with_dag_test() -> str:
    """Publish what the covid_db connection holds as the DAG does: a real dag.test() run in which only
    publish_dashboard (and report_run after it) execute; the tasks before them are marked successful
    without running. The document lands in Airflow's metadata database; returns the run's id."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["covid_etl"]
    dag_run = dag.test(mark_success_pattern=r"(?!publish_dashboard$|report_run$).*")
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["publish_dashboard"] == "success", states
    return dag_run.run_id


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
