"""The work of each task, as plain functions over JSON-friendly values (what XCom carries).

Files are staged (local disk, or S3 on MWAA) rather than passed through XCom, which lives in the
metadata database: downloads as they came, and each step's rows as small CSV files. XCom carries only
where they are, their hashes, counts and dates.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime

from covid_etl import config
from covid_etl.bodies import decode_csv
from covid_etl.fetch import download_to
from covid_etl.github import resolve_publication
from covid_etl.merge import merge_us, reported_recovered
from covid_etl.parsing import parse_jhu_us, parse_nyt
from covid_etl.records import CovidDay, JhuDay, LoadResult, NytDay, Publication, RunInfo
from covid_etl.sources import SOURCES

log = logging.getLogger(__name__)


def staged_path(staging_uri: str, run_id: str, name: str):
    """Where a run keeps one of its files: <staging>/<run id>/<name>."""
    from airflow.sdk import ObjectStoragePath

    safe_run_id = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    return ObjectStoragePath(staging_uri.rstrip("/")) / safe_run_id / name


def _write_rows(path, header: Iterable[str], rows: Iterable[Iterable]) -> None:
    """Stage rows as CSV (None as an empty field)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.getvalue())


def _read_rows(path: str) -> list[list[str]]:
    from airflow.sdk import ObjectStoragePath

    return list(csv.reader(io.StringIO(ObjectStoragePath(path).read_text())))[1:]


def _count(value: str) -> int | None:
    return int(value) if value else None


def resolve_publications(
    *,
    until: datetime,
    run_started_at: datetime,
    overrides: Mapping[str, str | None],
    api_base: str,
    raw_base: str,
    token: str | None,
) -> dict[str, dict]:
    """Each source's publication for this run: pinned to the newest commit at or before ``until``, or,
    where ``overrides`` gives a URL, that URL unpinned (counting as published when the run started)."""
    publications = {}
    for label, source in SOURCES.items():
        url = overrides.get(label)
        if url:
            publication = Publication(source=label, url=url, published_at=run_started_at)
            log.info("%s: unpinned, %s", label, url)
        else:
            publication = resolve_publication(source, until, api_base=api_base, raw_base=raw_base, token=token)
        publications[label] = publication.to_json()
    return publications


