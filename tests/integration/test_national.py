"""The national series on a real PostgreSQL, through psycopg 3 and psycopg2: NYT's and JHU's publications
loaded by the one loader, merged by one SQL step into covid_us_daily; its history (each source's
changes), the newest publication wins, as-of answers, counts, one transaction per load.

Expected tables and revisions come from tests/oracle.py (the standard library on the raw CSV text).
"""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, date, datetime, timedelta

import psycopg
import psycopg2
import pytest

from covid_etl.errors import EmptyMergeError, InvalidSourceError
from covid_etl.load.runs import record_run
from covid_etl.records import RunRecord
from covid_etl.sources.specs import JHU_US, NYT_US
from loads import changes
from national_loads import (
    JHU_LATEST,
    JHU_VERSIONS,
    NYT_VERSIONS,
    Version,
    as_of,
    counts,
    load,
    load_versions,
    query,
)
from oracle import expected_counts, independent_merge, revised_days, stored_table
from support import fixture_bytes

DRIVERS = [pytest.param(psycopg2.connect, id="psycopg2"), pytest.param(psycopg.connect, id="psycopg3")]
FIRST_NYT = "real/nyt-us-2020-08-13.csv"
FIRST_DAYS = len(independent_merge(FIRST_NYT, JHU_LATEST))  # 205: 2020-01-22 .. 2020-08-13
# What a load writes: the two sources' tables and history, the shared records, and the merge.
WRITTEN = (
    "nyt_us_daily",
    "nyt_us_daily_changes",
    "jhu_us_daily",
    "jhu_us_daily_changes",
    "dataset_publications",
    "dataset_fingerprints",
    "dataset_fingerprinted",
    "etl_runs",
    "covid_us_daily",
)


def snapshot(db_url: str) -> list[list[tuple]]:
    """Every row of what a load writes, as text (a scope's bounds may be infinite dates)."""
    return [sorted(query(db_url, f"SELECT t::text FROM {table} t")) for table in WRITTEN]


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_first_load_inserts_every_day_and_writes_each_sources_rows_once_as_the_base_of_its_history(connect, db_url):
    expected = independent_merge(FIRST_NYT, JHU_LATEST)
    done = load(connect, db_url, FIRST_NYT)
    assert counts(done.merge) == (len(expected), 0, 0, 0, 0)
    assert (done.nyt.inserted, done.jhu.inserted) == (206, 420)
    assert stored_table(db_url) == expected
    # The first publication of its dates is the base: its rows are in the table, no change is stored.
    assert query(db_url, "SELECT (SELECT count(*) FROM nyt_us_daily), (SELECT count(*) FROM jhu_us_daily)") == [
        (206, 420)
    ]
    assert query(
        db_url, "SELECT count(*) FROM nyt_us_daily_changes UNION ALL SELECT count(*) FROM jhu_us_daily_changes"
    ) == [(0,), (0,)]
    assert query(db_url, "SELECT count(*) FROM covid_us_daily_revisions") == [(0,)]
    assert as_of(db_url, JHU_VERSIONS[JHU_LATEST] + timedelta(hours=1)) == expected


@pytest.mark.parametrize("connect", DRIVERS)
def test_a_rerun_of_the_same_publications_changes_nothing(connect, db_url):
    load(connect, db_url, "real/nyt-us-2022-04-19.csv")
    before = snapshot(db_url)
    loaded_at = query(db_url, "SELECT max(loaded_at) FROM covid_us_daily")
    done = load(connect, db_url, "real/nyt-us-2022-04-19.csv", run_id="run-2")
    assert counts(done.merge) == (0, 0, 0, len(stored_table(db_url)), 0)
    assert done.nyt.files == {"us.csv": "loaded before: not read again"}
    assert done.jhu.files == {"data/time-series-19-covid-combined.csv": "loaded before: not read again"}
    assert (done.nyt.sent, done.jhu.sent) == (0, 0)
    assert query(db_url, "SELECT max(loaded_at) FROM covid_us_daily") == loaded_at
    after = snapshot(db_url)
    assert after[:7] == before[:7] and after[8] == before[8]  # only etl_runs grew, by the rerun's records
    assert len(after[7]) == len(before[7]) + 3


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
    done = load(connect, db_url, second, run_id="run-2")
    inserted, updated, unchanged = expected_counts(before, after)
    assert counts(done.merge) == (inserted, updated, 0, unchanged, 0)
    assert updated > 0 and stored_table(db_url) == after
    revisions = query(db_url, "SELECT date::text FROM covid_us_daily_revisions WHERE source = 'NYT' ORDER BY date")
    assert [day for (day,) in revisions] == revised_days(first, second)
    # NYT's file has a line a day, each day its own chunk: only new and revised days' lines were sent.
    assert done.nyt.sent == done.nyt.inserted + done.nyt.updated < done.nyt.rows


