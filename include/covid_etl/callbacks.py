"""Callbacks: SNS on success and on failure, the failed run's row in ``etl_runs``, and the deadline
alert's message for a run that has not finished in time.

The success and failure callbacks are task-level on purpose. A DAG-level notifier breaks under ``airflow dags test`` /
``dag.test()`` (apache/airflow#64649) and a DAG-level ``on_failure_callback`` did not fire in 3.1.7
(apache/airflow#63374); task callbacks run in the task's own process, locally and on MWAA alike.
A deadline is the DAG's by nature: the scheduler evaluates it (``dag.test()`` never does) and the
triggerer runs its callback.
None of them raises: a lost notification must not change a run's outcome.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from covid_etl import config
from covid_etl.datasets import DATASETS, dataset_of_task
from covid_etl.notifications import failure_message, late_run_message, publish, success_message
from covid_etl.records import Publication, RunInfo
from covid_etl.steps import publication_of, run_started_at

log = logging.getLogger(__name__)

# What a failing task was working on, for the failure message.
SOURCE_OF_TASK = {
    "resolve_sources": "GitHub (the sources' publications)",
    "fetch_nyt": "NYT",
    "parse_nyt": "NYT",
    "fetch_jhu": "JHU",
    "parse_jhu": "JHU",
    "merge_sources": "NYT and JHU",
    "upsert_days": f"PostgreSQL (connection {config.POSTGRES_CONN_ID})",
    "publish_dashboard": f"PostgreSQL (connection {config.POSTGRES_CONN_ID})",
    "compare_states_with_nation": "NYT states against NYT's national series",
}


def source_of_task(task_id: str) -> str:
    """What a failing task was working on, for the failure message."""
    if task_id in SOURCE_OF_TASK:
        return SOURCE_OF_TASK[task_id]
    dataset = DATASETS.get(dataset_of_task(task_id))
    if dataset is None:
        return "unknown"
    if task_id.startswith(("resolve_", "fetch_")):
        return dataset.label
    return f"{dataset.label} in PostgreSQL (connection {config.POSTGRES_CONN_ID}, table {dataset.table})"


def _publish(subject: str, body: str) -> None:
    from airflow.sdk import Variable

    topic_arn = Variable.get(config.SNS_TOPIC_VARIABLE, default=None)
    publish(topic_arn=topic_arn, subject=subject, message=body, aws_conn_id=config.AWS_CONN_ID)


def _started_at(context: Any) -> datetime:
    return run_started_at(context["dag_run"])


def notify_success(context: Any) -> None:
    """Publish the run's summary (report_run's return value): its counts, or that nothing was new."""
    ti = context["ti"]
    summary = ti.xcom_pull(task_ids=ti.task_id)
    subject, body = success_message(
        summary, duration_seconds=(datetime.now(UTC) - _started_at(context)).total_seconds()
    )
    _publish(subject, body)


def _known_publication(context: Any, source: str) -> Publication | None:
    """What the run knew of a source's publication when it failed: fetched, else resolved, else nothing."""
    ti = context["ti"]
    fetched = ti.xcom_pull(task_ids=f"fetch_{source.lower()}") or {}
    resolved = (ti.xcom_pull(task_ids="resolve_sources") or {}).get(source) or {}
    known = fetched or resolved
    if not known:
        url = context["params"].get(f"{source.lower()}_url")
        return Publication(source=source, url=url, published_at=_started_at(context)) if url else None
    return publication_of(known)


def record_and_notify_failure(context: Any) -> None:
    """Record the failed run in ``etl_runs`` (after the load's rollback), keep the error for report_run
    (XCom ``error``), and publish it."""
    ti = context["ti"]
    error = str(context.get("exception") or "unknown error")
    try:
        ti.xcom_push(key="error", value=error)
    except Exception:
        log.exception("Could not keep the error of %s for the run's summary", ti.task_id)
    try:
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        from covid_etl.loader import record_run

        run = RunInfo(
            run_id=ti.run_id,
            started_at=_started_at(context),
            nyt=_known_publication(context, "NYT"),
            jhu=_known_publication(context, "JHU"),
            dataset=dataset_of_task(ti.task_id),
        )
        conn = PostgresHook(postgres_conn_id=config.POSTGRES_CONN_ID).get_conn()
        try:
            record_run(conn, run, status="failed", error=f"{ti.task_id}: {error}")
        finally:
            conn.close()
    except Exception:
        log.exception("Could not record the failed run %s in etl_runs", ti.run_id)
    subject, body = failure_message(
        run_id=ti.run_id,
        task_id=ti.task_id,
        source=source_of_task(ti.task_id),
        table=DATASETS[dataset].table if (dataset := dataset_of_task(ti.task_id)) in DATASETS else "covid_us_daily",
        error=error,
        log_url=getattr(ti, "log_url", ""),
    )
    _publish(subject, body)


async def notify_late_run(context: dict, *, bound_minutes: float, dag_fingerprint: str) -> None:
    """The DAG's DeadlineAlert callback (an AsyncCallback: the triggerer runs it, on MWAA too): publish
    that a run has not finished within its bound.

    :param context: what the scheduler hands a deadline's callback: ``dag_run`` and ``deadline``.
    :param bound_minutes: the DAG's bound, for the message.
    :param dag_fingerprint: which definition of the DAG the run has (covid_etl/deadline.py), for the message.
    """
    subject, body = late_run_message(
        run=context["dag_run"],
        deadline_time=context["deadline"]["deadline_time"],
        bound_minutes=bound_minutes,
        dag_fingerprint=dag_fingerprint,
    )
    # Reading the Variable and boto3's request block; in a thread they leave the triggerer's event loop free.
    await asyncio.to_thread(_publish, subject, body)
