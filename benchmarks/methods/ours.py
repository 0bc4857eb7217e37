"""ours: the project's loader (include/covid_etl/load/loader.py, ``load_publication``), as the counties'
load task runs it, with the history it always keeps: the latest table, the changes table, the
publications and the fingerprints.

Each file is one publication of NYT's whole county file (``us-counties.csv``), committed when the
generator's manifest says, its commit id ``bench-<file name>``: republished bytes are a new commit, as
NYT's would be. The cases:

- ``first_load``: the publication into an empty schema (made by ``setup``, untimed);
- ``forced_reload``, ``revised_1pct``, ``next_day``: the next publication, on the base loaded by ours
  (``prepare``); no skip asked for: a new commit is loaded;
- ``next_day_cold``: the same, with the previous publication's staged file removed first. The loader
  compares with the database only (its fingerprints), never with a staged file, so for ours it is the
  same path as ``next_day``, measured on its own all the same;
- ``skip``: the resolve task's check for the base's commit (a query of dataset_publications), which
  finds it, and nothing more;
- ``backfill_30``: daily publications loaded in a shuffled order into an empty schema, then every one
  checked as of its commit time (``covid_us_county_daily_as_of``), the history's size and the as-of
  queries' latency measured.

Each load's time is split by benchmarks/methods/profiling.py (the loader is not changed for it).
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from common import (
    TABLE,
    LoadCounts,
    Method,
    file_digest,
    gone_keys,
    keys_present,
    published_at,
    query_digest,
    run,
    sha256_of,
)
from profiling import Profile, connect

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "include"))  # the project's library, as on MWAA

from covid_etl.load.database import ensure_schema  # noqa: E402
from covid_etl.load.loader import StagedFile, load_publication  # noqa: E402
from covid_etl.records import LoadResult, Publication  # noqa: E402
from covid_etl.sources.specs import COUNTIES  # noqa: E402

PART = COUNTIES.whole_file.path  # us-counties.csv: one file, every date
BACKFILL_ORDER_SEED = 30  # the shuffled order of the backfill's loads
# The as-of queries timed after the backfill (issue 19): one county's whole series, one state on one date.
AS_OF_COUNTY = "SELECT * FROM covid_us_county_daily_as_of(%s) WHERE state = %s AND county = %s"
AS_OF_STATE_DATE = "SELECT * FROM covid_us_county_daily_as_of(%s) WHERE date = %s AND state = %s"
LATENCY_RUNS = 5
# The backfill's 31 checks (the latest table and the as-of table at each publication) run two at a time: they
# are untimed, each a query the server spends seconds on at 2.5M rows, and a run of make bench has 2 cores.
CHECK_WORKERS = 2
COUNTY = ("California", "Los Angeles")  # the largest; a short county list (the tests') takes its first
HISTORY_TABLES = (f"{TABLE}_changes", "dataset_publications", "dataset_fingerprints")
_SHA256: dict[Path, str] = {}  # files' sha256, taken before the timed load (the fetch task hashes as it downloads)


def commit_of(path: Path) -> str:
    return f"bench-{path.name}"


def publication_of(path: Path) -> Publication:
    if path not in _SHA256:
        _SHA256[path] = sha256_of(path)
    return Publication(COUNTIES.name, PART, path.as_uri(), published_at(path), commit_of(path), _SHA256[path])


def load_file(db_url: str, path: Path, run_id: str, profile: Profile) -> LoadResult:
    """One publication loaded as the load task loads it: a connection of its own, one transaction."""
    conn = connect(db_url, profile)
    try:
        return load_publication(
            conn,
            COUNTIES,
            [StagedFile(publication_of(path), str(path))],
            run_id=run_id,
            started_at=datetime.now(UTC),
            open_file=lambda staged: open(staged, "rb"),
        )
    finally:
        conn.close()


def held(db_url: str, path: Path, profile: Profile) -> bool:
    """The resolve task's check (covid_etl/tasks/steps.py, ``plan``): was this commit loaded already?"""
    conn = connect(db_url, profile)
    try:
        ensure_schema(conn)
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT part, ident FROM dataset_publications WHERE dataset = %s AND ident = ANY(%s)",
                (COUNTIES.name, [commit_of(path)]),
            )
            loaded = set(cursor.fetchall())
        conn.commit()
    finally:
        conn.close()
    return (PART, commit_of(path)) in loaded


