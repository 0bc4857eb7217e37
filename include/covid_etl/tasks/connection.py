"""The pipeline's database, as the tasks reach it: the Airflow connection ``covid_db``."""

from __future__ import annotations

from typing import Any

from covid_etl import config
from covid_etl.errors import DatabaseUnreachableError


def connect() -> Any:
    """A connection to the pipeline's database (psycopg 3 on MWAA), through the provider's hook; when it
    cannot be had, an error that names the connection (the driver's own names only host and port)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    try:
        return PostgresHook(postgres_conn_id=config.POSTGRES_CONN_ID).get_conn()
    except Exception as exc:  # psycopg's or psycopg2's OperationalError, whichever driver the hook uses
        raise DatabaseUnreachableError(f"database connection {config.POSTGRES_CONN_ID} unreachable: {exc}") from exc
