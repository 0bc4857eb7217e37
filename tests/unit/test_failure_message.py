"""The failure message as SNS takes it and as a reader follows it: Publish refuses a subject of 100
characters or more, or with a line break or another control character, and the whole message is then lost;
its log link opens the failed task's log."""

from __future__ import annotations

import pytest

from covid_etl.notify.callbacks import task_log_url
from covid_etl.notify.messages import SUBJECT_LIMIT, failure_message

# A SQL check's error as SQLCheckOperator raises it: several lines.
SQL_CHECK_ERROR = (
    "national.check_national: Test failed.\nQuery:\nSELECT count(*) = 0 FROM covid_us_daily WHERE cases < 0\n"
    "Results:\n(False,)"
)


def _subject(error: str) -> str:
    summary = {
        "run_id": "scheduled__2026-12-06T00:00:00+00:00",
        "error": error,
        "failed_tasks": ["national.check_national"],
        "national_status": "failed",
    }
    return failure_message(summary, duration_seconds=12, log_url="http://localhost:8080")[0]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(SQL_CHECK_ERROR, id="a SQL check's error of several lines"),
        pytest.param("counties.load: bad\tvalue\r\n\x00 at line 3", id="tabs, carriage returns and NUL"),
        pytest.param("counties.load: " + "x" * 300, id="an error longer than a subject"),
    ],
)
def test_a_failure_subject_is_one_line_shorter_than_100_characters(error):
    subject = _subject(error)

    assert len(subject) < 100 and len(subject) <= SUBJECT_LIMIT
    assert not any(ord(char) < 32 or ord(char) == 127 for char in subject)


def test_a_multi_line_error_keeps_its_words_in_the_subject():
    subject = _subject(SQL_CHECK_ERROR)

    assert subject.startswith("covid_etl failed in national.check_national: Test failed. Query: SELECT count(*)")


@pytest.mark.parametrize(
    ("own", "expected"),
    [
        pytest.param(
            "http://localhost:8080/dags/covid_etl/runs/manual__2026-12-06T00%3A00%3A00%2B00%3A00/tasks/report_run"
            "?try_number=1",
            "http://localhost:8080/dags/covid_etl/runs/manual__2026-12-06T00%3A00%3A00%2B00%3A00/tasks/counties.load",
            id="Airflow's log URL of report_run",
        ),
        pytest.param("", "", id="no log URL"),
    ],
)
def test_the_failure_message_links_to_the_failed_tasks_log_not_report_runs(own, expected):
    assert task_log_url(own, "counties.load") == expected
