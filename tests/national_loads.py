"""Loading the national series as a run does, for tests on a real PostgreSQL: NYT's us.csv and JHU's
combined file, each a publication of its dataset through the one loader (load_publication), then the
merge (merge_national) into covid_us_daily, all under one run id.

The real fixture versions carry their commit times: a later commit is a newer publication, whatever order
the tests load them in.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from covid_etl.load.loader import StagedFile, load_publication
from covid_etl.load.national import merge_national
from covid_etl.records import LoadResult, Publication
from covid_etl.sources.specs import JHU_US, NYT_US
from fake_github import REAL_JHU_COMMITS, REAL_NYT, real_jhu_commit_times
from support import fixture_bytes

# The real versions under the commit times the fake GitHub serves them with (fake_github.py).
NYT_VERSIONS = {name: datetime.fromisoformat(at) for _, at, name in REAL_NYT}
JHU_VERSIONS = dict(sorted((name, real_jhu_commit_times()[sha]) for sha, name in REAL_JHU_COMMITS.items()))
JHU_LATEST = "real/jhu-combined-2021-03-17.csv"


@dataclass(frozen=True)
class Version:
    """One publication of a source file: its bytes, where it is said to come from, and its commit time
    (unpinned: None, published when its run started)."""

    name: str
    body: bytes
    at: datetime | None

    @classmethod
    def fixture(cls, name: str, at: datetime | None = None) -> Version:
        return cls(name, fixture_bytes(name), at)


@dataclass
class NationalLoad:
    """What a run's national series did: each source's load and the merge."""

    nyt: LoadResult
    jhu: LoadResult
    merge: LoadResult


def publication(dataset, version: Version, started_at: datetime) -> Publication:
    at = version.at or started_at
    commit = f"{dataset.name}-{at:%Y%m%d%H%M}" if version.at else None
    return Publication(
        dataset.name,
        dataset.whole_file.path,
        f"http://example/{version.name}",
        at,
        commit,
        hashlib.sha256(version.body).hexdigest(),
    )


def load_versions(connect, db_url: str, nyt: Version, jhu: Version, *, run_id: str, **options) -> NationalLoad:
    """Load the two versions and merge them, as one run; ``options`` go to load_publication."""
    started_at = datetime.now(UTC)
    bodies = {nyt.name: nyt.body, jhu.name: jhu.body}
    publications = {"nyt": publication(NYT_US, nyt, started_at), "jhu": publication(JHU_US, jhu, started_at)}
    results = {}
    conn = connect(db_url)
    try:
        for dataset, version in ((NYT_US, nyt), (JHU_US, jhu)):
            results[dataset.name] = load_publication(
                conn,
                dataset,
                [StagedFile(publications[dataset.name], version.name)],
                run_id=run_id,
                started_at=started_at,
                open_file=lambda name: io.BytesIO(bodies[name]),
                **options,
            )
        merged = merge_national(conn, run_id=run_id, started_at=started_at, publications=publications)
    finally:
        conn.close()
    return NationalLoad(results["nyt"], results["jhu"], merged)


def load(connect, db_url: str, nyt: str, jhu: str = JHU_LATEST, *, run_id: str = "run-1", pinned=True) -> NationalLoad:
    """Load a NYT and a JHU fixture (real ones at their commit times) and merge them, as one run."""
    times = {**NYT_VERSIONS, **JHU_VERSIONS}
    nyt_at = times.get(nyt, datetime(2023, 1, 25, tzinfo=UTC)) if pinned else None
    jhu_at = times.get(jhu, datetime(2021, 3, 17, tzinfo=UTC)) if pinned else None
    return load_versions(connect, db_url, Version.fixture(nyt, nyt_at), Version.fixture(jhu, jhu_at), run_id=run_id)


def counts(result: LoadResult) -> tuple[int, int, int, int, int]:
    """(inserted, updated, deleted, unchanged, stale)."""
    return result.inserted, result.updated, result.deleted, result.unchanged, result.stale


def query(db_url: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchall()


def as_of(db_url: str, at: datetime) -> dict[str, tuple]:
    """covid_us_daily_as_of(at), by ISO date, as oracle.stored_table gives the table."""
    rows = query(db_url, "SELECT date::text, cases, deaths, recovered FROM covid_us_daily_as_of(%s)", (at,))
    return {day: (cases, deaths, recovered) for day, cases, deaths, recovered in rows}