def load(db_url: str, path: Path, case: str) -> LoadCounts:
    """The timed part: the load (or, for ``skip``, the check that finds the publication loaded)."""
    profile = Profile()
    began = time.perf_counter()
    skipped = case == "skip" and held(db_url, path, profile)
    result = LoadResult() if skipped else load_file(db_url, path, f"bench-{case}", profile)
    seconds = time.perf_counter() - began
    extra = {"profile": profile.summary(seconds), "how": result.files.get(PART)}
    if case == "skip":
        extra["skipped"] = skipped
    return LoadCounts(result.inserted, result.updated, result.deleted, extra)


def setup(db_url: str) -> None:
    """The project's schema (covid_etl.load.database.ensure_schema), as the first run would create it."""
    with psycopg.connect(db_url) as conn:
        ensure_schema(conn)


def prepare(db_url: str, base: Path) -> None:
    """The table holds BASE as ours leaves it: loaded by ours itself, so that its history, publications
    and fingerprints are there too."""
    load_file(db_url, base, "bench-base", Profile())


def staged_previous(db_url: str) -> Path:
    """Where the previous publication's staged file is kept for the next_day case (a folder per database)."""
    return Path(tempfile.gettempdir()) / "bench-staging" / db_url.rsplit("/", 1)[1] / f"counties-{PART}"


def before(db_url: str, case: str, path: Path, base: Path | None) -> None:
    """Hash the file (the fetch task does, while downloading); for next_day, the previous publication's
    staged file on disk; for next_day_cold, none."""
    publication_of(path)
    previous = staged_previous(db_url)
    if case == "next_day":
        previous.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(base, previous)
    elif case == "next_day_cold":
        previous.unlink(missing_ok=True)


def after(db_url: str, case: str, path: Path) -> dict:
    """The history the load wrote (changes by kind, for its publication); staged copies removed, and their
    common folder once no run has any there."""
    folder = staged_previous(db_url).parent
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):  # another run's copy is still there
        folder.parent.rmdir()
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            f"SELECT e.change, count(*) FROM {TABLE}_changes e JOIN dataset_publications p ON p.id = e.publication"
            " WHERE p.dataset = %s AND p.ident = %s GROUP BY e.change",
            (COUNTIES.name, commit_of(path)),
        ).fetchall()
        registered = conn.execute(
            "SELECT count(*) FROM dataset_publications WHERE dataset = %s", (COUNTIES.name,)
        ).fetchone()[0]
    return {"history": dict(sorted(rows)), "publications": registered}


# --- the backfill --------------------------------------------------------------------------------------