def stage_download(*, url: str, source: str, staging_uri: str, run_id: str, name: str) -> dict:
    """Stream a download into the staging store as <staging>/<run id>/<name>; return where, size and sha256."""
    path = staged_path(staging_uri, run_id, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as target:
        streamed = download_to(url, target, source=source)
    log.info("Staged %s (%s bytes, sha256 %s) at %s", source, streamed.bytes, streamed.sha256, path)
    return {"sha256": streamed.sha256, "bytes": streamed.bytes, "path": str(path)}


def fetch_to_staging(*, publication: dict, staging_uri: str, run_id: str) -> dict:
    """Download a publication and stage it; return it with where it is and its sha256."""
    source = publication["source"]
    staged = stage_download(
        url=publication["url"], source=source, staging_uri=staging_uri, run_id=run_id, name=f"{source.lower()}.csv"
    )
    return {**publication, **staged}


def _read_staged(staged: dict) -> str:
    """The staged file's text; a body that is not UTF-8 CSV text is rejected, naming the source and its URL."""
    from airflow.sdk import ObjectStoragePath

    body = ObjectStoragePath(staged["path"]).read_bytes()
    return decode_csv(body, source=staged["source"], location=staged["url"])


def _parsed(staged: dict, path, days: list) -> dict:
    return {
        **{key: value for key, value in staged.items() if key != "path"},
        "rows": len(days),
        "first_date": days[0].date.isoformat(),
        "last_date": days[-1].date.isoformat(),
        "days_path": str(path),
    }


def parse_nyt_file(staged: dict, *, staging_uri: str, run_id: str) -> dict:
    """Validate the staged NYT file; stage its days as date,cases,deaths."""
    days = parse_nyt(_read_staged(staged), location=staged["url"], source=staged["source"])
    log.info("NYT: %s valid days, %s to %s", len(days), days[0].date, days[-1].date)
    path = staged_path(staging_uri, run_id, "nyt-days.csv")
    _write_rows(path, ("date", "cases", "deaths"), ((d.date.isoformat(), d.cases, d.deaths) for d in days))
    return _parsed(staged, path, days)


def parse_jhu_file(staged: dict, *, staging_uri: str, run_id: str) -> dict:
    """Validate the staged JHU file; stage the US national days as date,recovered (as reported)."""
    days = parse_jhu_us(_read_staged(staged), location=staged["url"], source=staged["source"])
    log.info("JHU: %s valid US days, %s to %s", len(days), days[0].date, days[-1].date)
    path = staged_path(staging_uri, run_id, "jhu-days.csv")
    _write_rows(path, ("date", "recovered"), ((d.date.isoformat(), d.recovered) for d in days))
    return _parsed(staged, path, days)


def _nyt_days(parsed: dict) -> list[NytDay]:
    return [NytDay(date.fromisoformat(d), int(c), int(x)) for d, c, x in _read_rows(parsed["days_path"])]


def _jhu_days(parsed: dict) -> list[JhuDay]:
    return [JhuDay(date.fromisoformat(d), int(r)) for d, r in _read_rows(parsed["days_path"])]


def merge_parsed(nyt: dict, jhu: dict, *, staging_uri: str, run_id: str) -> dict:
    """Join the two parsed series on date and stage the result; keep each publication for the load."""
    merged = merge_us(_nyt_days(nyt), _jhu_days(jhu))
    log.info("Merged %s days, %s to %s", len(merged), merged[0].date, merged[-1].date)
    path = staged_path(staging_uri, run_id, "merged.csv")
    rows = ((d.date.isoformat(), d.cases, d.deaths, d.recovered) for d in merged)
    _write_rows(path, ("date", "cases", "deaths", "recovered"), rows)
    return {
        "nyt": nyt,
        "jhu": jhu,
        "days": len(merged),
        "first_date": merged[0].date.isoformat(),
        "last_date": merged[-1].date.isoformat(),
        "merged_path": str(path),
    }


def publication_of(parsed: dict) -> Publication:
    """The Publication record of a fetch or parse result."""
    fields = ("source", "url", "published_at", "commit", "sha256", "rows")
    return Publication.from_json({field: parsed.get(field) for field in fields})


def load_merged(conn, merged: dict, *, run_id: str, started_at: datetime) -> dict:
    """Load the run's two publications and bring covid_us_daily up to date, in one transaction."""
    from covid_etl.loader import load_national

    days = [
        CovidDay(date.fromisoformat(d), int(c), int(x), _count(r)) for d, c, x, r in _read_rows(merged["merged_path"])
    ]
    run = RunInfo(
        run_id=run_id, started_at=started_at, nyt=publication_of(merged["nyt"]), jhu=publication_of(merged["jhu"])
    )
    result: LoadResult = load_national(
        conn,
        nyt=_nyt_days(merged["nyt"]),
        jhu_recovered=reported_recovered(_jhu_days(merged["jhu"])),
        merged=days,
        run=run,
    )
    return {**result.to_json(), "first_date": merged["first_date"], "last_date": merged["last_date"]}


def staging_of_run() -> dict:
    """The staging location and run id of the running task, as the staging steps take them."""
    from airflow.sdk import Variable, get_current_context

    return {
        "staging_uri": Variable.get(config.STAGING_VARIABLE, default=config.STAGING_URI),
        "run_id": get_current_context()["run_id"],
    }


def run_started_at(dag_run) -> datetime:
    """When the run started. ``dag.test()`` (and so `make run`) sets a run's start_date to its logical
    date, which may lie years back; its run_after is the real time it was asked to run."""
    moments = [moment for moment in (dag_run.start_date, dag_run.run_after) if moment is not None]
    return max(moments) if moments else datetime.now(UTC)


def github_token() -> str | None:
    """The password of the optional connection github_default, else None (60 API requests an hour)."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(config.GITHUB_CONN_ID).password or None
    except AirflowNotFoundException:
        return None


def plan_run(context, *, connect) -> dict | bool:
    """resolve_sources: the run's publications by source, or False when all were loaded already.

    A pinned run looks up the newest commits at or before its data interval's end (a manual run
    without one: its run_after). When an earlier successful run loaded every one of them, this run is
    recorded as skipped in etl_runs, notes why in its XCom ``skipped``, and returns False.
    """
    from covid_etl.loader import loaded_publications, record_run

    if "national" not in (context["params"].get("datasets") or ["national"]):
        context["ti"].xcom_push(key="skipped", value={"reason": "not chosen for this run (COVID_ETL_DATASETS)"})
        return False
    dag_run = context["dag_run"]
    until = context.get("data_interval_end") or dag_run.run_after
    started_at = run_started_at(dag_run)
    publications = resolve_publications(
        until=until,
        run_started_at=started_at,
        overrides={"NYT": context["params"].get("nyt_url"), "JHU": context["params"].get("jhu_url")},
        api_base=config.github_api_url(),
        raw_base=config.github_raw_url(),
        token=github_token(),
    )
    records = {label: Publication.from_json(item) for label, item in publications.items()}
    if not all(record.pinned for record in records.values()):
        return publications
    conn = connect()
    try:
        if len(loaded_publications(conn, list(records.values()))) < len(records):
            return publications
        run = RunInfo(run_id=context["run_id"], started_at=started_at, nyt=records["NYT"], jhu=records["JHU"])
        record_run(conn, run, status="skipped")
    finally:
        conn.close()
    since = max(record.published_at for record in records.values()).isoformat()
    log.info("No new publication since %s: every resolved commit was loaded by an earlier run", since)
    reason = f"no new publication since {since}"
    context["ti"].xcom_push(key="skipped", value={"reason": reason, "since": since, "publications": publications})
    return False


def summarize_run(context) -> dict:
    """report_run: the run's summary, pushed as XCom ``summary``; raises if any task failed."""
    from airflow.sdk.exceptions import AirflowFailException

    from covid_etl.report import failed_tasks, summarize

    ti, run_id = context["ti"], context["run_id"]
    states = ti.get_task_states(dag_id=config.DAG_ID, run_ids=[run_id])[run_id]
    failed = failed_tasks(states, ignore={ti.task_id})
    from covid_etl.datasets import DATASETS

    summary = summarize(
        run_id=run_id,
        states=states,
        errors={task: ti.xcom_pull(task_ids=task, key="error") for task in failed if states[task] == "failed"},
        publications=ti.xcom_pull(task_ids="resolve_sources") or None,
        skipped=ti.xcom_pull(task_ids="resolve_sources", key="skipped"),
        loaded=ti.xcom_pull(task_ids="upsert_days"),
        datasets={
            name: {
                "skipped": ti.xcom_pull(task_ids=f"resolve_{name}", key="skipped"),
                "loaded": ti.xcom_pull(task_ids=f"load_{name}"),
            }
            for name in DATASETS
        },
        comparison=ti.xcom_pull(task_ids="compare_states_with_nation"),
        reporter=ti.task_id,
    )
    ti.xcom_push(key="summary", value=summary)
    log.info("Run summary: %s", summary)
    if summary["status"] == "failed":
        raise AirflowFailException(summary["error"])
    from covid_etl.metrics import publish_success_metric

    publish_success_metric(dag_id=config.DAG_ID, aws_conn_id=config.AWS_CONN_ID)
    return summary
