"""Fixtures for the dashboard's integration tests: databases holding the pipeline's tables, and publications."""

from __future__ import annotations

import pytest
from dashboard_helpers import connect, publish_with_dag_test


@pytest.fixture
def dashboard_db(db_url) -> str:
    """A fresh database with the pipeline's (empty) tables, created by the pipeline's own schema code."""
    from covid_etl.load.database import ensure_schema

    with connect(db_url) as conn:
        ensure_schema(conn)
    return db_url


@pytest.fixture
def covid_db(monkeypatch, dashboard_db) -> str:
    """The connection covid_db (as Airflow resolves it: from the environment) pointing at dashboard_db."""
    monkeypatch.setenv("AIRFLOW_CONN_COVID_DB", dashboard_db)
    return dashboard_db


@pytest.fixture
def publish_dashboard(airflow_metadata_db, covid_db):
    """Publish what covid_db holds as the DAG does (dashboard_helpers.publish_with_dag_test), into the
    session's Airflow metadata database, where the plugin reads it."""
    return publish_with_dag_test
