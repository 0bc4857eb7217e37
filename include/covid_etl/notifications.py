"""The SNS messages for a run's outcome, and a publish that never changes that outcome."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def _published(summary: dict, source: str) -> str:
    prefix = source.lower()
    commit = summary.get(f"{prefix}_commit")
    if not summary.get(f"{prefix}_url"):
        return f"{source}: not resolved"
    if commit is None:
        return f"{source}: {summary[f'{prefix}_url']} (unpinned)"
    return f"{source}: commit {commit[:12]} of {summary[f'{prefix}_published_at']}"


def success_message(summary: dict, *, duration_seconds: float) -> tuple[str, str]:
    """Subject and body for a run that loaded its data, or found nothing new to load.

    :param summary: report_run's summary of the run (covid_etl/report.py).
    :param duration_seconds: how long the run took.
    """
    run_id = summary["run_id"]
    sources = "\n".join(_published(summary, source) for source in ("NYT", "JHU"))
    others = "".join(_dataset_line(name, summary[name]) for name in DATASET_KEYS if name in summary)
    if summary.get("national_status", "skipped") == "skipped":
        reason = summary.get("reason") or "not loaded"
        nothing_new = "no_new_publication_since" in summary
        subject = (
            "covid_etl succeeded: no new publication" if nothing_new else f"covid_etl succeeded: national {reason}"
        )
        body = f"covid_etl run {run_id} succeeded in {duration_seconds:.0f} s.\nNational series: {reason}.\n"
        if nothing_new:
            body = (
                f"covid_etl run {run_id} succeeded in {duration_seconds:.0f} s: "
                f"no new publication since {summary['no_new_publication_since']}.\n"
                "Every resolved commit was loaded by an earlier run; nothing was downloaded or written.\n"
            )
        return subject[:100], f"{body}{sources}{others}"
    subject = f"covid_etl succeeded: {summary['inserted']} inserted, {summary['updated']} updated"
    body = (
        f"covid_etl run {run_id} succeeded in {duration_seconds:.0f} s.\n"
        f"Rows inserted: {summary['inserted']}\n"
        f"Rows updated: {summary['updated']}\n"
        f"Rows unchanged: {summary['unchanged']}\n"
        f"Rows stale (lost to a newer publication): {summary['stale']}\n"
        f"Dates loaded: {summary['first_date']} to {summary['last_date']}\n"
        f"{sources}{others}"
    )
    return subject, body


DATASET_KEYS = ("states", "counties")


def _dataset_line(name: str, outcome: dict) -> str:
    if outcome["status"] == "success":
        counts = ", ".join(f"{outcome[key]} {key}" for key in ("inserted", "updated", "unchanged", "stale"))
        return f"\n{name.capitalize()}: {counts} (of {outcome['rows']} rows)"
    return f"\n{name.capitalize()}: {outcome['status']}: {outcome.get('reason') or outcome.get('error')}"


def failure_message(
    *, run_id: str, task_id: str, source: str, error: str, log_url: str, table: str = "covid_us_daily"
) -> tuple[str, str]:
    """Subject and body for a run that failed; the load is one transaction, so nothing was written."""
    subject = f"covid_etl failed in {task_id}"
    body = (
        f"covid_etl run {run_id} failed.\n"
        f"Failed task: {task_id}\n"
        f"Source: {source}\n"
        f"Error: {error}\n"
        f"The table {table} was left unchanged by this task: a load commits in one transaction or not at all.\n"
        f"Task log: {log_url}"
    )
    return subject[:100], body


def late_run_message(
    *, run: dict, deadline_time: object, bound_minutes: float, dag_fingerprint: str
) -> tuple[str, str]:
    """Subject and body for a run that has not finished within its bound (the DAG's deadline alert).

    :param run: the run as Airflow's deadline hands it to the callback (the REST API's DAG run fields).
    :param deadline_time: when the run should have finished.
    :param bound_minutes: how long after being queued a run may take.
    :param dag_fingerprint: which definition of the DAG the run has.
    """
    run_id = run["dag_run_id"]
    subject = f"covid_etl run not finished in time: {run_id}"
    body = (
        f"covid_etl run {run_id} has not finished within {bound_minutes:g} min of being queued.\n"
        f"State: {run.get('state')}\n"
        f"Queued at: {run.get('queued_at')}\n"
        f"Data interval end: {run.get('data_interval_end')}\n"
        f"Deadline: {deadline_time}\n"
        f"DAG definition: {dag_fingerprint}\n"
        "A task that fails for good sends its own message; until then the run may be waiting for a worker, "
        "retrying, or running far longer than usual. Look at the run in the Airflow UI."
    )
    return subject[:100], body


def publish(*, topic_arn: str | None, subject: str, message: str, aws_conn_id: str) -> bool:
    """Publish to SNS; log and swallow any error so a notification never fails a run.

    :param topic_arn: the topic; None skips publishing (with a warning).
    :param subject: the message subject (SNS allows 100 characters).
    :param message: the message body.
    :param aws_conn_id: the Airflow AWS connection to publish with.
    :return: whether SNS accepted the message.
    """
    if not topic_arn:
        log.warning("No SNS topic configured; not publishing %r", subject)
        return False
    try:
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        SnsHook(aws_conn_id=aws_conn_id).publish_to_target(target_arn=topic_arn, message=message, subject=subject)
    except Exception:
        log.exception("Could not publish %r to %s", subject, topic_arn)
        return False
    log.info("Published %r to %s", subject, topic_arn)
    return True
