"""Backfill as users do it: Airflow 3's backfill through the local stack's REST API (what the UI and the CLI
create), one pinned run a day.

The stack's fake GitHub has a NYT and a JHU commit a day before each backfilled day (tests/fake_github.py:
each NYT one revises its last 3 days), besides the real versions, and two publications of NYT's state file;
the stack's runs load the national series and the states by default. Each run must load its own day's
publications, and the revisions view must list exactly what changed between consecutive ones. A backfill
created with the conf {"datasets": ["national"]} loads the national series only (issue 18, point 4).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote

import psycopg
import pytest

from airflow_client import AirflowClient
from fake_github import LATER_STATES, STATE_COUNTY_VINTAGES
from support import BACKFILL_DAYS, BACKFILL_FROM

# A day before the daily publications: NYT's of 2020-08-14 and JHU's of 2020-12-14 are its newest, and
# the newest state file then (of 2020-04-01) was never loaded on the stack (its own runs load a later one):
# a run that chose states would load it.
NATIONAL_ONLY_DAY = date(2021, 3, 1)


@pytest.fixture(scope="module")
def db(local_airflow) -> str:
    return f"postgresql://postgres@127.0.0.1:{local_airflow.pg_port}/covid"


def query(db: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def backfill_run_ids(backfilled) -> list[str]:
    return sorted(run["dag_run_id"] for run in backfilled["runs"])


def test_the_backfill_creates_one_successful_run_per_day(backfilled):
    runs = backfilled["runs"]
    days = sorted(datetime.fromisoformat(r["logical_date"]).date() for r in runs)
    assert days == [BACKFILL_FROM + timedelta(days=k) for k in range(BACKFILL_DAYS)]
    assert {r["state"] for r in runs} == {"success"}


def test_each_backfilled_run_loaded_the_publications_of_the_day_before_its_date(backfilled, db):
    rows = query(
        db,
        "SELECT run_id, sources->0->>'commit', sources->0->>'published_at', sources->1->>'commit', status"
        " FROM etl_runs WHERE dataset = 'national' AND run_id = ANY(%s) ORDER BY run_id",
        (backfill_run_ids(backfilled),),
    )
    assert len(rows) == BACKFILL_DAYS
    for k, (run_id, nyt_commit, nyt_at, jhu_commit, status) in enumerate(rows):
        assert (status, nyt_commit, jhu_commit) == ("success", f"{k + 1:02d}" + "a" * 38, f"{k + 1:02d}" + "b" * 38)
        run_day = datetime.fromisoformat(run_id.removeprefix("backfill__")).date()
        assert datetime.fromisoformat(nyt_at).date() == run_day - timedelta(days=1)


def test_each_backfilled_run_found_the_state_file_its_day_pins_loaded_already(backfilled, db):
    # The stack's own run loaded the newest; a backfilled day pins the same: skipped, and recorded so.
    rows = query(
        db,
        "SELECT dataset, status, sources->0->>'commit' FROM etl_runs"
        " WHERE dataset IN ('states', 'counties') AND run_id = ANY(%s)",
        (backfill_run_ids(backfilled),),
    )
    assert rows == [("states", "skipped", LATER_STATES.sha)] * BACKFILL_DAYS


def _versions(stack_github) -> list[tuple[datetime, dict[str, tuple[str, str]]]]:
    """The daily NYT publications, oldest first, as (commit time, {date: (cases, deaths)}), from their CSV."""
    repository = stack_github.repositories[("nytimes", "covid-19-data")]
    daily = [c for c in repository.commits if c.sha.endswith("a" * 38)]
    return [
        (
            commit.committed_at,
            {
                r["date"]: (r["cases"], r["deaths"])
                for r in csv.DictReader(io.StringIO(commit.content("us.csv").decode()))
            },
        )
        for commit in sorted(daily, key=lambda c: c.committed_at)
    ]


def test_the_revisions_view_lists_exactly_the_days_changed_between_consecutive_publications(
    backfilled, db, stack_github
):
    versions = _versions(stack_github)
    expected = sorted(
        (day, at.astimezone(UTC))
        for (_, old), (at, new) in zip(versions, versions[1:], strict=False)
        for day in old.keys() & new.keys()
        if old[day] != new[day]
    )
    rows = query(
        db,
        "SELECT date::text, published_at FROM covid_us_daily_revisions"
        " WHERE source = 'NYT' AND published_at > %s AND published_at <= %s ORDER BY 1, 2",
        (versions[0][0], versions[-1][0]),
    )
    assert len(expected) == 3 * (BACKFILL_DAYS - 1)
    assert [(day, at.astimezone(UTC)) for day, at in rows] == expected


def test_older_publications_backfilled_after_newer_ones_left_the_table_as_the_newest_say(backfilled, db):
    # The scheduler's own run loaded the newest publications first; the backfill's lost to them.
    # (Other tests' runs on this stack may load unpinned files, published when they ran.)
    stale = query(
        db,
        "SELECT sum(rows_stale) FROM etl_runs WHERE dataset = 'national' AND run_id = ANY(%s)",
        (backfill_run_ids(backfilled),),
    )[0][0]
    newest = query(
        db, "SELECT max(published_at) FROM dataset_publications WHERE dataset = 'nyt' AND commit IS NOT NULL"
    )
    assert stale > 0 and newest == [(datetime(2023, 1, 25, 12, tzinfo=UTC),)]
    table = dict(query(db, "SELECT date, cases FROM covid_us_daily"))
    as_of_now = dict(query(db, "SELECT date, cases FROM covid_us_daily_as_of(now())"))
    assert table == as_of_now


# -- a backfill that chooses its datasets (issue 18, point 4) -------------------------------------------


@pytest.fixture(scope="module")
def national_only(local_airflow, backfilled) -> dict:
    """A backfill of NATIONAL_ONLY_DAY created through the REST API with {"datasets": ["national"]} as its
    runs' conf (after the other one: one backfill at a time); its run, task states and summary."""
    api = AirflowClient.login(local_airflow)
    first = f"/api/v2/backfills/{backfilled['backfill']['id']}"
    api.wait(lambda: api.get(first)["completed_at"], "the first backfill to be marked completed", timeout=120)
    day = datetime.combine(NATIONAL_ONLY_DAY, time(), tzinfo=UTC)
    backfill = api.post(
        "/api/v2/backfills",
        {
            "dag_id": "covid_etl",
            "from_date": day.isoformat(),
            "to_date": day.isoformat(),
            "max_active_runs": 1,
            "reprocess_behavior": "none",
            "dag_run_conf": {"datasets": ["national"]},
        },
    )

    def finished():
        params = {"run_type": "backfill", "logical_date_gte": day.isoformat(), "logical_date_lte": day.isoformat()}
        runs = api.get("/api/v2/dags/covid_etl/dagRuns", **params)["dag_runs"]
        return runs if runs and all(run["state"] in ("success", "failed") for run in runs) else None

    [run] = api.wait(finished, f"the backfill of {day.date()}", timeout=300, every=2)
    path = f"/api/v2/dags/covid_etl/dagRuns/{quote(run['dag_run_id'])}"
    tasks = {ti["task_id"]: ti["state"] for ti in api.get(f"{path}/taskInstances", limit=100)["task_instances"]}
    summary = api.get(f"{path}/taskInstances/report_run/xcomEntries/summary", deserialize="true")["value"]
    default = api.get("/api/v2/dags/covid_etl/details")["params"]["datasets"]["value"]
    return {"backfill": backfill, "run": run, "tasks": tasks, "summary": summary, "default": default}


