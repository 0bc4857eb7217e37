"""The run's SNS message (covid_etl/notify/messages.py) from its summary: the subject names what was loaded,
or the first task that failed and its error. Pure: tests/integration/test_notifications.py sends them
through moto and reads them back."""

from __future__ import annotations

import pytest

from covid_etl.notify.messages import SUBJECT_LIMIT, failure_message, success_message

NOT_CHOSEN = {"status": "skipped", "reason": "not chosen for this run"}
SOURCES = {
    "nyt_url": "https://raw.githubusercontent.com/nytimes/covid-19-data/8fe52ad7c803df0f03d7/us.csv",
    "nyt_commit": "8fe52ad7c803df0f03d71a97571b608d53529713",
    "nyt_published_at": "2023-01-25T12:00:00+00:00",
    "jhu_url": "http://mirror/jhu.csv",
    "jhu_commit": None,
    "jhu_published_at": "2026-11-27T00:00:05+00:00",
}
NATIONAL = {"inserted": 3, "updated": 2, "deleted": 0, "unchanged": 1095, "stale": 4}
NATIONAL |= {"first_date": "2020-01-21", "last_date": "2023-01-24", "national_status": "success"}
NO_NATIONAL = dict.fromkeys(("inserted", "updated", "deleted", "unchanged", "stale"), 0)
NO_NATIONAL |= {
    "first_date": None,
    "last_date": None,
    "national_status": "skipped",
    "reason": "not chosen for this run",
}
COUNTIES = {"status": "success", "inserted": 3243, "updated": 12, "deleted": 1, "unchanged": 2500000, "stale": 0}
COUNTIES |= {"rows": 2503255}


def summary(**fields) -> dict:
    return {"status": "success", "run_id": "scheduled__2026-11-27", **SOURCES, **fields, "error": None}


@pytest.mark.parametrize(
    ("fields", "subject"),
    [
        pytest.param(
            {**NATIONAL, "states": NOT_CHOSEN, "counties": NOT_CHOSEN},
            "covid_etl succeeded: national 3 inserted, 2 updated",
            id="national",
        ),
        pytest.param(
            {**NO_NATIONAL, "states": NOT_CHOSEN, "counties": COUNTIES},
            "covid_etl succeeded: counties 3243 inserted, 12 updated, 1 deleted",
            id="counties-only",
        ),
        pytest.param(
            {**NATIONAL, "states": {**COUNTIES, "inserted": 0, "updated": 0, "deleted": 0}, "counties": COUNTIES},
            "covid_etl succeeded: national 3 inserted, 2 updated; states unchanged; counties 3243 inserted, 12 "
            "updated, 1 deleted"[: SUBJECT_LIMIT - 1]
            + "…",
            id="all-cut-to-the-limit",
        ),
        pytest.param(
            {**NO_NATIONAL, "reason": "no new publication since 2023-01-25T12:00:00+00:00", "status": "skipped"},
            "covid_etl succeeded: no new publication",
            id="nothing-new",
        ),
    ],
)
def test_a_success_subject_names_each_dataset_loaded_and_its_changes(fields, subject):
    assert success_message(summary(**fields), duration_seconds=3)[0] == subject
    assert len(subject) <= SUBJECT_LIMIT


def test_a_success_body_has_each_datasets_counts_the_national_dates_and_where_each_source_came_from():
    _, body = success_message(summary(**NATIONAL, states=NOT_CHOSEN, counties=COUNTIES), duration_seconds=42.4)
    assert body.splitlines() == [
        "covid_etl run scheduled__2026-11-27 succeeded in 42 s.",
        "National: 3 inserted, 2 updated, 0 deleted, 1095 unchanged, 4 stale",
        "States: skipped: not chosen for this run",
        "Counties: 3243 inserted, 12 updated, 1 deleted, 2500000 unchanged, 0 stale (of 2503255 rows)",
        "National dates: 2020-01-21 to 2023-01-24",
        "NYT: commit 8fe52ad7c803 of 2023-01-25T12:00:00+00:00",
        "JHU: http://mirror/jhu.csv (unpinned)",
    ]


def test_a_run_with_nothing_new_says_since_when_for_each_dataset():
    since = "no new publication since 2023-01-25T12:00:00+00:00"
    fields = {**NO_NATIONAL, "reason": since, "states": {"status": "skipped", "reason": "no new publication since x"}}
    _, body = success_message(summary(**fields, status="skipped"), duration_seconds=3)
    assert f"National: skipped: {since}" in body.splitlines()
    assert "States: skipped: no new publication since x" in body.splitlines()


FAILED = summary(
    **{**NO_NATIONAL, "national_status": "skipped", "reason": "not chosen for this run"},
    states=NOT_CHOSEN,
    counties={"status": "failed", "failed_tasks": ["counties.load"], "error": "counties.load: connection lost"},
)
FAILED |= {
    "status": "failed",
    "error": "counties.load: connection lost",
    "failed_tasks": ["counties.load", "counties.check_columns", "publish_dashboard"],
}


def test_a_failure_subject_names_the_first_failed_task_and_its_error():
    subject, _ = failure_message(FAILED, duration_seconds=61, log_url="http://airflow/log/1")
    assert subject == "covid_etl failed in counties.load: connection lost"


def test_a_failure_subject_is_cut_to_what_sns_allows():
    long = {**FAILED, "error": "nyt.load: NYT https://example.org/" + "x" * 200 + ", line 3: bad"}
    subject, body = failure_message(long, duration_seconds=1, log_url="")
    assert len(subject) == SUBJECT_LIMIT and subject.startswith("covid_etl failed in nyt.load: NYT https://")
    assert subject.endswith("…") and f"Cause: {long['error']}" in body  # the body has it whole


def test_a_failure_body_has_the_cause_the_failures_after_it_each_dataset_and_the_log():
    _, body = failure_message(FAILED, duration_seconds=61, log_url="http://airflow/log/1")
    assert body.splitlines() == [
        "covid_etl run scheduled__2026-11-27 failed after 61 s.",
        "Cause: counties.load: connection lost",
        "Failed after it (may follow from it): counties.check_columns, publish_dashboard",
        "National: skipped: not chosen for this run",
        "States: skipped: not chosen for this run",
        "Counties: failed: counties.load: connection lost",
        "Each load commits in one transaction or not at all: a failed load left its table as it was.",
        "NYT: commit 8fe52ad7c803 of 2023-01-25T12:00:00+00:00",
        "JHU: http://mirror/jhu.csv (unpinned)",
        "Logs: http://airflow/log/1",
    ]


def test_a_failed_national_series_is_reported_with_its_own_error():
    failed = {
        **summary(**{**NO_NATIONAL, "national_status": "failed"}, states=NOT_CHOSEN, counties=NOT_CHOSEN),
        "status": "failed",
        "error": "nyt.load: NYT us.csv, line 3: cases is not a non-negative integer: '-12'",
        "national_error": "nyt.load: NYT us.csv, line 3: cases is not a non-negative integer: '-12'",
        "failed_tasks": ["nyt.load", "national.merge"],
    }
    failed.pop("reason")
    _, body = failure_message(failed, duration_seconds=5, log_url="")
    assert "National: failed: nyt.load: NYT us.csv, line 3: cases is not a non-negative integer: '-12'" in body
