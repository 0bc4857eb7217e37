"""Callbacks: the run's SNS message when it ends (success or failure), each failed task's row in
``etl_runs``, and the deadline alert's message for a run that has not finished in time.

The run's message comes from its last task's callbacks (report_run: it runs whatever happened before it,
and fails when any task failed), so that one message names the first failure, not one per task. They are
task-level on purpose: a DAG-level notifier breaks under ``airflow dags test`` / ``dag.test()``
(apache/airflow#64649) and a DAG-level ``on_failure_callback`` did not fire in 3.1.7
(apache/airflow#63374); task callbacks run in the task's own process, locally and on MWAA alike. A
deadline is the DAG's by nature: the scheduler evaluates it (``dag.test()`` never does) and the triggerer
runs its callback. None of them raises: a lost notification must not change a run's outcome.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from covid_etl import config
from covid_etl.notify.messages import failure_message, late_run_message, publish, success_message
from covid_etl.notify.report import choice_of_task
from covid_etl.records import Publication, RunRecord

log = logging.getLogger(__name__)


def _publish(subject: str, body: str) -> None:
    from airflow.sdk import Variable

    topic_arn = Variable.get(config.SNS_TOPIC_VARIABLE, default=None)
    publish(topic_arn=topic_arn, subject=subject, message=body, aws_conn_id=config.AWS_CONN_ID)


def _duration(context: Any) -> float:
    from covid_etl.tasks.steps import run_started_at

    return (datetime.now(UTC) - run_started_at(context["dag_run"])).total_seconds()


def task_log_url(own_log_url: str, task_id: str) -> str:
    """The log page of another task of the same run, from this task's (Airflow's
    ``<base>/dags/<dag>/runs/<run>/tasks/<task>?try_number=n``): the failed task's log, not report_run's."""
    run_url, found, _ = own_log_url.partition("/tasks/")
    return f"{run_url}/tasks/{quote(task_id)}" if found else own_log_url


def notify_run(context: Any) -> None:
    """report_run's callback, on success and on failure: publish the run's summary (its XCom ``summary``):
    the counts, that nothing was new, or the first failure."""
    ti = context["ti"]
    summary = ti.xcom_pull(task_ids=ti.task_id, key="summary")
    if summary is None:  # report_run failed before it summed the run up
        summary = {"run_id": ti.run_id, "status": "failed", "national_status": "failed",
                   "error": f"{ti.task_id}: {context.get('exception')}", "failed_tasks": [ti.task_id]}  # fmt: skip
    if summary["status"] == "failed":
        failed = summary.get("failed_tasks") or [ti.task_id]
        subject, body = failure_message(
            summary, duration_seconds=_duration(context), log_url=task_log_url(getattr(ti, "log_url", ""), failed[0])
        )
    else:
        subject, body = success_message(summary, duration_seconds=_duration(context))
    _publish(subject, body)


def _known_publications(context: Any, choice: str | None) -> tuple[Publication, ...]:
    """What the run knew of the failed task's files when it failed: fetched, else resolved."""
    from covid_etl.sources.specs import DATASETS

    ti, found = context["ti"], []
    for name, dataset in DATASETS.items():
        if dataset.choice != choice:
            continue
        known = ti.xcom_pull(task_ids=f"{name}.fetch") or ti.xcom_pull(task_ids=f"{name}.resolve") or {}
        found += [Publication.from_json(item) for item in known.get("files", []) if isinstance(known, dict)]
    return tuple(found)


def record_failure(context: Any) -> None:
    """Every task's failure callback: keep the error for report_run (XCom ``error``) and record the failed
    run in ``etl_runs`` (after the load's rollback). When the database cannot take the row (it is down, or
    full), the row is kept in Airflow (XCom ``unrecorded``), and report_run writes it when it can: at the
    end of this run, or of a later one (covid_etl/tasks/summary.py)."""
    from covid_etl.tasks.steps import run_started_at

    ti = context["ti"]
    error = str(context.get("exception") or "unknown error")
    try:
        ti.xcom_push(key="error", value=error)
    except Exception:
        log.exception("Could not keep the error of %s for the run's summary", ti.task_id)
    choice = choice_of_task(ti.task_id)
    record = RunRecord(
        run_id=ti.run_id,
        dataset=ti.task_id.split(".", 1)[0] if "." in ti.task_id else (choice or "run"),
        started_at=run_started_at(context["dag_run"]),
        status="failed",
        publications=_known_publications(context, choice),
        error=f"{ti.task_id}: {error}",
    )
    try:
        write_runs([record])
    except Exception:
        log.exception("Could not record the failed run %s in etl_runs: report_run will", ti.run_id)
        try:
            ti.xcom_push(key="unrecorded", value=record.to_json())
        except Exception:
            log.exception("Could not keep the failed run %s for a later record", ti.run_id)


def write_runs(records: list[RunRecord]) -> None:
    """Add the records to etl_runs, in one transaction."""
    from covid_etl.load.database import ensure_schema, transaction
    from covid_etl.load.runs import insert_run
    from covid_etl.tasks.connection import connect

    conn = connect()
    try:
        ensure_schema(conn)
        with transaction(conn, lock="covid_etl.etl_runs") as cursor:
            for record in records:
                insert_run(cursor, record)
    finally:
        conn.close()


async def notify_late_run(context: dict, *, bound_minutes: float, dag_fingerprint: str) -> None:
    """The DAG's DeadlineAlert callback (an AsyncCallback: the triggerer runs it, on MWAA too): publish
    that a run has not finished within its bound.

    :param context: what the scheduler hands a deadline's callback: ``dag_run`` and ``deadline``.
    :param bound_minutes: the DAG's bound, for the message.
    :param dag_fingerprint: which definition of the DAG the run has (covid_etl/notify/deadline.py).
    """
    subject, body = late_run_message(
        run=context["dag_run"],
        deadline_time=context["deadline"]["deadline_time"],
        bound_minutes=bound_minutes,
        dag_fingerprint=dag_fingerprint,
    )
    # Reading the Variable and boto3's request block; in a thread they leave the triggerer's event loop free.
    await asyncio.to_thread(_publish, subject, body)
