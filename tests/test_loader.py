"""The load on a real PostgreSQL, through psycopg2 (execute_values) and psycopg 3 (COPY): history, newest
publication wins, as-of answers, counts, one transaction.

Expected tables and revisions come from tests/oracle.py (the standard library on the raw CSV text).
"""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import psycopg2
import pytest

from covid_etl.loader import load_national, record_run
from covid_etl.merge import merge_us, reported_recovered
from covid_etl.parsing import parse_jhu_us, parse_nyt
from covid_etl.records import LoadResult, Publication, RunInfo
from oracle import expected_counts, independent_merge, revised_days, stored_table
from support import fixture_text

DRIVERS = [pytest.param(psycopg2.connect, id="psycopg2"), pytest.param(psycopg.connect, id="psycopg3")]
NYT_VERSIONS = {
    "real/nyt-us-2020-08-13.csv": datetime(2020, 8, 14, 12, tzinfo=UTC),
    "real/nyt-us-2022-04-19.csv": datetime(2022, 4, 20, 12, tzinfo=UTC),
    "real/nyt-us-2023-01-24.csv": datetime(2023, 1, 25, 12, tzinfo=UTC),
}
JHU_VERSIONS = {
    "real/jhu-combined-2020-12-14.csv": datetime(2020, 12, 14, 6, 9, tzinfo=UTC),
    "real/jhu-combined-2021-03-17.csv": datetime(2021, 3, 17, 6, 8, tzinfo=UTC),
}
JHU_LATEST = "real/jhu-combined-2021-03-17.csv"
FIRST_DAYS = len(independent_merge("real/nyt-us-2020-08-13.csv", JHU_LATEST))  # 205: 2020-01-22 .. 2020-08-13


def publication(source: str, name: str, at: datetime, pinned: bool = True) -> Publication:
    """A pinned publication committed at ``at``, or an unpinned one, which counts from its run's start (now)."""
    return Publication(
        source=source,
        url=f"http://example/{name}",
        published_at=at if pinned else datetime.now(UTC),
        commit=f"{source.lower()}-{at:%Y%m%d%H%M}" if pinned else None,
        sha256="a" * 64,
        rows=1,
    )


def load(connect, db_url: str, nyt: str, jhu: str = JHU_LATEST, *, run_id: str = "run-1", pinned=True) -> LoadResult:
    """Load one NYT and one JHU fixture as the pipeline does, published at their (fixture) times."""
    nyt_days = parse_nyt(fixture_text(nyt), location=nyt)
    jhu_days = parse_jhu_us(fixture_text(jhu), location=jhu)
    all_times = {**NYT_VERSIONS, **JHU_VERSIONS}
    run = RunInfo(
        run_id=run_id,
        started_at=datetime.now(UTC),
        nyt=publication("NYT", nyt, all_times.get(nyt, datetime(2023, 1, 25, tzinfo=UTC)), pinned),
        jhu=publication("JHU", jhu, all_times.get(jhu, datetime(2021, 3, 17, tzinfo=UTC)), pinned),
    )
    conn = connect(db_url)
    try:
        return load_national(
            conn,
            nyt=nyt_days,
            jhu_recovered=reported_recovered(jhu_days),
            merged=merge_us(nyt_days, jhu_days),
            run=run,
        )
    finally:
        conn.close()


