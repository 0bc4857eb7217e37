"""Runs pinned to their date: each loads the sources as published then, through a fake GitHub.

The fake serves the real files under their real commits (tests/fake_github.py): NYT on 2020-08-14,
2022-04-20 and 2023-01-25; JHU on 2020-10-12 (old layout), 2020-10-23, 2020-12-14 and 2021-03-17.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from oracle import independent_merge, stored_table


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def runs(db_url: str) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT status, rows_inserted, rows_updated, rows_unchanged, rows_stale, "
            "sources->0->>'commit', sources->1->>'commit' FROM etl_runs ORDER BY id"
        ).fetchall()


def test_a_run_loads_the_newest_publications_at_or_before_its_date(run_pinned, pipeline_env, github, sns_inbox):
    state, tasks, _ = run_pinned(day("2021-01-01"))

    assert state == "success", tasks
    db = pipeline_env["AIRFLOW_CONN_COVID_DB"]
    expected = independent_merge("real/nyt-us-2020-08-13.csv", "real/jhu-combined-2020-12-14.csv")
    assert stored_table(db) == expected
    assert runs(db) == [
        (
            "success",
            len(expected),
            0,
            0,
            0,
            "bc3b51f900f37084a35d0eee4a99624abda54eae",
            "2d989d956ea5fd7c5c43537bb9fc17912c18e02d",
        )
    ]
    assert sorted(github.downloads()) == [
        "/raw/datasets/covid-19/2d989d956ea5fd7c5c43537bb9fc17912c18e02d/data/time-series-19-covid-combined.csv",
        "/raw/nytimes/covid-19-data/bc3b51f900f37084a35d0eee4a99624abda54eae/us.csv",
    ]
    [message] = sns_inbox.received()
    assert "NYT: commit bc3b51f900f3 of 2020-08-14T12:00:00+00:00" in message["message"]


def test_a_run_whose_commits_were_loaded_already_downloads_nothing_and_says_so(
    run_pinned, pipeline_env, github, sns_inbox
):
    run_pinned(day("2021-01-01"))
    table = stored_table(pipeline_env["AIRFLOW_CONN_COVID_DB"])
    sns_inbox.received()
    github.requests.clear()

    state, tasks, _ = run_pinned(day("2021-01-02"))

    assert state == "success"
    assert {task: tasks[task] for task in ("fetch_nyt", "fetch_jhu", "upsert_days")} == dict.fromkeys(
        ("fetch_nyt", "fetch_jhu", "upsert_days"), "skipped"
    )
    assert github.downloads() == [] and len(github.requests) == 2  # the two commit look-ups only
    assert stored_table(pipeline_env["AIRFLOW_CONN_COVID_DB"]) == table
    assert runs(pipeline_env["AIRFLOW_CONN_COVID_DB"])[-1][0] == "skipped"
    [message] = sns_inbox.received()
    assert message["subject"] == "covid_etl succeeded: no new publication"
    assert "no new publication since 2020-12-14T06:07:45+00:00" in message["message"]


def test_a_replay_across_the_jhu_layout_change_loads_both_layouts(run_pinned, pipeline_env):
    db = pipeline_env["AIRFLOW_CONN_COVID_DB"]
    state, _, _ = run_pinned(day("2020-10-20"))  # JHU of 2020-10-12: with Lat and Long
    assert state == "success"
    assert stored_table(db) == independent_merge("real/nyt-us-2020-08-13.csv", "real/jhu-combined-2020-10-12.csv")
    state, _, _ = run_pinned(day("2020-10-24"))  # JHU of 2020-10-23: without
    assert state == "success"
    assert stored_table(db) == independent_merge("real/nyt-us-2020-08-13.csv", "real/jhu-combined-2020-10-23.csv")


def test_a_date_before_the_first_publication_fails_at_once_naming_it(run_pinned, pipeline_env, sns_inbox, github):
    state, tasks, _ = run_pinned(day("2020-06-01"))  # the fake's first NYT commit is of 2020-08-14

    assert state == "failed" and tasks["resolve_sources"] == "failed"
    [message] = sns_inbox.received()
    assert "Failed task: resolve_sources" in message["message"]
    assert "NYT nytimes/covid-19-data@master:us.csv: no commit at or before 2020-06-01T00:00:00Z" in message["message"]


def test_a_rate_limited_answer_is_waited_out_not_rejected(run_pinned, github):
    github.rate_limit(times=2, status=429, retry_after=1)

    state, tasks, _ = run_pinned(day("2021-01-01"))

    assert state == "success", tasks
    assert sum(1 for _, path in github.requests if path.startswith("/api/")) == 4  # 2 limited, 2 answered


def test_the_token_of_the_github_default_connection_is_sent(run_pinned, github, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_GITHUB_DEFAULT", '{"conn_type": "http", "password": "ghp_test_token"}')

    run_pinned(day("2021-01-01"))

    assert github.authorizations == {"Bearer ghp_test_token"}
