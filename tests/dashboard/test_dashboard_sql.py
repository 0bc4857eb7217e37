"""dashboard.sql on a real PostgreSQL: daily new values and 7-day averages match an independent computation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import psycopg
import psycopg2
import pytest
from dashboard_helpers import (
    JHU_FIXTURE,
    NYT_FIXTURE,
    ONE_DAY,
    UTC,
    connect,
    expected_derived,
    insert_days,
    insert_run,
    synthetic_days,
)

from covid_dashboard.data import RUN_LIMIT, dashboard_from_row, fetch_dashboard, read_sql
from covid_etl.merge import merge_us
from covid_etl.parsing import parse_jhu_us, parse_nyt
from support import fixture_text


def real_days():
    """What the pipeline loads from the real NYT us.csv and JHU US rows (recovered NULL from 2020-12-14)."""
    nyt = parse_nyt(fixture_text(NYT_FIXTURE), location="nyt")
    jhu = parse_jhu_us(fixture_text(JHU_FIXTURE), location="jhu")
    return merge_us(nyt, jhu)


def assert_matches(dashboard, days) -> None:
    expected = expected_derived(days)
    assert [d.date for d in dashboard.days] == sorted(expected)
    for got in dashboard.days:
        want = expected[got.date]
        assert (got.new_cases, got.new_deaths) == (want["new_cases"], want["new_deaths"]), got.date
        for column in ("new_cases_avg7", "new_deaths_avg7"):
            value = want[column]
            assert getattr(got, column) == (None if value is None else pytest.approx(value, abs=0.0051)), got.date


def test_daily_new_values_and_averages_match_python_on_the_real_series(covid_db):
    days = real_days()
    insert_days(covid_db, days)

    dashboard = fetch_dashboard("covid_db")

    assert len(dashboard.days) == len(days) == 609
    assert_matches(dashboard, days)
    first, eighth = dashboard.days[0], dashboard.days[7]
    assert first.new_cases is None and dashboard.days[6].new_cases_avg7 is None
    assert eighth.new_cases_avg7 is not None
    # The real series revises cases down on 2021-06-04: a negative daily value, kept as such.
    assert next(d for d in dashboard.days if d.date == date(2021, 6, 4)).new_cases == 33312812 - 33336811


def test_cumulative_counts_come_back_as_stored_with_null_recovered_as_none(covid_db):
    days = real_days()
    insert_days(covid_db, days)

    dashboard = fetch_dashboard("covid_db")

    assert [(d.date, d.cases, d.deaths, d.recovered) for d in dashboard.days] == [
        (d.date, d.cases, d.deaths, d.recovered) for d in days
    ]
    recovered = {d.date: d.recovered for d in dashboard.days}
    assert recovered[date(2020, 12, 13)] == 6_298_082
    assert recovered[date(2020, 12, 14)] is None and recovered[date(2021, 9, 21)] is None


def test_a_missing_day_voids_the_next_new_value_and_the_averages_spanning_it(covid_db):
    days = synthetic_days(30)
    hole = days[12].date
    insert_days(covid_db, [d for d in days if d.date != hole])

    dashboard = fetch_dashboard("covid_db")

    assert_matches(dashboard, [d for d in days if d.date != hole])
    after = {d.date: d for d in dashboard.days}
    assert after[hole + ONE_DAY].new_cases is None
    assert all(after[hole + k * ONE_DAY].new_cases_avg7 is None for k in range(1, 8))
    assert after[hole + 8 * ONE_DAY].new_cases_avg7 is not None


def test_runs_come_newest_first_limited_and_the_last_success_ignores_later_failures(covid_db):
    start = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
    for i in range(RUN_LIMIT + 3):
        insert_run(
            covid_db,
            f"scheduled__{i}",
            "success",
            start + i * ONE_DAY,
            rows_inserted=i,
            rows_updated=1,
            rows_unchanged=600,
            first_date=date(2020, 1, 21),
            last_date=date(2021, 9, 21),
        )
    insert_run(covid_db, "manual__broken", "failed", start + 30 * ONE_DAY, error="NYT: line 7: bad date")

    dashboard = fetch_dashboard("covid_db")

    assert [r.run_id for r in dashboard.runs] == ["manual__broken"] + [
        f"scheduled__{i}" for i in range(RUN_LIMIT + 2, 3, -1)
    ]
    assert dashboard.runs[0].error == "NYT: line 7: bad date" and dashboard.runs[0].rows_inserted is None
    assert (dashboard.runs[1].rows_inserted, dashboard.runs[1].rows_updated, dashboard.runs[1].rows_unchanged) == (
        RUN_LIMIT + 2,
        1,
        600,
    )
    assert dashboard.last_success_at == start + (RUN_LIMIT + 2) * ONE_DAY + timedelta(minutes=1)


def test_empty_tables_give_an_empty_dashboard(covid_db):
    dashboard = fetch_dashboard("covid_db")

    assert (dashboard.days, dashboard.runs, dashboard.last_success_at, dashboard.loaded) == ((), (), None, True)


def test_a_database_without_the_tables_yet_gives_an_empty_dashboard_not_an_error(monkeypatch, db_url):
    monkeypatch.setenv("AIRFLOW_CONN_COVID_DB", db_url)

    dashboard = fetch_dashboard("covid_db")

    assert (dashboard.days, dashboard.loaded) == ((), False)


def test_other_database_errors_are_not_hidden(monkeypatch, db_url):
    monkeypatch.setenv("AIRFLOW_CONN_COVID_DB", db_url.rsplit("/", 1)[0] + "/no_such_database")

    with pytest.raises(Exception, match="no_such_database"):
        fetch_dashboard("covid_db")


@pytest.mark.parametrize("driver", [psycopg2, psycopg], ids=["psycopg2", "psycopg3"])
def test_both_drivers_hand_the_row_over_in_the_same_shape(dashboard_db, driver):
    insert_days(dashboard_db, synthetic_days(10, recovered_until=8))
    insert_run(dashboard_db, "r1", "success", datetime(2026, 4, 1, tzinfo=UTC), rows_inserted=10)

    conn = driver.connect(dashboard_db)
    try:
        cursor = conn.cursor()
        cursor.execute(read_sql("dashboard"), {"run_limit": RUN_LIMIT})
        dashboard = dashboard_from_row(cursor.fetchone())
    finally:
        conn.close()

    assert len(dashboard.days) == 10 and dashboard.days[-1].recovered is None
    assert dashboard.days[8].new_cases_avg7 is not None and isinstance(dashboard.days[8].new_cases_avg7, float)
    assert dashboard.runs[0].started_at == datetime(2026, 4, 1, tzinfo=UTC)
    assert dashboard.last_success_at == datetime(2026, 4, 1, 0, 1, tzinfo=UTC)


def test_the_query_is_one_statement_that_reads_only(dashboard_db):
    with connect(dashboard_db) as conn:
        plan = conn.execute("EXPLAIN " + read_sql("dashboard"), {"run_limit": RUN_LIMIT}).fetchall()

    text = "\n".join(row[0] for row in plan)
    assert "WindowAgg" in text
    assert not any(word in text for word in ("Insert", "Update", "Delete"))
