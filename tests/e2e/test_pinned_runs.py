"""Runs pinned to their date: each loads the sources as published then, through a fake GitHub.

The fake serves the real files under their real commits (tests/fake_github.py): NYT on 2020-08-14,
2022-04-20 and 2023-01-25; JHU on 2020-10-12 (old layout), 2020-10-23, 2020-12-14 and 2021-03-17.
One database sees a run on 2021-01-01, then one on 2021-01-02 that finds nothing new (module fixtures);
each test reads one fact of one of them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oracle import independent_merge, stored_table

NYT_AUGUST, JHU_DECEMBER = "bc3b51f900f37084a35d0eee4a99624abda54eae", "2d989d956ea5fd7c5c43537bb9fc17912c18e02d"
TOKEN = "ghp_test_token"


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def seen(runner, github, outcome) -> dict:
    return {
        "table": stored_table(runner.db_url),
        "runs": runner.runs(outcome.run_id),
        "sources": runner.query(
            "SELECT sources->0->>'commit', sources->1->>'commit' FROM etl_runs WHERE run_id = %s AND dataset = %s",
            (outcome.run_id, "national"),
        ),
        "skipped_commits": runner.query(
            "SELECT dataset, sources->0->>'commit' FROM etl_runs WHERE run_id = %s AND status = 'skipped'"
            " ORDER BY dataset",
            (outcome.run_id,),
        ),
        "downloads": github.downloads(),
        "api": [path for _, path in github.requests if path.startswith("/api/")],
        "authorizations": set(github.authorizations),
    }


@pytest.fixture(scope="module")
def pinned(module_dag_runner, real_github):
    for name, value in real_github.environment().items():
        module_dag_runner.env.setenv(name, value)
    module_dag_runner.env.setenv("AIRFLOW_CONN_GITHUB_DEFAULT", f'{{"conn_type": "http", "password": "{TOKEN}"}}')

    def run(at: str):
        real_github.clear()
        outcome = module_dag_runner.pinned(day(at))
        outcome.seen = seen(module_dag_runner, real_github, outcome)
        return outcome

    return run


@pytest.fixture(scope="module")
def first(pinned):
    return pinned("2021-01-01")


@pytest.fixture(scope="module")
def again(pinned, first):
    return pinned("2021-01-02")


def test_a_run_loads_the_newest_publications_at_or_before_its_date(first):
    assert first.state == "success", first.tasks
    expected = independent_merge("real/nyt-us-2020-08-13.csv", "real/jhu-combined-2020-12-14.csv")
    assert first.seen["table"] == expected
    assert first.seen["sources"] == [(NYT_AUGUST, JHU_DECEMBER)]
    assert first.seen["runs"]["national"] == ("success", len(expected), 0, 0, 0, 0, None)


def test_a_run_asks_github_once_per_file_and_downloads_each_by_its_commit(first):
    assert sorted(path.partition("?")[0] for path in first.seen["api"]) == [
        "/api/repos/datasets/covid-19/commits",
        "/api/repos/nytimes/covid-19-data/commits",
    ]
    assert sorted(first.seen["downloads"]) == [
        f"/raw/datasets/covid-19/{JHU_DECEMBER}/data/time-series-19-covid-combined.csv",
        f"/raw/nytimes/covid-19-data/{NYT_AUGUST}/us.csv",
    ]


def test_a_pinned_runs_message_names_each_sources_commit_and_its_time(first):
    [message] = first.messages
    assert "NYT: commit bc3b51f900f3 of 2020-08-14T12:00:00+00:00" in message["message"]
    assert "JHU: commit 2d989d956ea5 of 2020-12-14T06:07:45+00:00" in message["message"]


def test_the_token_of_the_github_default_connection_is_sent(first):
    assert first.seen["authorizations"] == {f"Bearer {TOKEN}"}


def test_a_run_whose_commits_were_loaded_already_downloads_and_loads_nothing(first, again):
    assert again.state == "success"
    work = ("nyt.fetch", "nyt.load", "jhu.fetch", "jhu.load", "national.merge")
    assert {task: again.tasks[task] for task in work} == dict.fromkeys(work, "skipped")
    assert again.seen["downloads"] == [] and len(again.seen["api"]) == 2  # the two commit look-ups only
    assert again.seen["table"] == first.seen["table"]


def test_a_run_whose_commits_were_loaded_already_says_since_when(again):
    since = "2020-12-14T06:07:45+00:00"  # the newer of the two: JHU's
    summary = again.summary
    assert (summary["status"], summary["national_status"], summary["no_new_publication_since"]) == (
        "skipped",
        "skipped",
        since,
    )
    assert (summary["nyt_commit"], summary["jhu_commit"]) == (NYT_AUGUST, JHU_DECEMBER)
    [message] = again.messages
    assert message["subject"] == "covid_etl succeeded: no new publication"
    assert f"National: skipped: no new publication since {since}" in message["message"]


def test_a_run_whose_commits_were_loaded_already_is_recorded_as_skipped_with_them(again):
    assert again.seen["runs"] == {name: ("skipped", None, None, None, None, None, None) for name in ("nyt", "jhu")}
    assert again.seen["skipped_commits"] == [("jhu", JHU_DECEMBER), ("nyt", NYT_AUGUST)]


def test_a_run_with_nothing_new_counts_as_a_success_for_the_missed_load_alarm(first, again):
    assert (first.successes, again.successes) == (1.0, 1.0)


def test_a_replay_across_the_jhu_layout_change_loads_both_layouts(dag_runner, github):
    before = dag_runner.pinned(day("2020-10-20"))  # JHU of 2020-10-12: with Lat and Long
    assert before.state == "success"
    assert stored_table(dag_runner.db_url) == independent_merge(
        "real/nyt-us-2020-08-13.csv", "real/jhu-combined-2020-10-12.csv"
    )
    after = dag_runner.pinned(day("2020-10-24"))  # JHU of 2020-10-23: without
    assert after.state == "success"
    assert stored_table(dag_runner.db_url) == independent_merge(
        "real/nyt-us-2020-08-13.csv", "real/jhu-combined-2020-10-23.csv"
    )


def test_a_date_before_the_first_publication_fails_at_once_naming_the_file_and_the_time(dag_runner, github):
    outcome = dag_runner.pinned(day("2020-06-01"))  # the fake's first NYT commit is of 2020-08-14, JHU's later

    assert outcome.state == "failed"
    assert (outcome.tasks["nyt.resolve"], outcome.tries["nyt.resolve"]) == ("failed", 1)
    error = "nyt.resolve: NYT: no commit of nytimes/covid-19-data@master:us.csv at or before 2020-06-01T00:00:00Z"
    assert outcome.summary["error"] == error
    assert [task for task in outcome.summary["failed_tasks"] if task.endswith(".resolve")] == [
        "nyt.resolve",
        "jhu.resolve",
    ]
    [message] = outcome.messages
    assert ("covid_etl failed in " + error).startswith(message["subject"].removesuffix("…"))
    assert f"Cause: {error}" in message["message"]


def test_a_rate_limited_answer_is_waited_out_not_rejected(dag_runner, github):
    github.rate_limit(times=2, status=429, retry_after=1)

    outcome = dag_runner.pinned(day("2021-01-01"))

    assert outcome.state == "success", outcome.tasks
    assert sum(1 for _, path in github.requests if path.startswith("/api/")) == 4  # 2 limited, 2 answered
