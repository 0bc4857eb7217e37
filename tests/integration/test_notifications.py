"""The run's SNS message through a real HTTP endpoint (moto's server), read back from a subscribed SQS queue:
report_run's callback (notify_run) publishes the run's one message, the counts or the first failure; each
task's failure callback (record_failure) records the failure and publishes nothing. The messages' text is
tested without SNS in tests/unit/test_run_messages.py; whole runs send them in tests/e2e."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import psycopg
import pytest

from covid_etl.notify.callbacks import notify_late_run, notify_run, record_failure
from covid_etl.notify.messages import publish

NOT_CHOSEN = {"status": "skipped", "reason": "not chosen for this run"}
SUMMARY = {
    "status": "success",
    "run_id": "scheduled__2026-11-27T00:00:00+00:00",
    "inserted": 3,
    "updated": 2,
    "deleted": 0,
    "unchanged": 1095,
    "stale": 4,
    "first_date": "2020-01-21",
    "last_date": "2023-01-24",
    "national_status": "success",
    "nyt_url": "https://raw.githubusercontent.com/nytimes/covid-19-data/8fe52ad7c803df0f03d7/us.csv",
    "nyt_commit": "8fe52ad7c803df0f03d71a97571b608d53529713",
    "nyt_published_at": "2023-01-25T12:00:00+00:00",
    "jhu_url": "http://mirror/jhu.csv",
    "jhu_commit": None,
    "jhu_published_at": "2026-11-27T00:00:05+00:00",
    "states": NOT_CHOSEN,
    "counties": {"status": "success", "inserted": 0, "updated": 7, "deleted": 1, "unchanged": 90, "stale": 0},
    "error": None,
}
FAILED = {
    **SUMMARY,
    "status": "failed",
    "counties": {"status": "failed", "failed_tasks": ["counties.load"], "error": "counties.load: connection lost"},
    "error": "counties.load: connection lost",
    "failed_tasks": ["counties.load", "counties.check_columns", "publish_dashboard"],
}


@dataclass
class TaskInstance:
    """What the callbacks read of a task instance."""

    task_id: str
    xcoms: dict = field(default_factory=dict)
    run_id: str = SUMMARY["run_id"]
    log_url: str = "http://airflow/dags/covid_etl/runs/1/tasks/report_run"

    def xcom_pull(self, task_ids: str, key: str = "return_value"):
        return self.xcoms.get((task_ids, key))

    def xcom_push(self, key: str, value) -> None:
        self.xcoms[(self.task_id, key)] = value


def context(ti: TaskInstance, exception: Exception | None = None) -> dict:
    started = datetime.now(UTC) - timedelta(seconds=61)
    return {"ti": ti, "dag_run": SimpleNamespace(start_date=started, run_after=started), "exception": exception}


@pytest.fixture
def topic(monkeypatch, sns_inbox):
    """The local SNS as aws_default and the pipeline's topic."""
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", sns_inbox.airflow_connection())
    monkeypatch.setenv("AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN", sns_inbox.topic_arn)
    return sns_inbox


def test_a_successful_runs_message_names_what_it_loaded_with_the_counts(topic):
    notify_run(context(TaskInstance("report_run", {("report_run", "summary"): SUMMARY})))

    [received] = topic.received()
    assert received["subject"] == "covid_etl succeeded: national 3 inserted, 2 updated; counties 7 updated, 1 deleted"
    for line in (
        f"covid_etl run {SUMMARY['run_id']} succeeded in 61 s.",
        "National: 3 inserted, 2 updated, 0 deleted, 1095 unchanged, 4 stale",
        "States: skipped: not chosen for this run",
        "Counties: 0 inserted, 7 updated, 1 deleted, 90 unchanged, 0 stale",
        "National dates: 2020-01-21 to 2023-01-24",
        "NYT: commit 8fe52ad7c803 of 2023-01-25T12:00:00+00:00",
        "JHU: http://mirror/jhu.csv (unpinned)",
    ):
        assert line in received["message"].splitlines()


def test_a_failed_runs_message_names_the_first_failed_task_its_error_and_what_failed_after(topic):
    notify_run(context(TaskInstance("report_run", {("report_run", "summary"): FAILED}), RuntimeError("failed")))

    [received] = topic.received()
    assert received["subject"] == "covid_etl failed in counties.load: connection lost"
    for line in (
        "Cause: counties.load: connection lost",
        "Failed after it (may follow from it): counties.check_columns, publish_dashboard",
        "Counties: failed: counties.load: connection lost",
        "Logs: http://airflow/dags/covid_etl/runs/1/tasks/counties.load",  # the first failed task's log
    ):
        assert line in received["message"].splitlines()


def test_a_report_that_failed_before_summing_the_run_up_still_sends_the_runs_message(topic):
    notify_run(context(TaskInstance("report_run"), KeyError("summary")))

    [received] = topic.received()
    assert received["subject"] == "covid_etl failed in report_run: 'summary'"


def test_a_failed_tasks_callback_records_the_failure_and_its_error_and_sends_nothing(topic, db_url, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_COVID_DB", db_url)
    ti = TaskInstance("counties.load")
    ti.xcoms[("counties.fetch", "return_value")] = {
        "files": [
            {
                "dataset": "counties",
                "part": "us-counties-2023.csv",
                "url": "https://raw/us-counties-2023.csv",
                "published_at": "2023-03-24T12:00:00+00:00",
                "commit": "f" * 40,
            }
        ]
    }

    record_failure(context(ti, OSError("connection lost")))

    assert ti.xcoms[("counties.load", "error")] == "connection lost"  # for report_run's summary
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT run_id, dataset, status, error, sources->0->>'commit' FROM etl_runs").fetchall()
    assert rows == [(SUMMARY["run_id"], "counties", "failed", "counties.load: connection lost", "f" * 40)]
    assert topic.received(wait_seconds=0) == []  # report_run's message is the run's one


def test_a_publish_that_fails_is_logged_and_never_raised(topic, caplog):
    missing_topic = topic.topic_arn + "-does-not-exist"
    assert publish(topic_arn=missing_topic, subject="s", message="m", aws_conn_id="aws_default") is False
    assert "Could not publish" in caplog.text
    assert topic.received(wait_seconds=0) == []


def test_publishes_nothing_when_no_topic_is_configured(topic, caplog):
    assert publish(topic_arn=None, subject="s", message="m", aws_conn_id="aws_default") is False
    assert "No SNS topic configured" in caplog.text
    assert topic.received(wait_seconds=0) == []


def test_the_late_run_callback_publishes_which_run_is_late_and_since_when(topic):
    # The shape the scheduler hands a deadline's callback (airflow.models.deadline.Deadline.handle_miss).
    late = {
        "dag_run": {
            "dag_run_id": "scheduled__2026-11-27T00:00:00+00:00",
            "state": "running",
            "queued_at": "2026-11-28T00:00:04Z",
            "data_interval_end": "2026-11-28T00:00:00Z",
        },
        "deadline": {"id": "0193", "deadline_time": datetime(2026, 11, 28, 3, 0, 4, tzinfo=UTC)},
    }

    asyncio.run(notify_late_run(late, bound_minutes=180.0, dag_fingerprint="dag-fingerprint"))

    [received] = topic.received()
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
