"""Fixtures for the dashboard plugin's tests: databases holding the pipeline's tables, and publications."""

from __future__ import annotations

import pytest
from dashboard_helpers import ROOT, connect  # also puts plugins/ on sys.path, before any test imports the plugin

from covid_etl.sql import read_sql


@pytest.fixture
def dashboard_db(db_url) -> str:
    """A fresh database with the pipeline's (empty) tables, created by the pipeline's own DDL."""
    with connect(db_url) as conn:
        conn.execute(read_sql("create_tables"))
    return db_url


@pytest.fixture
def covid_db(monkeypatch, dashboard_db) -> str:
    """The connection covid_db (as Airflow resolves it: from the environment) pointing at dashboard_db."""
    monkeypatch.setenv("AIRFLOW_CONN_COVID_DB", dashboard_db)
    return dashboard_db


@pytest.fixture
def publish_dashboard(airflow_metadata_db, covid_db):
    """Publish what covid_db holds as the DAG does: a real dag.test() run in which only publish_dashboard
    (and report_run after it) execute; the tasks before them are marked successful without running.
    The document lands in the session's Airflow metadata database, where the plugin reads it."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["covid_etl"]

    def publish() -> str:
        dag_run = dag.test(mark_success_pattern=r"(?!publish_dashboard$|report_run$).*")
        states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
        assert states["publish_dashboard"] == "success", states
        return dag_run.run_id

    return publish