def test_a_backfill_created_with_a_datasets_conf_gives_it_to_its_runs_over_the_dags_default(national_only):
    assert national_only["backfill"]["dag_run_conf"] == {"datasets": ["national"]}
    assert national_only["default"] == ["national", "states"]  # the stack's COVID_ETL_DATASETS
    run = national_only["run"]
    assert (run["conf"], run["state"], run["run_type"]) == ({"datasets": ["national"]}, "success", "backfill")


def test_a_national_only_backfill_sees_only_the_national_tasks_load(national_only):
    tasks = national_only["tasks"]
    assert {task: tasks[task] for task in ("nyt.load", "jhu.load", "national.merge")} == dict.fromkeys(
        ("nyt.load", "jhu.load", "national.merge"), "success"
    )
    for name in ("states", "counties"):
        assert (tasks[f"{name}.resolve"], tasks[f"{name}.fetch"], tasks[f"{name}.load"]) == (
            "success",
            "skipped",
            "skipped",
        ), name


def test_a_national_only_backfills_states_and_counties_skip_as_not_chosen(national_only):
    summary = national_only["summary"]
    not_chosen = {"status": "skipped", "reason": "not chosen for this run"}
    assert (summary["states"], summary["counties"]) == (not_chosen, not_chosen)
    assert (summary["status"], summary["national_status"]) == ("success", "success")


def test_a_national_only_backfill_loaded_no_state_file_though_its_day_pins_one_never_loaded(national_only, db):
    run_id = national_only["run"]["dag_run_id"]
    assert {dataset for (dataset,) in query(db, "SELECT dataset FROM etl_runs WHERE run_id = %s", (run_id,))} == {
        "nyt",
        "jhu",
        "national",
    }
    loaded = {commit for (commit,) in query(db, "SELECT commit FROM dataset_publications WHERE dataset = 'states'")}
    assert LATER_STATES.sha in loaded and STATE_COUNTY_VINTAGES[-1].sha not in loaded
