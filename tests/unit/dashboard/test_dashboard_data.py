"""The plugin's data: daily values derived from the published columns, as the plugin reads the document
publish_dashboard writes (build_payload, without a database: the read of the tables is an integration
test, tests/integration/dashboard/test_dashboard_publish.py).

The derivations are checked against an independent computation (dashboard_helpers.expected_derived) on
the real series, merged from the real files by the standard library (oracle.independent_merge).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from dashboard_helpers import JHU_FIXTURE, NYT_FIXTURE, ONE_DAY, Day, expected_derived, synthetic_days

from covid_dashboard.data import PAYLOAD_VERSION, Publication, dashboard_from_payload
from covid_etl.publish.dashboard import build_payload, daily_columns
from oracle import independent_merge

PUBLISHED = Publication(run_id="manual__test", published_at=datetime(2026, 5, 2, 3, 4, tzinfo=UTC))


def real_days() -> list[Day]:
    """What the pipeline loads from the real NYT us.csv and JHU US rows (recovered NULL from 2020-12-14)."""
    merged = independent_merge(NYT_FIXTURE, JHU_FIXTURE)
    return [Day(date.fromisoformat(day), *values) for day, values in merged.items()]


def dashboard_of(days, runs=(), last_success_at=None):
    """The document publish_dashboard would write for these rows, as the plugin reads it."""
    rows = [(d.date, d.cases, d.deaths, d.recovered) for d in days]
    payload = build_payload(days=rows, runs=list(runs), last_success_at=last_success_at, run_id=PUBLISHED.run_id)
    return dashboard_from_payload(payload, PUBLISHED)


def assert_matches(dashboard, days) -> None:
    expected = expected_derived(days)
    assert [d.date for d in dashboard.days] == sorted(expected)
    for got in dashboard.days:
        want = expected[got.date]
        assert (got.new_cases, got.new_deaths) == (want["new_cases"], want["new_deaths"]), got.date
        for column in ("new_cases_avg7", "new_deaths_avg7"):
            value = want[column]
            assert getattr(got, column) == (None if value is None else pytest.approx(value, abs=0.005)), got.date


def test_daily_new_values_and_averages_match_an_independent_computation_on_the_real_series():
    days = real_days()
    dashboard = dashboard_of(days)

    assert len(dashboard.days) == len(days) == 609
    assert_matches(dashboard, days)
    assert dashboard.days[0].new_cases is None and dashboard.days[6].new_cases_avg7 is None
    assert dashboard.days[7].new_cases_avg7 is not None
    # The real series revises cases down on 2021-06-04: a negative daily value, kept as such.
    assert next(d for d in dashboard.days if d.date == date(2021, 6, 4)).new_cases == 33312812 - 33336811


def test_cumulative_counts_come_back_as_stored_with_null_recovered_as_none():
    days = real_days()
    dashboard = dashboard_of(days)

    assert [(d.date, d.cases, d.deaths, d.recovered) for d in dashboard.days] == [
        (d.date, d.cases, d.deaths, d.recovered) for d in days
    ]
    recovered = {d.date: d.recovered for d in dashboard.days}
    assert recovered[date(2020, 12, 13)] == 6_298_082
    assert recovered[date(2020, 12, 14)] is None and recovered[date(2021, 9, 21)] is None


def test_a_missing_day_voids_the_next_new_value_and_the_averages_spanning_it():
    days = synthetic_days(30)
    hole = days[12].date
    kept = [d for d in days if d.date != hole]
    dashboard = dashboard_of(kept)

    assert_matches(dashboard, kept)
    after = {d.date: d for d in dashboard.days}
    assert hole not in after and after[hole + ONE_DAY].new_cases is None
    assert all(after[hole + k * ONE_DAY].new_cases_avg7 is None for k in range(1, 8))
    assert after[hole + 8 * ONE_DAY].new_cases_avg7 is not None


@pytest.mark.parametrize(
    ("week", "mean"),
    [
        pytest.param([1, 1, 1, 1, 1, 1, 1], 1.0, id="exact"),
        pytest.param([0, 0, 0, 0, 0, 0, 1], 0.14, id="one-seventh"),
        pytest.param([0, 0, 0, 0, 0, 0, -1], -0.14, id="negative"),
        pytest.param([0, 0, 0, 0, 0, 5, 0], 0.71, id="five-sevenths-rounds-up"),
    ],
)
def test_the_seven_day_average_is_rounded_half_away_from_zero_to_two_decimals(week, mean):
    cases = [100]
    for change in week:
        cases.append(cases[-1] + change)
    dashboard = dashboard_of([type(d)(d.date, c, 0, None) for d, c in zip(synthetic_days(8), cases, strict=True)])

    assert dashboard.days[-1].new_cases_avg7 == mean


def test_a_document_of_another_version_is_refused_not_misread():
    payload = build_payload(days=[], runs=[], last_success_at=None, run_id="r")
    with pytest.raises(ValueError, match=f"this plugin reads {PAYLOAD_VERSION}"):
        dashboard_from_payload({**payload, "version": PAYLOAD_VERSION + 1}, PUBLISHED)


def test_the_published_columns_hold_a_null_in_every_column_on_a_missing_day():
    rows = [(date(2020, 3, 1), 1, 0, 0), (date(2020, 3, 3), 5, 1, None)]

    assert daily_columns(rows) == {
        "first_date": "2020-03-01",
        "cases": [1, None, 5],
        "deaths": [0, None, 1],
        "recovered": [0, None, None],
    }
