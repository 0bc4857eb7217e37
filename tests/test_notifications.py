"""SNS publishing through a real HTTP endpoint (moto's server), read back from a subscribed SQS queue."""

from __future__ import annotations

import pytest

from covid_etl.notifications import failure_message, publish, success_message


@pytest.fixture
def aws_default(monkeypatch, sns_inbox):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", sns_inbox.airflow_connection())
    return sns_inbox


SUMMARY = {
    "status": "success",
    "national_status": "success",
    "run_id": "scheduled__2026-11-27",
    "inserted": 3,
    "updated": 2,
    "unchanged": 1095,
    "stale": 4,
    "first_date": "2020-01-21",
    "last_date": "2023-01-24",
    "nyt_url": "https://raw.githubusercontent.com/nytimes/covid-19-data/8fe52ad7c803df0f03d7/us.csv",
    "nyt_commit": "8fe52ad7c803df0f03d71a97571b608d53529713",
    "nyt_published_at": "2023-01-25T12:00:00+00:00",
    "jhu_url": "http://mirror/jhu.csv",
    "jhu_commit": None,
    "jhu_published_at": "2026-11-27T00:00:05+00:00",
}


def test_a_success_message_reaches_the_topic_with_the_counts(aws_default):
    subject, body = success_message(SUMMARY, duration_seconds=42.4)
    assert publish(topic_arn=aws_default.topic_arn, subject=subject, message=body, aws_conn_id="aws_default")
    [received] = aws_default.received()
    assert received["subject"] == "covid_etl succeeded: 3 inserted, 2 updated"
    for line in (
        "Rows inserted: 3",
        "Rows updated: 2",
        "Rows unchanged: 1095",
        "Rows stale (lost to a newer publication): 4",
        "Dates loaded: 2020-01-21 to 2023-01-24",
        "scheduled__2026-11-27 succeeded in 42 s",
        "NYT: commit 8fe52ad7c803 of 2023-01-25T12:00:00+00:00",
        "JHU: http://mirror/jhu.csv (unpinned)",
    ):
        assert line in received["message"]


def test_a_run_with_nothing_new_says_since_when(aws_default):
    skipped = {
        **SUMMARY,
        "status": "skipped",
        "national_status": "skipped",
        "no_new_publication_since": "2023-01-25T12:00:00+00:00",
    }
    subject, body = success_message(skipped, duration_seconds=3)
    assert subject == "covid_etl succeeded: no new publication"
    assert "no new publication since 2023-01-25T12:00:00+00:00" in body and "nothing was downloaded" in body


def test_a_failure_message_names_task_source_error_and_log(aws_default):
    subject, body = failure_message(
        run_id="manual__1",
        task_id="parse_nyt",
        source="NYT",
        error="NYT us.csv, line 7: cases is not a non-negative integer: '-3'",
        log_url="http://airflow/log/1",
    )
    publish(topic_arn=aws_default.topic_arn, subject=subject, message=body, aws_conn_id="aws_default")
    [received] = aws_default.received()
    assert received["subject"] == "covid_etl failed in parse_nyt"
    for line in (
        "Failed task: parse_nyt",
        "Source: NYT",
        "line 7: cases is not a non-negative integer: '-3'",
        "covid_us_daily was left unchanged",
        "Task log: http://airflow/log/1",
    ):
        assert line in received["message"]


def test_a_publish_that_fails_is_logged_and_never_raised(aws_default, caplog):
    missing_topic = aws_default.topic_arn + "-does-not-exist"
    assert publish(topic_arn=missing_topic, subject="s", message="m", aws_conn_id="aws_default") is False
    assert "Could not publish" in caplog.text
    assert aws_default.received(wait_seconds=0) == []


def test_publishes_nothing_when_no_topic_is_configured(aws_default, caplog):
    assert publish(topic_arn=None, subject="s", message="m", aws_conn_id="aws_default") is False
    assert "No SNS topic configured" in caplog.text
    assert aws_default.received(wait_seconds=0) == []


def test_the_late_run_callback_publishes_which_run_is_late_and_since_when(aws_default, monkeypatch):
    import asyncio
    from datetime import UTC, datetime

    from covid_etl.callbacks import notify_late_run

    monkeypatch.setenv("AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN", aws_default.topic_arn)
    # The shape the scheduler hands a deadline's callback (airflow.models.deadline.Deadline.handle_miss).
    context = {
        "dag_run": {
            "dag_run_id": "scheduled__2026-11-27T00:00:00+00:00",
            "state": "running",
            "queued_at": "2026-11-28T00:00:04Z",
            "data_interval_end": "2026-11-28T00:00:00Z",
        },
        "deadline": {"id": "0193", "deadline_time": datetime(2026, 11, 28, 3, 0, 4, tzinfo=UTC)},
    }

    asyncio.run(notify_late_run(context, bound_minutes=180.0, dag_fingerprint="dag-fingerprint"))

    [received] = aws_default.received()
    assert received["subject"] == "covid_etl run not finished in time: scheduled__2026-11-27T00:00:00+00:00"
    for line in (
        "has not finished within 180 min of being queued",
        "State: running",
        "Queued at: 2026-11-28T00:00:04Z",
        "Data interval end: 2026-11-28T00:00:00Z",
        "Deadline: 2026-11-28 03:00:04+00:00",
        "DAG definition: dag-fingerprint",
    ):
        assert line in received["message"]