def query(db_url: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchall()


def as_of(db_url: str, at: datetime):
    rows = query(db_url, "SELECT date::text, cases, deaths, recovered FROM covid_us_daily_as_of(%s)", (at,))
    return {day: (cases, deaths, recovered) for day, cases, deaths, recovered in rows}


@pytest.mark.parametrize("connect", DRIVERS)
def test_first_load_inserts_every_day_and_keeps_each_days_first_values_as_history(connect, db_url):
    expected = independent_merge("real/nyt-us-2020-08-13.csv", JHU_LATEST)
    assert load(connect, db_url, "real/nyt-us-2020-08-13.csv") == LoadResult(len(expected), 0, 0, 0)
    assert stored_table(db_url) == expected
    assert query(db_url, "SELECT source, count(*) FROM covid_us_daily_history GROUP BY source ORDER BY 1") == [
        ("JHU", 420),
        ("NYT", 206),
    ]
    assert query(db_url, "SELECT count(*) FROM covid_us_daily_revisions") == [(0,)]


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_rerun_of_the_same_publications_changes_nothing(connect, db_url):
    load(connect, db_url, "real/nyt-us-2022-04-19.csv")
    loaded_at = query(db_url, "SELECT max(loaded_at) FROM covid_us_daily")
    history = query(db_url, "SELECT * FROM covid_us_daily_history ORDER BY 1, 2, 3")
    result = load(connect, db_url, "real/nyt-us-2022-04-19.csv", run_id="run-2")
    assert result == LoadResult(0, 0, len(stored_table(db_url)), 0)
    assert query(db_url, "SELECT max(loaded_at) FROM covid_us_daily") == loaded_at
    assert query(db_url, "SELECT * FROM covid_us_daily_history ORDER BY 1, 2, 3") == history


@pytest.mark.parametrize("connect", DRIVERS)
@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("real/nyt-us-2020-08-13.csv", "real/nyt-us-2022-04-19.csv", id="2020-08-13-to-2022-04-19"),
        pytest.param("real/nyt-us-2022-04-19.csv", "real/nyt-us-2023-01-24.csv", id="2022-04-19-to-2023-01-24"),
    ],
)
def test_a_newer_version_inserts_new_days_and_updates_and_records_only_revised_ones(connect, db_url, first, second):
    before, after = independent_merge(first, JHU_LATEST), independent_merge(second, JHU_LATEST)
    load(connect, db_url, first)
    result = load(connect, db_url, second, run_id="run-2")
    assert (result.inserted, result.updated, result.unchanged, result.stale) == (*expected_counts(before, after), 0)
    assert result.updated > 0 and stored_table(db_url) == after
    revisions = query(db_url, "SELECT date::text FROM covid_us_daily_revisions WHERE source = 'NYT' ORDER BY date")
    assert [day for (day,) in revisions] == revised_days(first, second)


@pytest.mark.parametrize("connect", DRIVERS)
def test_an_older_publication_loaded_later_loses_and_counts_its_differing_days_as_stale(connect, db_url):
    newer, older = "real/nyt-us-2023-01-24.csv", "real/nyt-us-2022-04-19.csv"
    load(connect, db_url, newer)
    table = stored_table(db_url)
    result = load(connect, db_url, older, run_id="run-2")
    incoming = independent_merge(older, JHU_LATEST)
    stale = sum(1 for day, values in incoming.items() if table[day] != values)
    assert result == LoadResult(inserted=0, updated=0, unchanged=len(incoming) - stale, stale=stale)
    assert stale > 0 and stored_table(db_url) == table


@pytest.mark.parametrize("connect", DRIVERS)
def test_loading_publications_in_any_order_gives_the_same_history_and_answers(connect, postgres_server):
    versions = list(NYT_VERSIONS)
    moments = [at + timedelta(hours=1) for at in NYT_VERSIONS.values()] + [datetime(2020, 9, 1, tzinfo=UTC)]
    answers = []
    for order in (versions, versions[::-1], [versions[1], versions[0], versions[2]]):
        db_url = postgres_server.create_database(f"order_{abs(hash(tuple(order))) % 10**8}")
        for number, name in enumerate(order):
            load(connect, db_url, name, run_id=f"run-{number}")
        answers.append(
            (
                query(
                    db_url,
                    "SELECT source, date, published_at, ident, cases, deaths, recovered"
                    " FROM covid_us_daily_history ORDER BY 1, 2, 3",
                ),
                query(db_url, "SELECT * FROM covid_us_daily_revisions ORDER BY date, source, published_at"),
                [as_of(db_url, at) for at in moments],
                stored_table(db_url),
            )
        )
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][3] == independent_merge(versions[-1], JHU_LATEST)


