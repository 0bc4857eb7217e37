"""The work of each task, as plain functions over JSON-friendly values (what XCom carries).

A dataset's task group resolves the publication its run loads (:func:`plan`), downloads it to the
staging store (:func:`fetch`: local disk, or S3 on MWAA) and loads it (:func:`load`); the national
series is then merged (:func:`merge`). XCom carries where files are, their hashes and the counts, never
rows. A run's staged files are removed once its load has committed or failed (docs/adr/0004).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from covid_etl import config
from covid_etl.errors import StagingError
from covid_etl.records import Publication, RunRecord
from covid_etl.sources.fetch import download_to
from covid_etl.sources.github import NoPublicationError, resolve_publication
from covid_etl.sources.specs import DATASETS, NATIONAL, Dataset

log = logging.getLogger(__name__)

# The states' sum may differ from the national series of the same publisher by at most this fraction of
# the national count, per date. NYT's national file is the sum of its states, territories and DC; a
# difference comes from one file being revised before the other. The largest revision of a past day in
# NYT's national series between its real versions kept here is 0.048% (cases of 2020-08-13, between the
# versions of 2020-08-13 and 2022-04-19; tests/unit/test_states_tolerance.py computes it): twice that,
# rounded up.
STATES_VS_NATION_TOLERANCE = 0.001


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


def staging_uri() -> str:
    """Where downloads wait between the fetch and load tasks: the Variable, else local disk."""
    from airflow.sdk import Variable

    return Variable.get(config.STAGING_VARIABLE, default=config.STAGING_URI)


def staged_path(staging: str, run_id: str, name: str):
    """Where a run keeps one of its files: <staging>/<run id>/<name>."""
    from airflow.sdk import ObjectStoragePath

    safe = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    return ObjectStoragePath(staging.rstrip("/")) / safe / re.sub(r"[^A-Za-z0-9._-]", "_", name)


# -- resolve -------------------------------------------------------------------------------------------


def resolve_files(dataset: Dataset, *, until: datetime, started_at: datetime, override: str | None) -> list[dict]:
    """The files of the dataset's publication for this run: each pinned to its newest commit at or before
    ``until`` (a yearly county file not published yet is left out; when none is, the fallback file); or,
    with ``override``, that one URL, unpinned (published when the run started)."""
    if override:
        return [Publication(dataset.name, dataset.whole_file.path, override, started_at).to_json()]
    files, missing = [], []
    options = {"api_base": config.github_api_url(), "raw_base": config.github_raw_url(), "token": github_token()}
    for parts in (dataset.parts, (dataset.fallback,) if dataset.fallback else ()):
        for part in parts:
            try:
                found = resolve_publication(part.file, until, **options)
            except NoPublicationError:
                log.info("%s: %s not published yet at %s", dataset.name, part.path, until)
                missing.append(f"{part.file.owner}/{part.file.repo}@{part.file.branch}:{part.path}")
                continue
            files.append(Publication(dataset.name, part.path, found.url, found.published_at, found.commit).to_json())
        if files:
            return files
    at = until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise NoPublicationError(f"{dataset.label}: no commit of {', '.join(missing)} at or before {at}")


def plan(context, dataset: Dataset, *, connect: Callable[[], Any]) -> dict | bool:
    """``<dataset>.resolve``: the files to load, or False (skip the dataset's load) when the dataset was not
    chosen for this run or every resolved commit was loaded already (XCom ``skipped`` says which, with the
    publications, for the merge and the summary); a run with nothing new is recorded as skipped in etl_runs."""
    ti = context["ti"]
    if dataset.choice not in (context["params"].get("datasets") or [dataset.choice]):
        ti.xcom_push(key="skipped", value={"reason": "not chosen for this run"})
        return False
    dag_run = context["dag_run"]
    files = resolve_files(
        dataset,
        until=context.get("data_interval_end") or dag_run.run_after,
        started_at=run_started_at(dag_run),
        override=context["params"].get(f"{dataset.name}_url"),
    )
    conn = connect()
    try:
        held = _loaded_already(conn, dataset, files)
        for item in files:
            item["held"] = (item["part"], item["commit"]) in held
        if all(item["held"] for item in files):
            return _nothing_new(conn, context, dataset, files)
    finally:
        conn.close()
    return {"dataset": dataset.name, "files": files}


def _loaded_already(conn, dataset: Dataset, files: list[dict]) -> set[tuple[str, str]]:
    """The (part, commit) of each file whose publication the dataset's history holds already."""
    from covid_etl.load.database import ensure_schema

    ensure_schema(conn)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT part, ident FROM dataset_publications WHERE dataset = %s AND ident = ANY(%s)",
            (dataset.name, [item["commit"] for item in files if item["commit"]]),
        )
        loaded = set(cursor.fetchall())
    conn.commit()
    return loaded


def _nothing_new(conn, context, dataset: Dataset, files: list[dict]) -> bool:
    """Every file was loaded by an earlier run: say since when (XCom ``skipped``), record the run as skipped in
    etl_runs, and skip the dataset's load (False)."""
    from covid_etl.load.runs import record_run

    since = max(item["published_at"] for item in files)
    skipped = {"reason": f"no new publication since {since}", "since": since, "publications": files}
    context["ti"].xcom_push(key="skipped", value=skipped)
    publications = tuple(Publication.from_json(item) for item in files)
    started_at = run_started_at(context["dag_run"])
    record_run(conn, RunRecord(context["run_id"], dataset.name, started_at, "skipped", publications))
    log.info("%s: no new publication since %s: every resolved commit was loaded by an earlier run", dataset.name, since)
    return False


