"""The work of each task, as plain functions over JSON-friendly values (what XCom carries).

Downloads are staged as files (local disk, or S3 on MWAA) rather than passed through XCom: the JHU
file is tens of megabytes, and XCom lives in the metadata database.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime

from covid_etl.fetch import download
from covid_etl.merge import merge_us
from covid_etl.parsing import parse_jhu_us, parse_nyt
from covid_etl.records import CovidDay, JhuDay, LoadResult, NytDay, RunInfo, SourceFile

log = logging.getLogger(__name__)


def staged_path(staging_uri: str, run_id: str, source: str):
    """Where a run's download of ``source`` is kept: <staging>/<run id>/<source>.csv."""
    from airflow.sdk import ObjectStoragePath

    safe_run_id = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    return ObjectStoragePath(staging_uri.rstrip("/")) / safe_run_id / f"{source.lower()}.csv"


def fetch_to_staging(*, source: str, url: str, staging_uri: str, run_id: str) -> dict:
    """Download ``url`` whole and stage it; return where it is and its sha256."""
    fetched = download(url, source=source)
    sha256 = fetched.sha256  # hashes the whole body: once
    path = staged_path(staging_uri, run_id, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fetched.body)
    log.info("Staged %s (%s bytes, sha256 %s) at %s", source, len(fetched.body), sha256, path)
    return {"source": source, "url": url, "sha256": sha256, "bytes": len(fetched.body), "path": str(path)}


def _read_staged(staged: dict) -> str:
    from airflow.sdk import ObjectStoragePath

    body = ObjectStoragePath(staged["path"]).read_bytes()
    # utf-8-sig: tolerate a byte-order mark; a body that is not text fails as not being the expected CSV.
    return body.decode("utf-8-sig", errors="replace")


def parse_nyt_file(staged: dict) -> dict:
    """Validate the staged NYT file; return its days as [date, cases, deaths] rows."""
    days = parse_nyt(_read_staged(staged), location=staged["url"])
    log.info("NYT: %s valid days, %s to %s", len(days), days[0].date, days[-1].date)
    return {**staged, "rows": len(days), "days": [[d.date.isoformat(), d.cases, d.deaths] for d in days]}


def parse_jhu_file(staged: dict) -> dict:
    """Validate the staged JHU file; return the US national days as [date, recovered] rows."""
    days = parse_jhu_us(_read_staged(staged), location=staged["url"])
    log.info("JHU: %s valid US days, %s to %s", len(days), days[0].date, days[-1].date)
    return {**staged, "rows": len(days), "days": [[d.date.isoformat(), d.recovered] for d in days]}


def merge_parsed(nyt: dict, jhu: dict) -> dict:
    """Join the two parsed series on date; keep each source's provenance for ``etl_runs``."""
    merged = merge_us(
        [NytDay(date.fromisoformat(d), cases, deaths) for d, cases, deaths in nyt["days"]],
        [JhuDay(date.fromisoformat(d), recovered) for d, recovered in jhu["days"]],
    )
    log.info("Merged %s days, %s to %s", len(merged), merged[0].date, merged[-1].date)
    return {
        "nyt": source_file(nyt),
        "jhu": source_file(jhu),
        "days": [day.to_json() for day in merged],
    }


def source_file(parsed: dict) -> dict:
    """The provenance part of a fetch or parse result."""
    return {"url": parsed["url"], "sha256": parsed.get("sha256"), "rows": parsed.get("rows")}


def load_merged(conn, merged: dict, *, run_id: str, started_at: datetime) -> dict:
    """Upsert the merged days in one transaction; return the counts and the date range."""
    from covid_etl.loader import load_days

    days = [CovidDay.from_json(row) for row in merged["days"]]
    run = RunInfo(
        run_id=run_id,
        started_at=started_at,
        nyt=SourceFile(**merged["nyt"]),
        jhu=SourceFile(**merged["jhu"]),
    )
    result: LoadResult = load_days(conn, days, run)
    return {**result.to_json(), "first_date": days[0].date.isoformat(), "last_date": days[-1].date.isoformat()}


FAILED_STATES = frozenset({"failed", "upstream_failed"})


def raise_if_any_task_failed(states: dict[str, str | None], *, ignore: set[str]) -> None:
    """Raise if any task of the run (but those in ``ignore``) ended failed or upstream_failed.

    :param states: each task's state in this run, as Airflow reports it.
    :param ignore: tasks not to consider (the caller itself).
    """
    failed = sorted(task for task, state in states.items() if state in FAILED_STATES and task not in ignore)
    if failed:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(f"tasks failed in this run: {', '.join(failed)}")
    log.info("Every task of the run succeeded or was skipped")
