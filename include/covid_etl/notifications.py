"""The SNS messages for a run's outcome, and a publish that never changes that outcome."""

from __future__ import annotations

import logging

from covid_etl.records import LoadResult

log = logging.getLogger(__name__)


def success_message(
    *, run_id: str, result: LoadResult, first_date: str, last_date: str, duration_seconds: float
) -> tuple[str, str]:
    """Subject and body for a run that loaded its data."""
    subject = f"covid_etl succeeded: {result.inserted} inserted, {result.updated} updated"
    body = (
        f"covid_etl run {run_id} succeeded in {duration_seconds:.0f} s.\n"
        f"Rows inserted: {result.inserted}\n"
        f"Rows updated: {result.updated}\n"
        f"Rows unchanged: {result.unchanged}\n"
        f"Dates loaded: {first_date} to {last_date}"
    )
    return subject, body


def failure_message(*, run_id: str, task_id: str, source: str, error: str, log_url: str) -> tuple[str, str]:
    """Subject and body for a run that failed; the load is one transaction, so nothing was written."""
    subject = f"covid_etl failed in {task_id}"
    body = (
        f"covid_etl run {run_id} failed.\n"
        f"Failed task: {task_id}\n"
        f"Source: {source}\n"
        f"Error: {error}\n"
        "The table covid_us_daily was left unchanged: the load commits in one transaction or not at all.\n"
        f"Task log: {log_url}"
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
