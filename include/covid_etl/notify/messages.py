"""The SNS messages for a run's outcome, and a publish that never changes that outcome."""

from __future__ import annotations

import logging
import re

from covid_etl.notify.report import COUNTS

log = logging.getLogger(__name__)

# SNS refuses a subject of 100 characters or more, or with a line break or another control character
# (Publish's Subject constraints): an error text such as a SQL check's ("Test failed.\nQuery: ...") would
# lose the whole message.
SUBJECT_LIMIT = 99
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
CHOICE_KEYS = ("states", "counties")


def _subject(text: str) -> str:
    """The text as SNS takes a subject: on one line, under SUBJECT_LIMIT characters."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 1] + "…"


def _published(summary: dict, source: str) -> str:
    label, prefix = source.upper(), source
    commit = summary.get(f"{prefix}_commit")
    if not summary.get(f"{prefix}_url"):
        return f"{label}: not resolved"
    if commit is None:
        return f"{label}: {summary[f'{prefix}_url']} (unpinned)"
    return f"{label}: commit {commit[:12]} of {summary[f'{prefix}_published_at']}"


def _outcomes(summary: dict) -> dict[str, dict]:
    """Each dataset choice's outcome, the national series' from the summary's top level."""
    national = {"status": summary["national_status"], **{key: summary.get(key) for key in COUNTS}}
    national["reason"], national["error"] = summary.get("reason"), summary.get("national_error")
    return {"national": national, **{name: summary[name] for name in CHOICE_KEYS if name in summary}}


def _counts(outcome: dict) -> str:
    return ", ".join(f"{outcome[key]} {key}" for key in ("inserted", "updated", "deleted") if outcome.get(key))


def _line(name: str, outcome: dict) -> str:
    if outcome["status"] == "success":
        counts = ", ".join(f"{outcome[key]} {key}" for key in COUNTS)
        rows = f" (of {outcome['rows']} rows)" if outcome.get("rows") else ""
        return f"{name.capitalize()}: {counts}{rows}"
    return f"{name.capitalize()}: {outcome['status']}: {outcome.get('reason') or outcome.get('error')}"


def success_message(summary: dict, *, duration_seconds: float) -> tuple[str, str]:
    """Subject and body for a run that loaded what it was asked to, or found nothing new: the subject
    names what was loaded.

    :param summary: report_run's summary of the run (covid_etl/notify/report.py).
    :param duration_seconds: how long the run took.
    """
    outcomes = _outcomes(summary)
    loaded = {name: outcome for name, outcome in outcomes.items() if outcome["status"] == "success"}
    if loaded:
        parts = [f"{name} {_counts(outcome) or 'unchanged'}" for name, outcome in loaded.items()]
        subject = "covid_etl succeeded: " + "; ".join(parts)
    else:
        subject = "covid_etl succeeded: no new publication"
    body = [f"covid_etl run {summary['run_id']} succeeded in {duration_seconds:.0f} s."]
    body += [_line(name, outcome) for name, outcome in outcomes.items()]
    if summary.get("first_date"):
        body.append(f"National dates: {summary['first_date']} to {summary['last_date']}")
    body += [_published(summary, source) for source in ("nyt", "jhu")]
    return _subject(subject), "\n".join(body)


def failure_message(summary: dict, *, duration_seconds: float, log_url: str) -> tuple[str, str]:
    """Subject and body for a run that failed: the subject names the first task that failed and its error;
    every load commits in one transaction or not at all, so a failed one wrote nothing.

    :param summary: report_run's summary of the run.
    :param duration_seconds: how long the run took.
    :param log_url: where to read the run's logs.
    """
    failed = summary.get("failed_tasks") or []
    first, _, error = (summary.get("error") or "unknown error").partition(": ")
    subject = f"covid_etl failed in {first}: {error}" if error else f"covid_etl failed: {first}"
    body = [
        f"covid_etl run {summary['run_id']} failed after {duration_seconds:.0f} s.",
        f"Cause: {summary.get('error')}",
    ]
    if len(failed) > 1:
        body.append(f"Failed after it (may follow from it): {', '.join(task for task in failed if task != first)}")
    body += [_line(name, outcome) for name, outcome in _outcomes(summary).items()]
    body.append("Each load commits in one transaction or not at all: a failed load left its table as it was.")
    body += [_published(summary, source) for source in ("nyt", "jhu")]
    body.append(f"Logs: {log_url}")
    return _subject(subject), "\n".join(body)


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
        "The run sends its own message when it ends; until then it may be waiting for a worker, "
        "retrying, or running far longer than usual. Look at the run in the Airflow UI."
    )
    return _subject(subject), body


def publish(*, topic_arn: str | None, subject: str, message: str, aws_conn_id: str) -> bool:
    """Publish to SNS; log and swallow any error so a notification never fails a run.

    :param topic_arn: the topic; None skips publishing (with a warning).
    :param subject: the message subject (SNS takes fewer than 100 characters, on one line).
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
