"""The run record: one row of ``etl_runs`` per run and dataset, success, skip or failure."""

from __future__ import annotations

import json
import logging
from typing import Any

from covid_etl.load.database import ensure_schema, transaction
from covid_etl.records import RunRecord
from covid_etl.sql import read_sql

log = logging.getLogger(__name__)


def run_row(record: RunRecord) -> dict:
    """The parameters of insert_etl_run.sql; what a run did not get to is NULL."""
    by_dataset = {publication.dataset: publication for publication in record.publications}
    result = record.result
    row = {
        "run_id": record.run_id,
        "dataset": record.dataset,
        "started_at": record.started_at,
        "status": record.status,
        "sources": json.dumps([publication.to_json() for publication in record.publications]),
        "error": record.error,
        **{name: getattr(result, name, None) for name in ("inserted", "updated", "unchanged", "stale", "deleted")},
        "first_date": getattr(result, "first_date", None),
        "last_date": getattr(result, "last_date", None),
    }
    for source in ("nyt", "jhu"):
        publication = by_dataset.get(source)
        row[f"{source}_url"] = publication and publication.url
        row[f"{source}_sha256"] = publication and publication.sha256
    return row


def insert_run(cursor: Any, record: RunRecord) -> None:
    """Add the record to etl_runs, in the caller's transaction."""
    cursor.execute(read_sql("insert_etl_run"), run_row(record))


def record_run(conn: Any, record: RunRecord) -> None:
    """Add the record to etl_runs in a transaction of its own (a skip, or a failure after the rollback)."""
    ensure_schema(conn)
    with transaction(conn, lock="covid_etl.etl_runs") as cursor:
        insert_run(cursor, record)
    log.info("Recorded %s run %s of %s", record.status, record.run_id, record.dataset)
