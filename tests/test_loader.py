"""The upsert on a real PostgreSQL, through psycopg2 (execute_values) and psycopg 3 (unnest)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import psycopg
import psycopg2
import pytest

from covid_etl.loader import load_days, record_failed_run
from covid_etl.merge import merge_us
from covid_etl.parsing import parse_jhu_us, parse_nyt
from covid_etl.records import CovidDay, LoadResult, RunInfo, SourceFile
from support import fixture_text

DRIVERS = [pytest.param(psycopg2.connect, id="psycopg2"), pytest.param(psycopg.connect, id="psycopg3")]
JHU = parse_jhu_us(fixture_text("jhu/combined-us-through-2021-09.csv"), location="jhu")


def merged(nyt_name: str) -> list[CovidDay]:
    return merge_us(parse_nyt(fixture_text(f"real/{nyt_name}"), location=nyt_name), JHU)


def run(run_id: str = "run-1") -> RunInfo:
    return RunInfo(
        run_id=run_id,
        started_at=datetime.now(UTC),
        nyt=SourceFile(url="http://example/us.csv", sha256="a" * 64, rows=1100),
        jhu=SourceFile(url="http://example/jhu.csv", sha256="b" * 64, rows=609),
    )


def expected_counts(before: list[CovidDay], after: list[CovidDay]) -> LoadResult:
    """An independent oracle: compare the two versions day by day."""
    old = {d.date: d for d in before}
    inserted = sum(1 for d in after if d.date not in old)
    updated = sum(1 for d in after if d.date in old and old[d.date] != d)
    return LoadResult(inserted=inserted, updated=updated, unchanged=len(after) - inserted - updated)


def stored(db_url: str) -> list[CovidDay]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT date, cases, deaths, recovered FROM covid_us_daily ORDER BY date").fetchall()
    return [CovidDay(*row) for row in rows]


def load(connect, db_url: str, days: list[CovidDay], run_id: str = "run-1") -> LoadResult:
    conn = connect(db_url)
    try:
        return load_days(conn, days, run(run_id))
    finally:
        conn.close()


@pytest.mark.parametrize("connect", DRIVERS)
def test_first_load_inserts_every_day_and_creates_the_tables(connect, db_url):
    days = merged("nyt-us-2020-08-13.csv")
    assert load(connect, db_url, days) == LoadResult(inserted=len(days), updated=0, unchanged=0)
    assert stored(db_url) == days


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_rerun_of_the_same_file_changes_nothing(connect, db_url):
    days = merged("nyt-us-2022-04-19.csv")
    load(connect, db_url, days)
    with psycopg.connect(db_url) as conn:
        loaded_at = conn.execute("SELECT max(loaded_at) FROM covid_us_daily").fetchone()[0]
    assert load(connect, db_url, days, "run-2") == LoadResult(inserted=0, updated=0, unchanged=len(days))
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT max(loaded_at) FROM covid_us_daily").fetchone()[0] == loaded_at


@pytest.mark.parametrize("connect", DRIVERS)
@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("nyt-us-2020-08-13.csv", "nyt-us-2022-04-19.csv", id="2020-08-13-to-2022-04-19"),
        pytest.param("nyt-us-2022-04-19.csv", "nyt-us-2023-01-24.csv", id="2022-04-19-to-2023-01-24"),
    ],
)
def test_a_newer_version_inserts_new_days_and_updates_only_revised_ones(connect, db_url, first, second):
    before, after = merged(first), merged(second)
    load(connect, db_url, before)
    result = load(connect, db_url, after, "run-2")
    assert result == expected_counts(before, after)
    assert result.updated > 0 and result.unchanged > 0 and result.total == len(after)
    assert stored(db_url) == after


@pytest.mark.parametrize("connect", DRIVERS)
def test_stores_not_reported_recovered_as_null_and_counts_its_change_as_an_update(connect, db_url):
    day = date(2021, 1, 5)
    load(connect, db_url, [CovidDay(day, 10, 1, None)])
    assert stored(db_url) == [CovidDay(day, 10, 1, None)]
    assert load(connect, db_url, [CovidDay(day, 10, 1, None)]) == LoadResult(0, 0, 1)
    assert load(connect, db_url, [CovidDay(day, 10, 1, 0)]) == LoadResult(0, 1, 0)


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_failure_mid_load_leaves_the_table_and_the_run_log_as_they_were(connect, db_url):
    before = merged("nyt-us-2020-08-13.csv")
    load(connect, db_url, before)
    after = merged("nyt-us-2022-04-19.csv")
    # A row the table's CHECK refuses, in the middle of an otherwise valid batch.
    broken = after[:300] + [CovidDay(after[300].date, -1, 0, None)] + after[301:]
    with pytest.raises((psycopg.errors.CheckViolation, psycopg2.errors.CheckViolation)):
        load(connect, db_url, broken, "run-2")
    assert stored(db_url) == before
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT run_id FROM etl_runs").fetchall() == [("run-1",)]


@pytest.mark.parametrize("connect", DRIVERS)
def test_records_each_successful_run_with_its_sources_and_counts(connect, db_url):
    days = merged("nyt-us-2020-08-13.csv")
    load(connect, db_url, days)
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT status, nyt_url, nyt_sha256, nyt_rows, jhu_rows, rows_inserted, rows_updated, rows_unchanged,"
            " first_date, last_date, error, finished_at >= started_at FROM etl_runs"
        ).fetchone()
    assert row == (
        "success",
        "http://example/us.csv",
        "a" * 64,
        1100,
        609,
        len(days),
        0,
        0,
        days[0].date,
        days[-1].date,
        None,
        True,
    )


def test_records_a_failed_run_with_its_error_in_a_fresh_database(db_url):
    with psycopg.connect(db_url) as conn:
        record_failed_run(conn, RunInfo(run_id="run-9", started_at=datetime.now(UTC)), "parse_nyt: bad")
        assert conn.execute("SELECT run_id, status, error, rows_inserted FROM etl_runs").fetchall() == [
            ("run-9", "failed", "parse_nyt: bad", None)
        ]
        assert conn.execute("SELECT count(*) FROM covid_us_daily").fetchone() == (0,)


def test_concurrent_loads_wait_for_each_other(db_url):
    days = merged("nyt-us-2020-08-13.csv")
    holder = psycopg.connect(db_url)
    holder.execute("SELECT pg_advisory_xact_lock(hashtext('covid_etl.covid_us_daily'))")  # opens a transaction
    results = []
    loader = threading.Thread(target=lambda: results.append(load(psycopg.connect, db_url, days)))
    loader.start()
    with psycopg.connect(db_url, autocommit=True) as observer:
        for _ in range(100):
            waiting = observer.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
            ).fetchone()[0]
            if waiting:
                break
            time.sleep(0.05)
    assert waiting == 1 and results == []
    holder.rollback()
    holder.close()
    loader.join(timeout=30)
    assert results == [LoadResult(inserted=len(days), updated=0, unchanged=0)]


def test_loads_through_postgres_hook_which_hands_out_psycopg3(db_url, monkeypatch):
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    monkeypatch.setenv("AIRFLOW_CONN_COVID_DB", db_url)
    conn = PostgresHook(postgres_conn_id="covid_db").get_conn()
    try:
        assert isinstance(conn, psycopg.Connection)
        days = merged("nyt-us-2020-08-13.csv")
        assert load_days(conn, days, run()) == LoadResult(inserted=len(days), updated=0, unchanged=0)
    finally:
        conn.close()
