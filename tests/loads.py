"""Loading files into a test database as the load tasks do, and reading tables back, for the tests of the
loader and its history (covid_etl/load/loader.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from covid_etl.load.loader import StagedFile, load_publication
from covid_etl.records import LoadResult, Publication
from covid_etl.sources.specs import DATASETS, Dataset

Table = list[tuple]


def fixture_file(name: str, folder: Path) -> Path:
    """A fixture as a plain file in ``folder`` (some are stored gzipped), for the loader to open."""
    from support import fixture_bytes

    path = folder / Path(name).name
    path.write_bytes(fixture_bytes(name))
    return path


def load_file(
    db_url: str,
    dataset: str,
    path: Path,
    *,
    at: datetime,
    commit: str | None,
    part: str | None = None,
    run_id: str | None = None,
    connect=psycopg.connect,
    compare: bool = True,
) -> LoadResult:
    """Load one file as a publication of ``dataset`` committed at ``at`` (its whole file, or ``part``)."""
    spec = DATASETS[dataset]
    publication = Publication(dataset, part or spec.whole_file.path, f"file://{path}", at, commit, "0" * 64)
    conn = connect(db_url)
    try:
        return load_publication(
            conn,
            spec,
            [StagedFile(publication, str(path))],
            run_id=run_id or f"run-{commit}",
            started_at=datetime.now(UTC),
            open_file=lambda staged: open(staged, "rb"),
            compare=compare,
        )
    finally:
        conn.close()


def parse_value(kind: str, text: str):
    """A CSV field as the table stores it (empty FIPS and counts as NULL)."""
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "count":
        return int(text) if text else None
    if kind == "fips":
        return text or None
    return text


def expected_rows(dataset: Dataset, text: str) -> Table:
    """What the table must hold after loading a file, computed with the standard library from its text."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append(tuple(parse_value(column.kind, row[column.field]) for column in dataset.columns))
    return sorted(rows)


def query(db_url: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchall()


def table_rows(db_url: str, dataset: Dataset) -> Table:
    return sorted(query(db_url, f"SELECT {', '.join(dataset.column_names)} FROM {dataset.table}"))


def as_of_rows(db_url: str, dataset: Dataset, at: datetime) -> Table:
    return sorted(query(db_url, f"SELECT {', '.join(dataset.column_names)} FROM {dataset.table}_as_of(%s)", (at,)))


def revisions(db_url: str, dataset: Dataset) -> list[tuple]:
    """The dataset's revisions view, sorted, with what identifies a publication across databases."""
    return sorted(query(db_url, f"SELECT * FROM {dataset.table}_revisions"))


def changes(db_url: str, dataset: Dataset) -> list[tuple]:
    """Every stored change, named by its publication's commit (ids differ between databases)."""
    key = ", ".join(f"e.{name}" for name in dataset.key)
    values = ", ".join(f"e.old_{name}, e.new_{name}" for name in dataset.values)
    return sorted(
        query(
            db_url,
            f"SELECT {key}, p.commit, e.change, {values} FROM {dataset.table}_changes e"
            " JOIN dataset_publications p ON p.id = e.publication",
        ),
        key=repr,
    )