def backfill(db_url: str, manifest_path: Path, budget: float | None = None) -> dict:
    """Load the backfill's publications in a shuffled order, then check the latest table and every
    publication's as-of table against its file, and measure the history's size and the as-of queries.

    With a ``budget``, the loads stop once they have taken longer (the harness sets it at twice what the
    case's target allows): the case then reports how far it came and is not verified.
    """
    folder = manifest_path.parent
    manifest = json.loads(manifest_path.read_text())
    files = [folder / item["file"] for item in manifest["publications"]]
    for path in files:
        publication_of(path)  # hashed before timing, as the fetch task would have
    order = files[:]
    random.Random(BACKFILL_ORDER_SEED).shuffle(order)
    total_profile, loads = Profile(), []
    for path in order:
        profile = Profile()
        began = time.perf_counter()
        result = load_file(db_url, path, f"bench-backfill-{path.stem}", profile)
        seconds = time.perf_counter() - began
        total_profile.merge(profile)
        loads.append(
            {
                "file": path.name,
                "seconds": round(seconds, 4),
                "how": result.files.get(PART),
                "inserted": result.inserted,
                "updated": result.updated,
                "deleted": result.deleted,
                "stale": result.stale,
            }
        )
        if budget and sum(item["seconds"] for item in loads) > budget and len(loads) < len(order):
            break
    total = sum(item["seconds"] for item in loads)
    if len(loads) < len(order):
        return {
            "seconds": round(total, 4),
            "rows": sum(file_digest(folder / item["file"]).rows for item in loads),
            "publications": len(files),
            "loaded": len(loads),
            "estimated_seconds": round(total * len(order) / len(loads), 2),
            "verified": False,
            "problems": [
                f"stopped after {len(loads)} of {len(order)} loads: {total:.1f} s, over the budget of {budget:.0f} s"
            ],
            "profile": total_profile.summary(total),
            "loads": loads,
        }

    checking = time.perf_counter()
    problems = check_backfill(db_url, files, workers=CHECK_WORKERS)
    checked = time.perf_counter() - checking  # the latest table and 30 as-of tables against their files
    with psycopg.connect(db_url) as conn:
        sizes = {
            name: conn.execute("SELECT pg_total_relation_size(%s::regclass)", (name,)).fetchone()[0]
            for name in (TABLE, *HISTORY_TABLES)
        }
        middle = files[len(files) // 2]
        at = published_at(middle) + timedelta(seconds=1)
        first_date = conn.execute(f"SELECT min(date) FROM {TABLE}").fetchone()[0]
        some_date = first_date + (published_at(middle).date() - first_date) / 2
        county = conn.execute(
            f"SELECT state, county FROM {TABLE} WHERE date = %s"
            " ORDER BY (state, county) <> (%s, %s), state, county LIMIT 1",
            (first_date, *COUNTY),
        ).fetchone()
        county_ms, county_rows = _latency(conn, AS_OF_COUNTY, (at, *county))
        state_ms, state_rows = _latency(conn, AS_OF_STATE_DATE, (at, some_date, county[0]))
    return {
        "seconds": round(total, 4),
        "rows": sum(file_digest(path).rows for path in files),
        "publications": len(files),
        "loaded": len(loads),
        "verify_seconds": round(checked, 2),
        "verified": not problems,
        "problems": problems,
        "history_bytes": sum(sizes[name] for name in HISTORY_TABLES),
        "latest_bytes": sizes[TABLE],
        "sizes": sizes,
        "as_of_county_ms": county_ms,
        "as_of_county_rows": county_rows,
        "as_of_state_date_ms": state_ms,
        "as_of_state_date_rows": state_rows,
        "as_of": {"at": at.isoformat(), "county": list(county), "state": county[0], "date": some_date.isoformat()},
        "profile": total_profile.summary(total),
        "loads": loads,
    }


def check_backfill(db_url: str, files: list[Path], workers: int = 1) -> list[str]:
    """What is wrong with the backfill's result: the latest table against the newest file (its rows, and the
    keys the publications dropped gone), and ``covid_us_county_daily_as_of`` at each publication's commit
    time + 1 s against that publication's file. Each check is one query, its digest computed by the server
    in one pass; ``workers`` of them run at once, each on a connection of its own. [] when all agree."""
    newest = files[-1]
    checks = [(TABLE, (), newest, f"the latest table is not {newest.name}")]
    for path in files:
        at = published_at(path) + timedelta(seconds=1)
        checks.append((f"{TABLE}_as_of(%s)", (at,), path, f"{TABLE}_as_of({at.isoformat()}) is not {path.name}"))

    def check(source: str, params: tuple, path: Path, problem: str) -> str | None:
        with psycopg.connect(db_url) as conn:
            return problem if query_digest(conn, source, params) != file_digest(path) else None

    with ThreadPoolExecutor(max_workers=workers) as pool:
        problems = [problem for problem in pool.map(lambda item: check(*item), checks) if problem]
    with psycopg.connect(db_url) as conn:
        if left := keys_present(conn, gone_keys(newest)):
            problems.append(f"keys dropped by the publications are in the latest table: {left}")
    return problems


def _latency(conn: psycopg.Connection, statement: str, params: tuple) -> tuple[float, int]:
    """The median of LATENCY_RUNS runs of the query (ms, to its last row fetched), and its rows."""
    times, rows = [], 0
    for _ in range(LATENCY_RUNS):
        began = time.perf_counter()
        rows = len(conn.execute(statement, params).fetchall())
        times.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(times), 2), rows


if __name__ == "__main__":
    sys.exit(
        run(
            Method(
                name="ours",
                cases=("first_load", "forced_reload", "revised_1pct", "next_day", "next_day_cold", "skip",
                       "backfill_30"),
                load=load,
                prepare=prepare,
                setup=setup,
                before=before,
                after=after,
                backfill=backfill,
            )
        )
    )  # fmt: skip
