"""States and counties through the DAG: loaded beside the national series, each on its own, with data
quality checks and the states-against-nation comparison.

Fixtures: tests/fixtures/states/us-states.csv (56 states and territories, 14 days, summing to the real
NYT national counts) and tests/fixtures/counties/us-counties.csv (four states' counties and NYT's
exceptions, 14 days); see tests/fixtures/generate_states_counties.py.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import psycopg
import pytest
from test_bulk import expected_table, stored

from covid_etl.dataset_steps import STATES_VS_NATION_TOLERANCE
from covid_etl.datasets import COUNTIES, STATES
from fake_github import NYT_REPO, Commit
from support import fixture_text

NATIONAL = {"nyt_path": "files/real/nyt-us-2020-08-13.csv", "jhu_path": "files/real/jhu-combined-2020-12-14.csv"}


@pytest.fixture
def run_all(run_dag, http_server):
    """Run the DAG on fixture files for the three datasets (or those given)."""

    def run(states="states/us-states.csv", counties="counties/us-counties.csv", datasets=None):
        conf = {
            "datasets": datasets or ["national", "states", "counties"],
            "states_url": http_server.url(f"files/{states}"),
            "counties_url": http_server.url(f"files/{counties}"),
        }
        return run_dag(NATIONAL["nyt_path"], NATIONAL["jhu_path"], **conf)

    return run


def runs(db_url: str) -> dict[str, tuple]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT dataset, status, rows_inserted, rows_updated, rows_unchanged, rows_stale, error"
            " FROM etl_runs ORDER BY id"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_the_three_datasets_load_with_exact_counts_and_one_message_reports_them(run_all, pipeline_env, sns_inbox):
    state, tasks = run_all()

    assert state == "success", tasks
    db = pipeline_env["AIRFLOW_CONN_COVID_DB"]
    states, counties = (
        expected_table(STATES, fixture_text("states/us-states.csv")),
        expected_table(COUNTIES, fixture_text("counties/us-counties.csv")),
    )
    assert stored(db, STATES) == states and stored(db, COUNTIES) == counties
    assert runs(db)["states"] == ("success", len(states), 0, 0, 0, None)
    assert runs(db)["counties"] == ("success", len(counties), 0, 0, 0, None)
    for check in ("columns", "table"):
        assert tasks[f"check_states_{check}"] == tasks[f"check_counties_{check}"] == "success"
    assert tasks["compare_states_with_nation"] == "success"
    [message] = sns_inbox.received()
    assert f"States: {len(states)} inserted, 0 updated, 0 unchanged, 0 stale" in message["message"]
    assert f"Counties: {len(counties)} inserted" in message["message"]


def test_a_second_run_on_the_same_files_sends_nothing(run_all, pipeline_env):
    run_all()
    state, _ = run_all()
    assert state == "success"
    counties = len(expected_table(COUNTIES, fixture_text("counties/us-counties.csv")))
    assert runs(pipeline_env["AIRFLOW_CONN_COVID_DB"])["counties"] == ("success", 0, 0, counties, 0, None)


def test_a_malformed_county_file_fails_its_dataset_only(run_all, pipeline_env, sns_inbox, airflow_metadata_db):
    state, tasks = run_all(counties="counties/bad-fips.csv")

    assert state == "failed"
    assert tasks["load_counties"] == "failed" and tasks["check_counties_columns"] == "upstream_failed"
    assert tasks["upsert_days"] == tasks["load_states"] == tasks["compare_states_with_nation"] == "success"
    db = pipeline_env["AIRFLOW_CONN_COVID_DB"]
    outcome = runs(db)
    assert outcome["national"][0] == outcome["states"][0] == "success"
    assert (
        outcome["counties"][0] == "failed"
        and "line 42: fips is not a 2- or 5-digit FIPS code: '1234'" in outcome["counties"][-1]
    )
    assert stored(db, COUNTIES) == {}
    [failure] = [m for m in sns_inbox.received() if "failed" in m["subject"]]
    assert failure["subject"] == "covid_etl failed in load_counties"
    assert "Source: NYT counties in PostgreSQL" in failure["message"]
    assert "table covid_us_county_daily was left unchanged" in failure["message"]


def test_only_the_chosen_datasets_load(run_all, pipeline_env):
    state, tasks = run_all(datasets=["states"])

    assert state == "success"
    assert tasks["resolve_sources"] == "success" and tasks["fetch_nyt"] == "skipped"
    assert tasks["fetch_counties"] == "skipped" and tasks["load_states"] == "success"
    assert set(runs(pipeline_env["AIRFLOW_CONN_COVID_DB"])) == {"states"}


def test_states_that_do_not_sum_to_the_nation_fail_the_comparison(run_all, pipeline_env, sns_inbox):
    state, tasks = run_all(states="states/us-states-3pc-more-than-nation.csv")

    assert state == "failed" and tasks["compare_states_with_nation"] == "failed"
    assert tasks["load_states"] == "success"  # loaded, then found inconsistent: the check says so
    [failure] = [m for m in sns_inbox.received() if "failed" in m["subject"]]
    assert "the states' sum differs from the national series by" in failure["message"]


def test_the_tolerance_is_twice_the_largest_revision_in_nyts_own_national_series():
    versions = [
        {
            row["date"]: (int(row["cases"]), int(row["deaths"]))
            for row in csv.DictReader(io.StringIO(fixture_text(name)))
        }
        for name in ("real/nyt-us-2020-08-13.csv", "real/nyt-us-2022-04-19.csv", "real/nyt-us-2023-01-24.csv")
    ]
    largest = max(
        abs(new[day][i] - old[day][i]) / new[day][i]
        for old, new in zip(versions, versions[1:], strict=False)
        for day in old.keys() & new.keys()
        for i in (0, 1)
        if new[day][i] >= 1000
    )
    assert round(largest, 5) == 0.00048  # cases of 2020-08-13: 5,262,791 then 5,265,307
    assert 2 * largest <= STATES_VS_NATION_TOLERANCE < 3 * largest


def _county_file(year: int, days: int) -> bytes:
    lines = fixture_text("counties/us-counties.csv").splitlines()
    body = [lines[0]] + [line.replace("2020-03", f"{year}-03", 1) for line in lines[1:] if line[8:10] <= f"{days:02d}"]
    return ("\n".join(body) + "\n").encode()


def test_counties_are_pinned_to_the_yearly_files_once_they_exist_else_to_the_single_file(
    run_pinned, pipeline_env, real_github, monkeypatch
):
    nyt = real_github.repositories[NYT_REPO]
    single = Commit("c" * 40, datetime(2020, 3, 20, tzinfo=UTC), {"us-counties.csv": _county_file(2020, 14)})
    split = Commit(
        "d" * 40,
        datetime(2022, 5, 14, tzinfo=UTC),
        {f"us-counties-{year}.csv": _county_file(year, 5) for year in (2020, 2021, 2022)},
    )
    monkeypatch.setattr(nyt, "commits", [*nyt.commits, single, split])
    db = pipeline_env["AIRFLOW_CONN_COVID_DB"]

    state, tasks, _ = run_pinned(datetime(2021, 1, 1, tzinfo=UTC), datasets=("counties",))
    assert state == "success", tasks
    assert len(stored(db, COUNTIES)) == len(expected_table(COUNTIES, _county_file(2020, 14).decode()))

    real_github.clear()
    state, tasks, _ = run_pinned(datetime(2022, 6, 1, tzinfo=UTC), datasets=("counties",))
    assert tasks["load_counties"] == "success"
    # Each yearly file holds five March days: the table check finds the dates missing between them.
    assert (tasks["check_counties_table"], tasks["check_counties_columns"], state) == ("failed", "success", "failed")
    with psycopg.connect(db) as conn:
        parts = conn.execute("SELECT part, commit FROM dataset_files ORDER BY part").fetchall()
    assert parts == [
        ("us-counties-2020.csv", "d" * 40),
        ("us-counties-2021.csv", "d" * 40),
        ("us-counties-2022.csv", "d" * 40),
        ("us-counties.csv", "c" * 40),
    ]
    assert len(real_github.downloads()) == 3

    real_github.clear()
    state, tasks, _ = run_pinned(datetime(2022, 6, 2, tzinfo=UTC), datasets=("counties",))
    assert state == "success" and tasks["fetch_counties"] == "skipped"  # nothing new: no download
    assert real_github.downloads() == []


def test_make_run_prints_the_national_fields_at_the_top_and_each_dataset_under_its_key(make_run, http_server):
    code, lines = make_run(
        "real/nyt-us-2020-08-13.csv",
        "real/jhu-combined-2020-12-14.csv",
        COVID_ETL_DATASETS="national,states,counties",
        COVID_ETL_STATES_URL=http_server.url("files/states/us-states.csv"),
        COVID_ETL_COUNTIES_URL=http_server.url("files/counties/us-counties.csv"),
    )
    summary = json.loads(lines[-1])
    assert code == 0, lines
    assert (summary["status"], summary["national_status"], summary["inserted"]) == ("success", "success", 205)
    assert summary["states"]["inserted"] == len(expected_table(STATES, fixture_text("states/us-states.csv")))
    assert summary["counties"]["inserted"] == len(expected_table(COUNTIES, fixture_text("counties/us-counties.csv")))
