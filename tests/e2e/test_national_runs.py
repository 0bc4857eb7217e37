"""Whole runs of the national series with dag.test(): fixture files over local HTTP, a real PostgreSQL, SNS
read back from SQS and the success metric from CloudWatch (moto's server).

One database sees three runs, made once by the fixtures (each run costs seconds): a first publication, a
later one that revises past days, then a malformed one. Each test reads one fact of one of them.
"""

from __future__ import annotations

import pytest

from oracle import expected_counts, independent_merge, stored_table

NYT_V1, NYT_V2 = "real/nyt-us-2022-04-19.csv", "real/nyt-us-2023-01-24.csv"
JHU = "jhu/combined-us-through-2021-09.csv"
# A national-only run: the other datasets' resolve tasks succeed and skip the rest of their groups.
NOT_CHOSEN = {
    f"{name}.{task}" for name in ("states", "counties") for task in ("fetch", "load", "check_columns", "check_table")
}


def tables(runner) -> dict:
    return {
        "covid_us_daily": stored_table(runner.db_url),
        "nyt_us_daily": runner.query("SELECT * FROM nyt_us_daily ORDER BY date"),
    }


@pytest.fixture(scope="module")
def first(module_dag_runner):
    outcome = module_dag_runner.files(f"files/{NYT_V1}")
    outcome.seen = tables(module_dag_runner) | {"runs": module_dag_runner.runs(outcome.run_id)}
    return outcome


@pytest.fixture(scope="module")
def later(module_dag_runner, first):
    outcome = module_dag_runner.files(f"files/{NYT_V2}")
    outcome.seen = tables(module_dag_runner) | {"runs": module_dag_runner.runs(outcome.run_id)}
    return outcome


@pytest.fixture(scope="module")
def malformed(module_dag_runner, later):
    outcome = module_dag_runner.files("files/nyt/negative-count.csv")
    outcome.seen = tables(module_dag_runner) | {"runs": module_dag_runner.runs(outcome.run_id)}
    return outcome


def test_a_first_run_loads_the_national_series_and_skips_the_datasets_not_chosen(first):
    assert first.state == "success"
    assert first.not_in("success") == dict.fromkeys(NOT_CHOSEN, "skipped")
    table = first.seen["covid_us_daily"]
    assert table == independent_merge(NYT_V1, JHU)
    assert (len(table), sum(1 for *_, recovered in table.values() if recovered is not None)) == (609, 327)
    assert (min(table), max(table)) == ("2020-01-22", "2021-09-21")


def test_a_first_run_records_each_source_and_the_merge_in_etl_runs(first):
    # status, inserted, updated, deleted, unchanged, stale, error
    assert first.seen["runs"] == {
        "nyt": ("success", 820, 0, 0, 0, 0, None),
        "jhu": ("success", 609, 0, 0, 0, 0, None),
        "national": ("success", 609, 0, 0, 0, 0, None),
    }


def test_a_first_run_sends_one_message_naming_what_it_loaded_with_the_counts(first):
    [message] = first.messages
    assert message["subject"] == "covid_etl succeeded: national 609 inserted"
    for line in (
        f"covid_etl run {first.run_id} succeeded in ",
        "National: 609 inserted, 0 updated, 0 deleted, 0 unchanged, 0 stale",
        "States: skipped: not chosen for this run",
        "Counties: skipped: not chosen for this run",
        "National dates: 2020-01-22 to 2021-09-21",
        "/files/real/nyt-us-2022-04-19.csv (unpinned)",
    ):
        assert line in message["message"]


