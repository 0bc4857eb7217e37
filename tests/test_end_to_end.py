"""Whole runs with dag.test(): files over local HTTP, a real PostgreSQL, SNS read back from SQS."""

from __future__ import annotations

import psycopg

NYT_V1, NYT_V2 = "real/nyt-us-2022-04-19.csv", "real/nyt-us-2023-01-24.csv"


def query(db_url: str, sql: str):
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql).fetchall()


def test_a_first_run_loads_everything_and_reports_the_counts(run_dag, pipeline_env, sns_inbox):
    state, tasks = run_dag(f"files/{NYT_V1}")
    # The run loads the national series only: resolve_states/_counties succeed and skip the rest of theirs.
    not_chosen = {f"{step}_{name}" for name in ("states", "counties") for step in ("fetch", "load")} | {
        f"check_{name}_{kind}" for name in ("states", "counties") for kind in ("columns", "table")
    }
    assert state == "success" and {task for task, s in tasks.items() if s != "success"} == not_chosen
    assert {tasks[task] for task in not_chosen} == {"skipped"}
    db = pipeline_env["AIRFLOW_CONN_COVID_DB"]
    assert query(db, "SELECT count(*), count(recovered), min(date)::text, max(date)::text FROM covid_us_daily") == [
        (609, 327, "2020-01-22", "2021-09-21")
    ]
    assert query(db, "SELECT status, rows_inserted, rows_updated, rows_unchanged FROM etl_runs") == [
        ("success", 609, 0, 0)
    ]
    [message] = sns_inbox.received()
    assert message["subject"] == "covid_etl succeeded: 609 inserted, 0 updated"
    assert "Rows unchanged: 0" in message["message"] and "2020-01-22 to 2021-09-21" in message["message"]


def test_a_later_version_updates_only_revised_days(run_dag, pipeline_env, sns_inbox):
    run_dag(f"files/{NYT_V1}")
    sns_inbox.received()
    state, _ = run_dag(f"files/{NYT_V2}")
    assert state == "success"
    db = pipeline_env["AIRFLOW_CONN_COVID_DB"]
    [(inserted, updated, unchanged)] = query(
        db, "SELECT rows_inserted, rows_updated, rows_unchanged FROM etl_runs ORDER BY id DESC LIMIT 1"
    )
    assert (inserted, updated + unchanged) == (0, 609) and updated > 0
    [message] = sns_inbox.received()
    assert f"Rows updated: {updated}" in message["message"] and f"Rows unchanged: {unchanged}" in message["message"]


def test_a_malformed_file_fails_at_once_and_leaves_the_table_untouched(run_dag, pipeline_env, sns_inbox):
    run_dag(f"files/{NYT_V1}")
    db = pipeline_env["AIRFLOW_CONN_COVID_DB"]
    before = query(db, "SELECT * FROM covid_us_daily ORDER BY date")
    sns_inbox.received()

    state, tasks = run_dag("files/nyt/negative-count.csv")
    assert state == "failed"
    assert tasks["parse_nyt"] == "failed" and tasks["upsert_days"] == "upstream_failed"
    assert query(db, "SELECT * FROM covid_us_daily ORDER BY date") == before
    [(status, error)] = query(db, "SELECT status, error FROM etl_runs ORDER BY id DESC LIMIT 1")
    assert status == "failed"
    assert "parse_nyt: NYT http://127.0.0.1:" in error and "line 3: cases is not a non-negative integer: '-12'" in error
    [message] = sns_inbox.received()
    assert message["subject"] == "covid_etl failed in parse_nyt"
    assert "Source: NYT" in message["message"] and "'-12'" in message["message"]
    assert "left unchanged" in message["message"]


def test_a_missing_source_fails_without_retrying(run_dag, pipeline_env, sns_inbox, http_server):
    state, tasks = run_dag(f"files/{NYT_V1}", jhu_path="status/404/e2e")
    assert state == "failed" and tasks["fetch_jhu"] == "failed"
    assert http_server.hits["/status/404/e2e"] == 1
    [message] = sns_inbox.received()
    assert "Failed task: fetch_jhu" in message["message"] and "HTTP 404" in message["message"]
    assert query(pipeline_env["AIRFLOW_CONN_COVID_DB"], "SELECT count(*) FROM covid_us_daily") == [(0,)]


def test_a_failed_notification_does_not_fail_the_run(run_dag, pipeline_env, sns_inbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN", sns_inbox.topic_arn + "-missing")
    state, _ = run_dag(f"files/{NYT_V1}")
    assert state == "success"
    assert query(pipeline_env["AIRFLOW_CONN_COVID_DB"], "SELECT count(*) FROM covid_us_daily") == [(609,)]
    assert sns_inbox.received(wait_seconds=0) == []
