"""Fixtures for the dashboard plugin's tests: databases holding the pipeline's tables."""

from __future__ import annotations

import pytest
from dashboard_helpers import connect  # also puts plugins/ on sys.path, before any test imports the plugin

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
