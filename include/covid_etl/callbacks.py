"""Task callbacks: SNS on success and on failure, and the failed run's row in ``etl_runs``.

They are task-level on purpose. A DAG-level notifier breaks under ``airflow dags test`` /
``dag.test()`` (apache/airflow#64649) and a DAG-level ``on_failure_callback`` did not fire in 3.1.7
(apache/airflow#63374); task callbacks run in the task's own process, locally and on MWAA alike.
Neither callback raises: a lost notification must not change a run's outcome.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from covid_etl import config
from covid_etl.notifications import failure_message, publish, success_message
from covid_etl.records import LoadResult, RunInfo, SourceFile

log = logging.getLogger(__name__)

# What a failing task was working on, for the failure message.
SOURCE_OF_TASK = {
    "fetch_nyt": "NYT",
    "parse_nyt": "NYT",
    "fetch_jhu": "JHU",
    "parse_jhu": "JHU",
    "merge_sources": "NYT and JHU",
    "upsert_days": f"PostgreSQL (connection {config.POSTGRES_CONN_ID})",
}


def _topic_arn() -> str | None:
    from airflow.sdk import Variable

    return Variable.get(config.SNS_TOPIC_VARIABLE, default=None)


def _started_at(context: Any) -> datetime:
    return context["dag_run"].start_date or datetime.now(UTC)


def notify_success(context: Any) -> None:
    """Publish the counts the load task returned."""
    ti = context["ti"]
    loaded = ti.xcom_pull(task_ids=ti.task_id)
    result = LoadResult(inserted=loaded["inserted"], updated=loaded["updated"], unchanged=loaded["unchanged"])
    subject, body = success_message(
        run_id=ti.run_id,
        result=result,
        first_date=loaded["first_date"],
        last_date=loaded["last_date"],
        duration_seconds=(datetime.now(UTC) - _started_at(context)).total_seconds(),
    )
    publish(topic_arn=_topic_arn(), subject=subject, message=body, aws_conn_id=config.AWS_CONN_ID)


def _known_source(context: Any, fetch_task: str, param: str) -> SourceFile:
    fetched = context["ti"].xcom_pull(task_ids=fetch_task) or {}
    return SourceFile(url=fetched.get("url") or context["params"][param], sha256=fetched.get("sha256"), rows=None)


def record_and_notify_failure(context: Any) -> None:
    """Record the failed run in ``etl_runs`` (after the load's rollback) and publish the error."""
    ti = context["ti"]
    error = str(context.get("exception") or "unknown error")
    try:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        from covid_etl.loader import record_failed_run

        run = RunInfo(
            run_id=ti.run_id,
            started_at=_started_at(context),
            nyt=_known_source(context, "fetch_nyt", "nyt_url"),
            jhu=_known_source(context, "fetch_jhu", "jhu_url"),
        )
        conn = PostgresHook(postgres_conn_id=config.POSTGRES_CONN_ID).get_conn()
        try:
            record_failed_run(conn, run, f"{ti.task_id}: {error}")
        finally:
            conn.close()
    except Exception:
        log.exception("Could not record the failed run %s in etl_runs", ti.run_id)
    subject, body = failure_message(
        run_id=ti.run_id,
        task_id=ti.task_id,
        source=SOURCE_OF_TASK.get(ti.task_id, "unknown"),
        error=error,
        log_url=getattr(ti, "log_url", ""),
    )
    publish(topic_arn=_topic_arn(), subject=subject, message=body, aws_conn_id=config.AWS_CONN_ID)
