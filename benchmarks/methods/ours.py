"""ours: the project's loader for volume (include/covid_etl/bulk.py), timed as load_counties runs it.

It streams the file a day at a time, checks every line, and COPYs it straight into the empty table on a
first load; on a reload it compares the file with the version the table holds (still staged) and sends
only the new or changed lines to a temporary table, merged by one statement. See the module's docstring.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from common import LoadCounts, Method, run

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "include"))  # the project's library, as on MWAA

from covid_etl.bulk import StagedFile, held_commits, load_dataset  # noqa: E402
from covid_etl.datasets import COUNTIES  # noqa: E402
from covid_etl.records import Publication  # noqa: E402
from covid_etl.sql import read_sql  # noqa: E402

RUN_ID = "ours"
PART = "us-counties.csv"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load(db_url: str, path: Path, skip_enabled: bool) -> LoadCounts:
    """Load the county file with the project's loader (covid_etl.bulk.load_dataset), as load_counties does.

    The file stands for one publication whose commit is its content's sha256 (equal bytes, equal
    publication). With the skip enabled, a publication whose commit the table holds is not read, as
    resolve_counties skips it; with the skip disabled it is read and compared with the held version.
    """
    sha256 = _sha256(path)  # the pipeline hashes while downloading: counted here all the same
    with psycopg.connect(db_url) as conn:
        if skip_enabled and held_commits(conn, COUNTIES).get(PART) == sha256:
            return LoadCounts(inserted=0, updated=0)
        publication = Publication("NYT", path.as_uri(), published_at=datetime.now(UTC), commit=sha256, sha256=sha256)
        result = load_dataset(
            conn,
            COUNTIES,
            [StagedFile(part=PART, publication=publication, path=str(path))],
            run_id=RUN_ID,
            started_at=datetime.now(UTC),
            open_file=lambda staged: open(staged, "rb"),
            force=not skip_enabled,
        )
    return LoadCounts(inserted=result.inserted, updated=result.updated)


def setup(db_url: str) -> None:
    """The project's own DDL (include/sql/create_datasets.sql): the same columns and key as the others'
    table, with its CHECKs and run_id default."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(read_sql("create_tables"))
        conn.execute(read_sql("create_datasets"))


def prepare(db_url: str, base: Path) -> None:
    """The table holds BASE as ours leaves it: loaded by ours itself, so that its skip knows the file."""
    load(db_url, base, skip_enabled=True)


if __name__ == "__main__":
    sys.exit(
        run(Method(name="ours", cases=("first", "reload", "revised", "skip"), load=load, prepare=prepare, setup=setup))
    )
