"""An unreachable database during a run on Airflow: each task that needs it fails on its own and says so.

`make run` refuses such a database before it starts anything (test_setup_errors.py); a run on Airflow
(MWAA, `make up`) meets it in its tasks, which this runs with dag.test().
"""

from __future__ import annotations

import pytest

from devstack import free_port


@pytest.fixture
def without_retries(monkeypatch):
    """The DAG parsed without Airflow retries, as `make run` runs it: a transient fault fails its task at once."""
    monkeypatch.setenv("COVID_ETL_TASK_RETRIES", "0")


def test_each_task_that_needs_the_database_fails_naming_the_connection_and_its_address(
    without_retries, run_dag, monkeypatch, sns_inbox
):
    monkeypatch.setenv("AIRFLOW_CONN_COVID_DB", f"postgresql://covid@127.0.0.1:{free_port()}/covid")
    state, tasks = run_dag("files/real/nyt-us-2020-08-13.csv")
    failed = {task for task, task_state in tasks.items() if task_state == "failed"}
    assert state == "failed" and failed
    failures = sns_inbox.received()
    assert failures and {m["subject"].split(":")[0] for m in failures} <= {f"covid_etl failed in {t}" for t in failed}
    assert all("database connection covid_db unreachable" in m["message"] for m in failures), failures
    assert all("127.0.0.1" in m["message"] for m in failures)
