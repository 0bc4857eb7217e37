"""The plugin reads the newest document publish_dashboard wrote into Airflow's metadata database: real
dag.test() runs publish what the pipeline's loader loaded into a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from dashboard_helpers import COUNTY_VINTAGES, Day, expected_derived, load_fixture, load_national, synthetic_days

from covid_dashboard.data import fetch_dashboard
from covid_dashboard.history import Area


def test_the_plugin_reads_the_newest_publication_with_the_revisions_loaded_since(covid_db, publish_dashboard, tmp_path):
    days = synthetic_days(20, recovered_until=15)
    load_national(covid_db, days, tmp_path, at=datetime(2026, 5, 1, tzinfo=UTC))
    before = datetime.now(UTC)
    first = publish_dashboard()
    # A newer national publication with one more day (its cases revised down), and two county vintages.
    more = [*days, Day(days[0].date + timedelta(days=20), days[0].cases, days[0].deaths, None)]
    load_national(covid_db, more, tmp_path, at=datetime(2026, 5, 2, tzinfo=UTC))
    for name, at in COUNTY_VINTAGES.items():
        load_fixture(covid_db, "counties", name, tmp_path, at=at)
    second = publish_dashboard()

    dashboard = fetch_dashboard()

    assert first != second and dashboard.publication.run_id == second
    assert dashboard.publication.published_at >= before
    expected = expected_derived(more)
    assert [(d.date, d.cases, d.deaths, d.recovered) for d in dashboard.days] == [tuple(d) for d in more]
    assert [d.new_cases for d in dashboard.days] == [expected[d.date]["new_cases"] for d in more]
    # The plugin rounds to 2 decimals, half away from zero (tests/unit/dashboard/test_dashboard_data.py).
    averages = [expected[d.date]["new_cases_avg7"] for d in more]
    assert [d.new_cases_avg7 for d in dashboard.days] == [a and pytest.approx(a, abs=0.005) for a in averages]
    [harris] = dashboard.revisions.of(Area("Texas", "Harris"))
    assert (harris.day, harris.cases, harris.deaths) == (date(2020, 3, 28), (232, 445), (3, 3))
    assert harris.published_at == COUNTY_VINTAGES["real/nyt-us-counties-2020-03-31.csv"]
    assert dashboard.revisions.counties.total == 3 and dashboard.revisions.states.total == 0