@pytest.mark.parametrize("connect", DRIVERS)
def test_an_older_publication_loaded_later_loses_and_counts_its_differing_days_as_stale(connect, db_url):
    newer, older = "real/nyt-us-2023-01-24.csv", "real/nyt-us-2022-04-19.csv"
    load(connect, db_url, newer)
    table = stored_table(db_url)
    done = load(connect, db_url, older, run_id="run-2")
    incoming = independent_merge(older, JHU_LATEST)
    stale = sum(1 for day, values in incoming.items() if table[day] != values)
    assert stale > 0 and stored_table(db_url) == table
    # The merge counts the table's days (none changed) and the run's publication's days that lost.
    assert counts(done.merge) == (0, 0, 0, len(table), stale)
    # NYT's load counts its own rows: those that differ from NYT's table are stale, the others unchanged.
    nyt_stale = len(revised_days(older, newer))
    assert counts(done.nyt) == (0, 0, 0, done.nyt.rows - nyt_stale, nyt_stale) and nyt_stale > stale


ORDER_MOMENTS = [at + timedelta(hours=1) for at in NYT_VERSIONS.values()] + [datetime(2020, 9, 1, tzinfo=UTC)]


@pytest.mark.parametrize("connect", DRIVERS)
def test_loading_publications_in_any_order_gives_the_same_history_and_answers(connect, postgres_server):
    versions = list(NYT_VERSIONS)
    answers = []
    for number, order in enumerate((versions, versions[::-1], [versions[1], versions[0], versions[2]])):
        db_url = postgres_server.create_database(f"national_order_{connect.__module__.split('.')[0]}_{number}")
        for run, name in enumerate(order):
            load(connect, db_url, name, run_id=f"run-{run}")
        answers.append(
            (
                changes(db_url, NYT_US),
                changes(db_url, JHU_US),
                query(
                    db_url,
                    "SELECT date, source, published_at, commit, previous_published_at, old_cases, new_cases,"
                    " old_deaths, new_deaths FROM covid_us_daily_revisions ORDER BY date, source, published_at",
                ),
                [as_of(db_url, at) for at in ORDER_MOMENTS],
                stored_table(db_url),
            )
        )
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][4] == answers[0][3][2] == independent_merge(versions[-1], JHU_LATEST)
    assert answers[0][3][0] == {}  # before JHU's publication the join is empty
    assert len(answers[0][2]) > 0  # revisions


@pytest.mark.parametrize("connect", DRIVERS)
def test_as_of_a_time_between_publications_is_the_merge_of_the_ones_published_by_then(connect, db_url):
    runs = itertools.product(
        ["real/nyt-us-2023-01-24.csv", FIRST_NYT],
        ["real/jhu-combined-2021-03-17.csv", "real/jhu-combined-2020-12-14.csv"],
    )
    for number, (nyt, jhu) in enumerate(runs):
        load(connect, db_url, nyt, jhu, run_id=f"run-{number}")
    assert as_of(db_url, datetime(2020, 12, 15, tzinfo=UTC)) == independent_merge(
        FIRST_NYT, "real/jhu-combined-2020-12-14.csv"
    )
    assert as_of(db_url, datetime(2021, 3, 18, tzinfo=UTC)) == independent_merge(FIRST_NYT, JHU_LATEST)
    assert as_of(db_url, datetime(2020, 8, 1, tzinfo=UTC)) == {}
    assert stored_table(db_url) == as_of(db_url, datetime(2030, 1, 1, tzinfo=UTC))
    assert stored_table(db_url) == independent_merge("real/nyt-us-2023-01-24.csv", JHU_LATEST)


@pytest.mark.parametrize("connect", DRIVERS)
def test_an_unpinned_load_counts_as_published_when_its_run_started(connect, db_url):
    load(connect, db_url, "real/nyt-us-2023-01-24.csv")
    # The older file, unpinned, "published" now: it is the newest NYT publication and wins.
    done = load(connect, db_url, "real/nyt-us-2022-04-19.csv", run_id="run-2", pinned=False)
    assert done.merge.stale == 0 and done.merge.updated > 0
    assert stored_table(db_url) == independent_merge("real/nyt-us-2022-04-19.csv", JHU_LATEST)
    assert query(db_url, "SELECT dataset, ident FROM dataset_publications WHERE commit IS NULL ORDER BY 1") == [
        ("jhu", "run:run-2"),
        ("nyt", "run:run-2"),
    ]


