"""Backfill as users do it: Airflow 3's backfill through the local stack's REST API, one pinned run a day.

The stack's fake GitHub has a NYT and a JHU commit a day before each backfilled day (tests/fake_github.py:
each NYT one revises its last 3 days), besides the real versions. Each run must load its own day's
publications, and the revisions view must list exactly what changed between consecutive ones.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from support import BACKFILL_DAYS, BACKFILL_FROM


@pytest.fixture(scope="module")
def db(local_airflow) -> str:
    return f"postgresql://postgres@127.0.0.1:{local_airflow.pg_port}/covid"


def query(db: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def test_the_backfill_creates_one_successful_run_per_day(backfilled):
    runs = backfilled["runs"]
    days = sorted(datetime.fromisoformat(r["logical_date"]).date() for r in runs)
    assert days == [BACKFILL_FROM + timedelta(days=k) for k in range(BACKFILL_DAYS)]
    assert {r["state"] for r in runs} == {"success"}


def test_each_backfilled_run_loaded_the_publications_of_the_day_before_its_date(backfilled, db, stack_github):
    rows = query(
        db,
        "SELECT run_id, sources->0->>'commit', sources->0->>'published_at', sources->1->>'commit', status"
        " FROM etl_runs WHERE run_id LIKE 'backfill__%%' ORDER BY run_id",
    )
    assert len(rows) == BACKFILL_DAYS
    for k, (run_id, nyt_commit, nyt_at, jhu_commit, status) in enumerate(rows):
        assert (status, nyt_commit, jhu_commit) == ("success", f"{k + 1:02d}" + "a" * 38, f"{k + 1:02d}" + "b" * 38)
        run_day = datetime.fromisoformat(run_id.removeprefix("backfill__")).date()
        assert datetime.fromisoformat(nyt_at).date() == run_day - timedelta(days=1)


def _versions(stack_github) -> list[tuple[datetime, dict[str, tuple[str, str]]]]:
    """The daily NYT publications, oldest first, as (commit time, {date: (cases, deaths)}), from their CSV."""
    repository = stack_github.repositories[("nytimes", "covid-19-data")]
    daily = [c for c in repository.commits if c.sha.endswith("a" * 38)]
    return [
        (
            commit.committed_at,
            {
                r["date"]: (r["cases"], r["deaths"])
                for r in csv.DictReader(io.StringIO(commit.content("us.csv").decode()))
            },
        )
        for commit in sorted(daily, key=lambda c: c.committed_at)
    ]


def test_the_revisions_view_lists_exactly_the_days_changed_between_consecutive_publications(
    backfilled, db, stack_github
):
    versions = _versions(stack_github)
    expected = sorted(
        (day, at.astimezone(UTC))
        for (_, old), (at, new) in zip(versions, versions[1:], strict=False)
        for day in old.keys() & new.keys()
        if old[day] != new[day]
    )
    rows = query(
        db,
        "SELECT date::text, published_at FROM covid_us_daily_revisions"
        " WHERE source = 'NYT' AND published_at > %s AND published_at <= %s ORDER BY 1, 2",
        (versions[0][0], versions[-1][0]),
    )
    assert len(expected) == 3 * (BACKFILL_DAYS - 1)
    assert [(day, at.astimezone(UTC)) for day, at in rows] == expected


def test_older_publications_backfilled_after_newer_ones_left_the_table_as_the_newest_say(backfilled, db):
    # The scheduler's own run loaded the newest publications first; the backfill's lost to them.
    # (Other tests' runs on this stack may load unpinned files, published when they ran.)
    stale = query(db, "SELECT sum(rows_stale) FROM etl_runs WHERE run_id LIKE 'backfill__%%'")[0][0]
    newest = query(db, "SELECT max(published_at) FROM covid_publications WHERE source = 'NYT' AND commit IS NOT NULL")[
        0
    ][0]
    assert stale > 0 and newest == datetime(2023, 1, 25, 12, tzinfo=UTC)
    table = dict(query(db, "SELECT date, cases FROM covid_us_daily"))
    as_of_now = dict(query(db, "SELECT date, cases FROM covid_us_daily_as_of(now())"))
    assert table == as_of_now