@pytest.mark.parametrize("connect", DRIVERS)
def test_as_of_a_time_between_publications_is_the_merge_of_the_ones_published_by_then(connect, db_url):
    for (nyt, jhu), number in zip(
        itertools.product(["real/nyt-us-2023-01-24.csv", "real/nyt-us-2020-08-13.csv"], list(JHU_VERSIONS)[::-1]),
        range(4),
        strict=True,
    ):
        load(connect, db_url, nyt, jhu, run_id=f"run-{number}")
    assert as_of(db_url, datetime(2020, 12, 15, tzinfo=UTC)) == independent_merge(
        "real/nyt-us-2020-08-13.csv", "real/jhu-combined-2020-12-14.csv"
    )
    assert as_of(db_url, datetime(2021, 3, 18, tzinfo=UTC)) == independent_merge(
        "real/nyt-us-2020-08-13.csv", JHU_LATEST
    )
    assert as_of(db_url, datetime(2020, 8, 1, tzinfo=UTC)) == {}
    assert stored_table(db_url) == as_of(db_url, datetime(2030, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("connect", DRIVERS)
def test_an_unpinned_load_counts_as_published_when_its_run_started(connect, db_url):
    load(connect, db_url, "real/nyt-us-2023-01-24.csv")
    # The older file, unpinned, "published" now: it is the newest NYT publication and wins.
    result = load(connect, db_url, "real/nyt-us-2022-04-19.csv", run_id="run-2", pinned=False)
    assert result.stale == 0 and result.updated > 0
    assert query(db_url, "SELECT ident FROM covid_publications WHERE commit IS NULL ORDER BY 1") == [
        ("run:run-2",),
        ("run:run-2",),
    ]


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_failure_mid_load_leaves_tables_history_and_run_log_as_they_were(connect, db_url):
    load(connect, db_url, "real/nyt-us-2020-08-13.csv")
    snapshot = [
        query(db_url, f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("covid_us_daily", "covid_us_daily_history", "covid_publications", "etl_runs")
    ]
    # A count the table's CHECK refuses, in the middle of an otherwise valid publication.
    nyt_days = [
        d if d.date.isoformat() != "2020-06-01" else type(d)(d.date, d.cases, -1)
        for d in parse_nyt(fixture_text("real/nyt-us-2022-04-19.csv"), location="x")
    ]
    jhu_days = parse_jhu_us(fixture_text(JHU_LATEST), location="jhu")
    run = RunInfo(
        run_id="run-2",
        started_at=datetime.now(UTC),
        nyt=publication("NYT", "broken", datetime(2022, 4, 20, tzinfo=UTC)),
        jhu=publication("JHU", "jhu", datetime(2021, 3, 17, 6, 8, tzinfo=UTC)),
    )
    conn = connect(db_url)
    try:
        with pytest.raises((psycopg.errors.CheckViolation, psycopg2.errors.CheckViolation)):
            load_national(
                conn,
                nyt=nyt_days,
                jhu_recovered=reported_recovered(jhu_days),
                merged=merge_us(nyt_days, jhu_days),
                run=run,
            )
    finally:
        conn.close()
    assert [
        query(db_url, f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("covid_us_daily", "covid_us_daily_history", "covid_publications", "etl_runs")
    ] == snapshot


@pytest.mark.parametrize("connect", DRIVERS)
def test_records_each_run_with_its_publications_and_counts(connect, db_url):
    load(connect, db_url, "real/nyt-us-2020-08-13.csv")
    [(status, dataset, sources, inserted, stale, first, last)] = query(
        db_url,
        "SELECT status, dataset, sources, rows_inserted, rows_stale, first_date::text, last_date::text FROM etl_runs",
    )
    assert (status, dataset, inserted, stale, first, last) == (
        "success",
        "national",
        FIRST_DAYS,
        0,
        "2020-01-22",
        "2020-08-13",
    )
    assert [(s["source"], s["commit"], s["published_at"]) for s in sources] == [
        ("NYT", "nyt-202008141200", "2020-08-14T12:00:00+00:00"),
        ("JHU", "jhu-202103170608", "2021-03-17T06:08:00+00:00"),
    ]


def test_records_a_run_that_loaded_nothing_in_a_fresh_database(db_url):
    with psycopg.connect(db_url) as conn:
        record_run(conn, RunInfo(run_id="run-9", started_at=datetime.now(UTC)), status="failed", error="parse_nyt: bad")
        assert conn.execute("SELECT run_id, status, error, rows_inserted FROM etl_runs").fetchall() == [
            ("run-9", "failed", "parse_nyt: bad", None)
        ]
        assert conn.execute("SELECT count(*) FROM covid_us_daily").fetchone() == (0,)


def test_concurrent_loads_wait_for_each_other(db_url):
    holder = psycopg.connect(db_url)
    holder.execute("SELECT pg_advisory_xact_lock(hashtext('covid_etl.covid_us_daily'))")  # opens a transaction
    results = []
    loader = threading.Thread(
        target=lambda: results.append(load(psycopg.connect, db_url, "real/nyt-us-2020-08-13.csv"))
    )
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
    assert results == [LoadResult(inserted=FIRST_DAYS, updated=0, unchanged=0)]


def test_loads_through_postgres_hook_which_hands_out_psycopg3(db_url, monkeypatch):
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    monkeypatch.setenv("AIRFLOW_CONN_COVID_DB", db_url)
    hook_connect = lambda url: PostgresHook(postgres_conn_id="covid_db").get_conn()  # noqa: E731
    assert isinstance(hook_connect(db_url), psycopg.Connection)
    assert load(hook_connect, db_url, "real/nyt-us-2020-08-13.csv") == LoadResult(
        inserted=FIRST_DAYS, updated=0, unchanged=0
    )


def _load_rows(db_url: str, nyt_rows: list[tuple], at: datetime, run_id: str) -> None:
    from covid_etl.records import CovidDay, NytDay

    nyt_days = [NytDay(day, cases, deaths) for day, cases, deaths in nyt_rows]
    recovered = {D1: 0, D2: 0}  # one JHU publication, loaded by the first run
    run = RunInfo(
        run_id=run_id,
        started_at=at,
        nyt=publication("NYT", run_id, at),
        jhu=publication("JHU", "jhu", datetime(2020, 3, 1, tzinfo=UTC)),
    )
    merged = [CovidDay(d.date, d.cases, d.deaths, 0) for d in nyt_days]
    with psycopg.connect(db_url) as conn:
        load_national(conn, nyt=nyt_days, jhu_recovered=recovered, merged=merged, run=run)


# Three publications of one day: revised, then revised back; and a second day that appears later.
D1, D2 = datetime(2020, 3, 1).date(), datetime(2020, 3, 2).date()
SMALL_VERSIONS = [
    ([(D1, 10, 1)], datetime(2020, 3, 2, tzinfo=UTC)),
    ([(D1, 11, 1), (D2, 20, 2)], datetime(2020, 3, 3, tzinfo=UTC)),
    ([(D1, 10, 1), (D2, 20, 3)], datetime(2020, 3, 4, tzinfo=UTC)),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))), ids=lambda o: "-".join(map(str, o)))
def test_a_revision_reverted_later_is_kept_whatever_the_loading_order(postgres_server, order):
    db_url = postgres_server.create_database("small_" + "".join(map(str, order)))
    for index in order:
        rows, at = SMALL_VERSIONS[index]
        _load_rows(db_url, rows, at, run_id=f"v{index}")
    revisions = query(
        db_url,
        "SELECT date::text, published_at::date::text, old_cases, new_cases, old_deaths, new_deaths"
        " FROM covid_us_daily_revisions WHERE source = 'NYT' ORDER BY date, published_at",
    )
    assert revisions == [
        ("2020-03-01", "2020-03-03", 10, 11, 1, 1),
        ("2020-03-01", "2020-03-04", 11, 10, 1, 1),
        ("2020-03-02", "2020-03-04", 20, 20, 2, 3),
    ]
    assert as_of(db_url, datetime(2020, 3, 3, 12, tzinfo=UTC)) == {"2020-03-01": (11, 1, 0), "2020-03-02": (20, 2, 0)}
    assert stored_table(db_url) == {"2020-03-01": (10, 1, 0), "2020-03-02": (20, 3, 0)}