# -- fetch and load ------------------------------------------------------------------------------------


def stage(item: dict, *, staging: str, run_id: str) -> dict:
    """Stream one file into the staging store; a partial file is removed when the download fails."""
    path = staged_path(staging, run_id, f"{item['dataset']}-{item['part']}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as target:
            streamed = download_to(item["url"], target, source=_label(item))
    except OSError as exc:
        _remove(path)
        if exc.errno is not None:  # the staging store failed, not the download: say where, and how
            raise StagingError(path, exc) from exc
        raise
    except BaseException:
        _remove(path)
        raise
    log.info("Staged %s (%s bytes, sha256 %s) at %s", item["part"], streamed.bytes, streamed.sha256, path)
    return {**item, "sha256": streamed.sha256, "bytes": streamed.bytes, "path": str(path)}


def fetch(planned: dict, *, staging: str, run_id: str) -> dict:
    """``<dataset>.fetch``: stream each file the table does not hold into the staging store."""
    files = [item if item["held"] else stage(item, staging=staging, run_id=run_id) for item in planned["files"]]
    return {**planned, "files": files}


def load(conn, fetched: dict, *, run_id: str, started_at: datetime, staging: str) -> dict:
    """``<dataset>.load``: load the staged publication in one transaction, then remove its staged files
    (whether the load committed or failed: a retry downloads again). A staged file that is gone (an
    expired object, another worker's disk) is downloaded again."""
    from airflow.sdk import ObjectStoragePath

    from covid_etl.load.loader import StagedFile, load_publication

    dataset = DATASETS[fetched["dataset"]]
    items = []
    try:
        for item in fetched["files"]:
            if not item["held"] and not ObjectStoragePath(item["path"]).exists():
                log.warning("%s is gone: downloading %s again", item["path"], item["url"])
                again = stage(item, staging=staging, run_id=run_id)
                if item["commit"] and again["sha256"] != item["sha256"]:
                    raise OSError(f"{item['url']}: the commit's bytes changed since they were fetched")
                item = again
            items.append(item)
        staged = [StagedFile(Publication.from_json(item), None if item["held"] else item["path"]) for item in items]
        result = load_publication(
            conn,
            dataset,
            staged,
            run_id=run_id,
            started_at=started_at,
            open_file=lambda path: ObjectStoragePath(path).open("rb"),
        )
    finally:
        for item in (*fetched["files"], *items):
            if item.get("path"):
                _remove(ObjectStoragePath(item["path"]))
    return {"dataset": dataset.name, **result.to_json()}


def _remove(path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("Could not remove %s: %s", path, exc)


def _label(item: dict) -> str:
    return DATASETS[item["dataset"]].label


# -- merge and checks ----------------------------------------------------------------------------------


def run_publications(ti, names: tuple[str, ...]) -> dict[str, Publication]:
    """This run's publication of each dataset (loaded now, or held already), from its resolve task."""
    found = {}
    for name in names:
        planned = ti.xcom_pull(task_ids=f"{name}.resolve") or ti.xcom_pull(task_ids=f"{name}.resolve", key="skipped")
        files = (planned or {}).get("files") or (planned or {}).get("publications") or []
        if files:
            found[name] = Publication.from_json(files[0])
    return found


def merge(conn, context) -> dict:
    """``national.merge``: bring covid_us_daily to its two sources' latest tables."""
    from covid_etl.load.national import merge_national

    publications = run_publications(context["ti"], NATIONAL.sources)
    result = merge_national(
        conn, run_id=context["run_id"], started_at=run_started_at(context["dag_run"]), publications=publications
    )
    return result.to_json()


def compare_states_with_nation(conn, *, tolerance: float = STATES_VS_NATION_TOLERANCE) -> dict:
    """Per date, the states' sum of cases and deaths against NYT's national series; the differences,
    largest first; a RejectedInputError past ``tolerance``."""
    from covid_etl.errors import RejectedInputError
    from covid_etl.load.database import ensure_schema
    from covid_etl.sql import read_sql

    ensure_schema(conn)
    with conn.cursor() as cursor:
        cursor.execute(read_sql("compare_states_with_nation"))
        rows = cursor.fetchall()
    conn.commit()
    differing = [
        {"date": day.isoformat(), "states_cases": sc, "nation_cases": nc, "states_deaths": sd, "nation_deaths": nd}
        for day, sc, nc, sd, nd in rows
        if (sc, sd) != (nc, nd)
    ]
    worst = max((_relative(d) for d in differing), default=0.0)
    found = {
        "dates_compared": len(rows),
        "dates_differing": len(differing),
        "largest_relative_difference": worst,
        "tolerance": tolerance,
        "differences": sorted(differing, key=_relative, reverse=True)[:20],
        "checked_at": datetime.now(UTC).isoformat(),
    }
    log.info("States vs nation: %s of %s dates differ, at most %.5f%%", len(differing), len(rows), 100 * worst)
    if worst > tolerance:
        first = found["differences"][0]
        raise RejectedInputError(
            f"NYT states: the states' sum differs from the national series by {100 * worst:.3f}% "
            f"(over {100 * tolerance:.1f}%) on {first['date']}: {first}"
        )
    return found


def _relative(difference: dict) -> float:
    return max(
        abs(difference["states_cases"] - difference["nation_cases"]) / max(difference["nation_cases"], 1),
        abs(difference["states_deaths"] - difference["nation_deaths"]) / max(difference["nation_deaths"], 1),
    )
