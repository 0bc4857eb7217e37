"""publish_dashboard's read (include/covid_etl/dashboard.py, include/sql/dashboard.sql) on a real PostgreSQL.

The task runs on a worker and publishes what the dashboard shows as its XCom; these tests pin the
document down: the rows as stored, the runs newest first, and a size far below what an XCom should carry.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import psycopg
import psycopg2
import pytest

from covid_etl.dashboard import PAYLOAD_VERSION, RUN_LIMIT, daily_columns, read_payload
from covid_etl.merge import merge_us
from covid_etl.parsing import parse_jhu_us, parse_nyt
from covid_etl.sql import read_sql
from support import fixture_text

DRIVERS = [pytest.param(psycopg2.connect, id="psycopg2"), pytest.param(psycopg.connect, id="psycopg3")]


@pytest.fixture
def tables(db_url) -> str:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(read_sql("create_tables"))
    return db_url


def insert_days(db_url: str, rows) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO covid_us_daily (date, cases, deaths, recovered, run_id) VALUES (%s, %s, %s, %s, 'test')", rows
        )


def insert_run(db_url: str, run_id: str, status: str, started_at: datetime, **columns) -> None:
    values = {"run_id": run_id, "status": status, "started_at": started_at, "finished_at": started_at, **columns}
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO etl_runs ({', '.join(values)}) VALUES ({', '.join(['%s'] * len(values))})",
            list(values.values()),
        )


def publish(connect, db_url: str) -> dict:
    conn = connect(db_url)
    try:
        return read_payload(conn, run_id="manual__test")
    finally:
        conn.close()


def real_rows():
    nyt = parse_nyt(fixture_text("real/nyt-us-2023-01-24.csv"), location="nyt")
    jhu = parse_jhu_us(fixture_text("jhu/combined-us-through-2021-09.csv"), location="jhu")
    return [(d.date, d.cases, d.deaths, d.recovered) for d in merge_us(nyt, jhu)]


@pytest.mark.parametrize("connect", DRIVERS)
def test_publishes_every_stored_row_as_columns_from_the_first_date(connect, tables):
    rows = real_rows()
    insert_days(tables, rows)

    national = publish(connect, tables)["national"]

    assert national["first_date"] == "2020-01-22" and len(national["cases"]) == len(rows) == 609
    assert [
        (date.fromisoformat(national["first_date"]) + timedelta(days=i), c, d, r)
        for i, (c, d, r) in enumerate(zip(national["cases"], national["deaths"], national["recovered"], strict=True))
    ] == rows
    assert national["recovered"][rows.index(next(r for r in rows if r[0] == date(2020, 12, 14)))] is None


def test_a_missing_day_is_a_null_in_every_column():
    rows = [(date(2020, 3, 1), 1, 0, 0), (date(2020, 3, 3), 5, 1, None)]
    assert daily_columns(rows) == {
        "first_date": "2020-03-01",
        "cases": [1, None, 5],
        "deaths": [0, None, 1],
        "recovered": [0, None, None],
    }


@pytest.mark.parametrize("connect", DRIVERS)
def test_runs_come_newest_first_limited_and_the_last_success_ignores_later_failures(connect, tables):
    start = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
    for i in range(RUN_LIMIT + 3):
        insert_run(tables, f"scheduled__{i}", "success", start + timedelta(days=i), rows_inserted=i)
    insert_run(tables, "manual__broken", "failed", start + timedelta(days=30), error="NYT: line 7: bad date")

    payload = publish(connect, tables)

    assert [r["run_id"] for r in payload["runs"]] == ["manual__broken"] + [
        f"scheduled__{i}" for i in range(RUN_LIMIT + 2, 3, -1)
    ]
    assert payload["runs"][0]["error"] == "NYT: line 7: bad date" and payload["runs"][1]["rows_inserted"] == 12
    assert datetime.fromisoformat(payload["last_success_at"]) == start + timedelta(days=RUN_LIMIT + 2)
    assert (payload["version"], payload["run_id"]) == (PAYLOAD_VERSION, "manual__test")


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_database_without_the_tables_yet_publishes_an_empty_document(connect, db_url):
    payload = publish(connect, db_url)

    assert payload["national"] == {"first_date": None, "cases": [], "deaths": [], "recovered": []}
    assert (payload["runs"], payload["last_success_at"]) == ([], None)


def test_other_database_errors_are_not_hidden(db_url):
    conn = psycopg.connect(db_url)
    conn.close()
    with pytest.raises(psycopg.OperationalError):
        read_payload(conn, run_id="manual__test")


def test_the_document_of_the_whole_series_is_far_below_a_megabyte(tables):
    rows = real_rows()
    insert_days(tables, [(day + timedelta(days=len(rows) * k), *v) for k in range(2) for day, *v in rows])
    for i in range(RUN_LIMIT):
        insert_run(tables, f"scheduled__{i}", "success", datetime(2026, 4, 1, tzinfo=UTC), error="x" * 200)

    size = len(json.dumps(publish(psycopg.connect, tables)))

    assert size < 64 * 1024, size  # 1,218 days and 10 runs


def test_the_states_view_is_published_once_its_tables_exist(tables, db_url):
    from covid_etl.sql import read_sql as sql

    empty = publish(psycopg.connect, db_url)
    assert empty["states"] == {"dates": [], "states": [], "avg7_per_100k": []} and empty["counties"] == []
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql("create_datasets"))
        conn.execute(
            "INSERT INTO covid_us_state_daily (date, state, fips, cases, deaths, run_id)"
            " SELECT d::date, 'Ohio', '39', 100 * (d::date - '2020-03-01'::date), 0, 't'"
            " FROM generate_series('2020-03-01'::date, '2020-03-15', '1 day') d"
        )
    states = publish(psycopg.connect, db_url)["states"]
    # 100 new cases a day in Ohio (11,689,100 people in the reference table).
    assert states["dates"] == ["2020-03-01", "2020-03-08", "2020-03-15"]
    assert states["states"] == [["Ohio", "39", 11689100]]
    assert states["avg7_per_100k"] == [
        [None],
        [round(100 * 100_000 / 11689100, 2)],
        [round(100 * 100_000 / 11689100, 2)],
    ]