def test_a_first_run_sums_up_with_the_national_fields_at_the_top_and_each_dataset_under_its_name(first):
    summary = first.summary
    assert {key: summary[key] for key in ("status", "national_status", "inserted", "updated", "deleted")} == {
        "status": "success",
        "national_status": "success",
        "inserted": 609,
        "updated": 0,
        "deleted": 0,
    }
    assert (summary["unchanged"], summary["stale"], summary["first_date"], summary["last_date"]) == (
        0,
        0,
        "2020-01-22",
        "2021-09-21",
    )
    assert summary["nyt_url"].endswith(NYT_V1) and summary["nyt_commit"] is None
    not_chosen = {"status": "skipped", "reason": "not chosen for this run"}
    assert (summary["states"], summary["counties"], summary["error"]) == (not_chosen, not_chosen, None)


def test_a_successful_run_puts_one_successful_load_datum(first):
    assert first.successes == 1.0


def test_a_later_version_updates_only_the_revised_days(later):
    inserted, updated, unchanged = expected_counts(independent_merge(NYT_V1, JHU), independent_merge(NYT_V2, JHU))
    assert later.state == "success" and (inserted, updated + unchanged) == (0, 609) and updated > 0
    assert later.seen["covid_us_daily"] == independent_merge(NYT_V2, JHU)
    assert later.seen["runs"]["national"] == ("success", 0, updated, 0, unchanged, 0, None)
    [message] = later.messages
    assert message["subject"] == f"covid_etl succeeded: national {updated} updated"
    assert f"National: 0 inserted, {updated} updated, 0 deleted, {unchanged} unchanged, 0 stale" in message["message"]


def test_a_malformed_file_fails_its_load_at_once_and_leaves_every_table_untouched(later, malformed):
    assert malformed.state == "failed"
    assert (malformed.tasks["nyt.load"], malformed.tries["nyt.load"]) == ("failed", 1)  # no retry
    assert malformed.tasks["national.merge"] == "upstream_failed"
    assert malformed.seen["covid_us_daily"] == later.seen["covid_us_daily"]
    assert malformed.seen["nyt_us_daily"] == later.seen["nyt_us_daily"]


def test_a_malformed_file_is_recorded_as_failed_naming_the_task_file_line_and_value(malformed):
    status, *counts, error = malformed.seen["runs"]["nyt"]
    assert (status, counts) == ("failed", [None] * 5)
    assert error.startswith("nyt.load: NYT http://127.0.0.1:")
    assert error.endswith("/files/nyt/negative-count.csv, line 3: cases is not a non-negative integer: '-12'")


def test_a_malformed_file_sends_one_message_naming_the_failed_load_and_its_error(malformed):
    [message] = malformed.messages  # the task's own failure callback records it and sends nothing
    assert message["subject"].startswith("covid_etl failed in nyt.load: NYT http://127.0.0.1:")
    body = message["message"]
    assert (
        "Cause: nyt.load: NYT http://127.0.0.1:" in body
        and "line 3: cases is not a non-negative integer: '-12'" in body
    )
    assert "Failed after it (may follow from it): national.merge, " in body
    assert "National: failed: nyt.load: NYT http://127.0.0.1:" in body
    assert "a failed load left its table as it was" in body


def test_a_failed_run_puts_no_successful_load_datum(malformed):
    assert malformed.successes == 0.0


def test_a_missing_source_fails_without_retrying_and_loads_nothing(dag_runner, http_server):
    outcome = dag_runner.files(f"files/{NYT_V1}", "status/404/national-runs")

    assert outcome.state == "failed" and outcome.tasks["jhu.fetch"] == "failed"
    assert http_server.hits["/status/404/national-runs"] == 1
    [message] = outcome.messages
    assert message["subject"].startswith("covid_etl failed in jhu.fetch: ")
    assert "HTTP 404" in message["message"]
    assert dag_runner.query("SELECT count(*) FROM covid_us_daily") == [(0,)]


def test_a_failed_notification_does_not_fail_the_run(dag_runner, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN", dag_runner.sns.topic_arn + "-missing")

    outcome = dag_runner.files(f"files/{NYT_V1}")

    assert outcome.state == "success"
    assert dag_runner.query("SELECT count(*) FROM covid_us_daily") == [(609,)]
    assert outcome.messages == []
