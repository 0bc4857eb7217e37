"""The work of the generic datasets' tasks (states, counties): plan, fetch, load, compare with the nation.

As covid_etl/steps.py does for the national series: plain functions over JSON-friendly values; files go
through the staging store, XCom carries only paths, hashes and counts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from covid_etl import config
from covid_etl.bulk import DatasetResult, StagedFile, held_commits, load_dataset
from covid_etl.datasets import DATASETS, Dataset
from covid_etl.github import NoPublicationError, resolve_publication
from covid_etl.records import Publication
from covid_etl.steps import github_token, publication_of, run_started_at, stage_download

log = logging.getLogger(__name__)

# The states' sum may differ from the national series of the same publisher by at most this fraction
# of the national count, per date. NYT's national file is the sum of its states, territories and DC; a
# difference comes from one file being revised before the other. The largest revision of a past day in
# NYT's national series between its real versions kept here is 0.048% (cases of 2020-08-13, between the
# versions of 2020-08-13 and 2022-04-19; tests/test_datasets.py computes it): twice that, rounded up.
STATES_VS_NATION_TOLERANCE = 0.001


def resolve_files(dataset: Dataset, *, until: datetime, started_at: datetime, override: str | None) -> list[dict]:
    """The files of the dataset's publication for this run: each file pinned to its newest commit at or
    before ``until`` (a yearly county file not published yet is left out; when none is, the fallback
    file); or, with ``override``, that one URL, unpinned (published when the run started)."""
    if override:
        part = (dataset.fallback or dataset.parts[0]).path
        return [{"part": part, **Publication(dataset.label, override, published_at=started_at).to_json()}]
    files = []
    options = {"api_base": config.github_api_url(), "raw_base": config.github_raw_url(), "token": github_token()}
    for candidates in (dataset.parts, (dataset.fallback,) if dataset.fallback else ()):
        for source in candidates:
            try:
                publication = resolve_publication(source, until, **options)
            except NoPublicationError:
                log.info("%s: %s not published yet at %s", dataset.name, source.path, until)
                continue
            files.append({"part": source.path, **publication.to_json()})
        if files:
            return files
    raise NoPublicationError(f"{dataset.label}: none of its files has a commit at or before {until.isoformat()}")


def plan_dataset(context, dataset: Dataset, *, connect) -> dict | bool:
    """resolve_<dataset>: the files to load, or False (skip the dataset) when it was not chosen for this
    run or the table holds every resolved commit already (XCom ``skipped`` says which)."""
    ti = context["ti"]
    chosen = context["params"].get("datasets") or list(DATASETS)
    if dataset.name not in chosen:
        ti.xcom_push(key="skipped", value={"reason": "not chosen for this run (COVID_ETL_DATASETS)"})
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
        held = held_commits(conn, dataset)
    finally:
        conn.close()
    for item in files:
        item["held"] = item["commit"] is not None and held.get(item["part"]) == item["commit"]
    if all(item["held"] for item in files):
        since = max(item["published_at"] for item in files)
        ti.xcom_push(key="skipped", value={"reason": f"no new publication since {since}", "since": since})
        log.info("%s: no new publication since %s", dataset.name, since)
        return False
    return {"dataset": dataset.name, "files": files}


def fetch_files(plan: dict, *, staging_uri: str, run_id: str) -> dict:
    """fetch_<dataset>: stream each file the table does not hold into the staging store."""
    fetched = []
    for item in plan["files"]:
        if item["held"]:
            fetched.append({**item, "path": None})
            continue
        name = f"{plan['dataset']}-{item['part'].replace('/', '_')}"
        fetched.append(
            {
                **item,
                **stage_download(
                    url=item["url"], source=item["source"], staging_uri=staging_uri, run_id=run_id, name=name
                ),
            }
        )
    return {**plan, "files": fetched}


def load_files(conn, fetched: dict, *, run_id: str, started_at: datetime) -> dict:
    """load_<dataset>: load the staged publication in one transaction; return the counts."""
    from airflow.sdk import ObjectStoragePath

    dataset = DATASETS[fetched["dataset"]]
    files = [
        StagedFile(
            part=item["part"],
            publication=publication_of(item),
            path=item["path"],
        )
        for item in fetched["files"]
    ]
    result: DatasetResult = load_dataset(
        conn,
        dataset,
        files,
        run_id=run_id,
        started_at=started_at,
        open_file=lambda path: ObjectStoragePath(path).open("rb"),
    )
    return {"dataset": dataset.name, **result.to_json()}


def compare_states_with_nation(conn, *, tolerance: float = STATES_VS_NATION_TOLERANCE) -> dict:
    """Per date, the states' sum of cases and deaths against NYT's national series (its newest
    publication); the differences, largest first; a RejectedInputError past ``tolerance``."""
    from covid_etl.errors import RejectedInputError
    from covid_etl.loader import locked_transaction
    from covid_etl.sql import read_sql

    with locked_transaction(conn) as cursor:  # the national tables may not exist yet
        cursor.execute(read_sql("create_datasets"))
        cursor.execute(read_sql("compare_states_with_nation"))
        rows = cursor.fetchall()
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