def broken(name: str, day: str, line: str) -> bytes:
    """The fixture with the line of ``day`` replaced."""
    lines = fixture_bytes(name).decode().split("\n")
    [at] = [number for number, old in enumerate(lines) if old.startswith(day)]
    return "\n".join([*lines[:at], line, *lines[at + 1 :]]).encode()


@pytest.mark.parametrize("connect", DRIVERS)
@pytest.mark.parametrize("compare", [True, False], ids=["compared", "sent-whole"])
@pytest.mark.parametrize(
    ("line", "number", "problem"),
    [
        pytest.param("2022-04-19,80000000,-1", 821, "deaths is not a non-negative integer", id="bad-count-last-line"),
        pytest.param(
            "2021-06-01,33229123,594834\n2021-06-01,33229124,594834",
            500,
            "date already given on line 499",
            id="repeated-date-mid-file",
        ),
    ],
)
def test_a_failure_mid_load_leaves_the_tables_history_and_run_log_as_they_were(
    connect, db_url, compare, line, number, problem
):
    load(connect, db_url, FIRST_NYT)
    before = snapshot(db_url)
    name = "real/nyt-us-2022-04-19.csv"
    bad = Version(name, broken(name, line[:10], line), NYT_VERSIONS[name])
    with pytest.raises(InvalidSourceError) as caught:
        load_versions(
            connect, db_url, bad, Version.fixture(JHU_LATEST, JHU_VERSIONS[JHU_LATEST]), run_id="run-2", compare=compare
        )
    assert caught.value.line == number and problem in caught.value.problem
    assert snapshot(db_url) == before


@pytest.mark.parametrize("connect", DRIVERS)
def test_records_each_run_with_its_publications_and_counts(connect, db_url):
    load(connect, db_url, FIRST_NYT)
    found = query(
        db_url,
        "SELECT dataset, status, sources, rows_inserted, rows_stale, first_date::text, last_date::text FROM etl_runs"
        " ORDER BY id",
    )
    assert [row[:2] + row[3:] for row in found] == [
        ("nyt", "success", 206, 0, "2020-01-21", "2020-08-13"),
        ("jhu", "success", 420, 0, "2020-01-22", "2021-03-16"),
        ("national", "success", FIRST_DAYS, 0, "2020-01-22", "2020-08-13"),
    ]
    assert [(s["dataset"], s["commit"], s["published_at"]) for s in found[2][2]] == [
        ("nyt", "nyt-202008141200", "2020-08-14T12:00:00+00:00"),
        ("jhu", "jhu-202103170609", "2021-03-17T06:09:33+00:00"),
    ]


def test_records_a_run_that_loaded_nothing_in_a_fresh_database(db_url):
    with psycopg.connect(db_url) as conn:
        record_run(conn, RunRecord("run-9", "national", datetime.now(UTC), "failed", error="nyt.load: bad"))
    assert query(db_url, "SELECT run_id, dataset, status, error, rows_inserted FROM etl_runs") == [
        ("run-9", "national", "failed", "nyt.load: bad", None)
    ]
    assert query(db_url, "SELECT count(*) FROM covid_us_daily") == [(0,)]


def test_concurrent_loads_of_a_source_wait_for_each_other(db_url):
    with psycopg.connect(db_url) as conn:  # the schema first: a load creates it under a lock of its own
        from covid_etl.load.database import ensure_schema

        ensure_schema(conn)
    holder = psycopg.connect(db_url)
    holder.execute("SELECT pg_advisory_xact_lock(hashtext('covid_etl.nyt_us_daily'))")  # opens a transaction
    results = []
    loader = threading.Thread(target=lambda: results.append(load(psycopg.connect, db_url, FIRST_NYT)))
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
    assert [counts(done.merge) for done in results] == [(FIRST_DAYS, 0, 0, 0, 0)]


def test_loads_through_postgres_hook_which_hands_out_psycopg3(db_url, monkeypatch):
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    monkeypatch.setenv("AIRFLOW_CONN_COVID_DB", db_url)
    hook_connect = lambda url: PostgresHook(postgres_conn_id="covid_db").get_conn()  # noqa: E731
    assert isinstance(hook_connect(db_url), psycopg.Connection)
    assert counts(load(hook_connect, db_url, FIRST_NYT).merge) == (FIRST_DAYS, 0, 0, 0, 0)


# -- the merge --------------------------------------------------------------------------------------------

