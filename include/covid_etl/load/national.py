"""The national series, a merge of two loaded sources: one SQL step (include/sql/merge_national.sql)
over the latest tables of NYT's national series and of JHU's US rows."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from covid_etl.errors import EmptyMergeError
from covid_etl.load.database import ensure_schema, transaction
from covid_etl.load.runs import insert_run
from covid_etl.records import LoadResult, Publication, RunRecord
from covid_etl.sources.specs import NATIONAL, Merge
from covid_etl.sql import read_sql

log = logging.getLogger(__name__)


def merge_national(
    conn: Any,
    *,
    run_id: str,
    started_at: datetime,
    publications: Mapping[str, Publication],
    merge: Merge = NATIONAL,
) -> LoadResult:
    """Bring covid_us_daily to its sources' latest tables and record the run, in one transaction.

    :param conn: an open psycopg 3 (or psycopg2) connection; it is not closed.
    :param run_id: the run, recorded with every row written.
    :param started_at: when the run started.
    :param publications: this run's publication of each source (loaded now, or earlier): their rows
        that lost to newer publications are counted as stale.
    :param merge: the merge's description.
    """
    ensure_schema(conn)
    with transaction(conn, lock=f"covid_etl.{merge.table}") as cursor:
        cursor.execute("SELECT count(*) FROM nyt_us_daily n JOIN jhu_us_daily j ON j.date = n.date")
        if cursor.fetchone()[0] == 0:
            raise EmptyMergeError("NYT and JHU share no date: nothing to load")
        parameters = {"run_id": run_id} | {f"{name}_at": publications[name].published_at for name in merge.sources}
        cursor.execute(read_sql(merge.sql), parameters)
        inserted, updated, deleted, unchanged, stale, first, last = cursor.fetchone()
        result = LoadResult(
            inserted=inserted,
            updated=updated,
            deleted=deleted,
            unchanged=unchanged,
            stale=stale,
            rows=inserted + updated + unchanged,
            first_date=first.isoformat(),
            last_date=last.isoformat(),
        )
        sources = tuple(publications[name] for name in merge.sources)
        insert_run(cursor, RunRecord(run_id, merge.name, started_at, "success", sources, result))
    log.info(
        "Merged %s: %s inserted, %s updated, %s deleted, %s unchanged, %s stale (%s to %s)",
        merge.table, inserted, updated, deleted, unchanged, stale, first, last,
    )  # fmt: skip
    return result