D1, D2, D3, D4 = (date(2020, 3, day) for day in (1, 2, 3, 4))
JHU_HEADER = "Date,Country/Region,Province/State,Recovered\n"


def nyt_version(rows, at: datetime, name: str = "nyt.csv") -> Version:
    text = "date,cases,deaths\n" + "".join(f"{day},{cases},{deaths}\n" for day, cases, deaths in rows)
    return Version(name, text.encode(), at)


def jhu_version(rows, at: datetime, name: str = "jhu.csv") -> Version:
    text = JHU_HEADER + "".join(f"{day},US,,{recovered}\n" for day, recovered in rows)
    return Version(name, text.encode(), at)


def test_the_merge_keeps_only_dates_present_in_both_sources(db_url):
    at = datetime(2020, 3, 5, tzinfo=UTC)
    load_versions(
        psycopg.connect,
        db_url,
        nyt_version([(D1, 1, 0), (D2, 2, 0), (D3, 3, 1)], at),
        jhu_version([(D2, 5), (D4, 6)], at),
        run_id="run-1",
    )
    assert stored_table(db_url) == {"2020-03-02": (2, 0, 5)}


def test_the_merge_takes_cases_and_deaths_from_nyt_and_recovered_from_jhu_on_real_files(db_url):
    jhu = "jhu/combined-us-through-2021-09.csv"
    load(psycopg.connect, db_url, "real/nyt-us-2023-01-24.csv", jhu)
    merged = stored_table(db_url)
    assert merged == independent_merge("real/nyt-us-2023-01-24.csv", jhu) and len(merged) == 609
    nyt = {row[0]: row[1:] for row in query(db_url, "SELECT date::text, cases, deaths FROM nyt_us_daily")}
    assert merged["2020-06-23"] == (*nyt["2020-06-23"], 647548)
    # JHU stopped reporting US recoveries: NULL from 2020-12-14; a 0 before the first recovery is a 0.
    assert merged["2020-12-13"][2] == 6298082
    assert all(values[2] is None for day, values in merged.items() if day >= "2020-12-14")
    assert merged["2020-01-22"][2] == merged["2020-02-07"][2] == 0
    days = list(as_of(db_url, datetime(2030, 1, 1, tzinfo=UTC)))  # covid_us_daily_as_of's rows, in its order
    assert days == sorted(merged)


@pytest.mark.parametrize(
    ("nyt", "jhu"),
    [
        pytest.param(
            nyt_version([(D1, 1, 0)], datetime(2020, 3, 5, tzinfo=UTC)),
            jhu_version([(D2, 0)], datetime(2020, 3, 5, tzinfo=UTC)),
            id="disjoint-dates",
        ),
        pytest.param(
            Version.fixture("nyt/valid-small.csv", datetime(2020, 3, 5, tzinfo=UTC)),
            Version.fixture("jhu/no-shared-date.csv", datetime(2020, 3, 5, tzinfo=UTC)),
            id="fixture-files",
        ),
    ],
)
def test_the_merge_rejects_sources_that_share_no_date_and_writes_nothing(db_url, nyt, jhu):
    with pytest.raises(EmptyMergeError, match="share no date"):
        load_versions(psycopg.connect, db_url, nyt, jhu, run_id="run-1")
    assert query(db_url, "SELECT count(*) FROM covid_us_daily") == [(0,)]
    assert query(db_url, "SELECT dataset FROM etl_runs ORDER BY id") == [("nyt",), ("jhu",)]  # the sources loaded


# Three NYT publications of one day: revised, then revised back; and a second day that appears later.
SMALL_VERSIONS = [
    ([(D1, 10, 1)], datetime(2020, 3, 2, tzinfo=UTC)),
    ([(D1, 11, 1), (D2, 20, 2)], datetime(2020, 3, 3, tzinfo=UTC)),
    ([(D1, 10, 1), (D2, 20, 3)], datetime(2020, 3, 4, tzinfo=UTC)),
]
SMALL_JHU = jhu_version([(D1, 0), (D2, 0)], datetime(2020, 3, 1, tzinfo=UTC))  # one publication, every run's


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))), ids=lambda o: "-".join(map(str, o)))
def test_a_revision_reverted_later_is_kept_whatever_the_loading_order(postgres_server, order):
    db_url = postgres_server.create_database("small_" + "".join(map(str, order)))
    for index in order:
        rows, at = SMALL_VERSIONS[index]
        load_versions(psycopg.connect, db_url, nyt_version(rows, at, f"v{index}.csv"), SMALL_JHU, run_id=f"v{index}")
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
