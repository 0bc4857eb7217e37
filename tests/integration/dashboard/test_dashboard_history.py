"""The revisions view's national data: the history in the published document answers as the database does.

The real national files are loaded by the pipeline's loader into a real PostgreSQL (out of order: the
older JHU file after the newer one, as a backfill), merged, published with read_payload, and read back
as the plugin reads them; the "as of" tables must equal both covid_us_daily_as_of in SQL and an
independent merge of the files published by then.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from dashboard_helpers import JHU_VERSIONS, NYT_VERSIONS, load_fixture, merge

from covid_dashboard.data import Publication, dashboard_from_payload
from covid_dashboard.history import History
from covid_etl.publish.dashboard import history_columns, read_payload
from oracle import independent_merge, revised_days

PUBLISHED = Publication(run_id="manual__test", published_at=datetime(2026, 5, 2, tzinfo=UTC))
MOMENTS = [
    datetime(2020, 12, 15, tzinfo=UTC),
    datetime(2021, 3, 18, tzinfo=UTC),
    datetime(2022, 5, 1, tzinfo=UTC),
    datetime(2023, 2, 1, tzinfo=UTC),
]


@pytest.fixture
def loaded(db_url, tmp_path) -> dict:
    """Every NYT version and the newer JHU one, then the older JHU one: out of order."""
    newer_jhu, older_jhu = sorted(JHU_VERSIONS, key=JHU_VERSIONS.get, reverse=True)
    for number, (nyt, at) in enumerate(NYT_VERSIONS.items()):
        load_fixture(db_url, "nyt", nyt, tmp_path, at=at, run_id=f"run-{number}")
    for jhu in (newer_jhu, older_jhu):
        load_fixture(db_url, "jhu", jhu, tmp_path, at=JHU_VERSIONS[jhu], run_id="run-jhu")
    merge(db_url, nyt_at=max(NYT_VERSIONS.values()), jhu_at=JHU_VERSIONS[newer_jhu])
    with psycopg.connect(db_url) as conn:
        return read_payload(conn, run_id="manual__test")


def sql_as_of(db_url: str, at: datetime):
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT date, cases, deaths, recovered FROM covid_us_daily_as_of(%s)", (at,)).fetchall()


def table(rows) -> dict:
    return {day.isoformat(): (cases, deaths, recovered) for day, cases, deaths, recovered in rows}


@pytest.mark.parametrize("at", MOMENTS, ids=lambda at: at.date().isoformat())
def test_the_table_as_of_a_time_matches_sql_and_the_files_published_by_then(loaded, db_url, at):
    history = History.from_json(loaded["history"])
    assert history.as_of(at) == sql_as_of(db_url, at)
    nyt = max((name for name, when in NYT_VERSIONS.items() if when <= at), key=NYT_VERSIONS.get)
    jhu = max((name for name, when in JHU_VERSIONS.items() if when <= at), key=JHU_VERSIONS.get)
    assert table(history.as_of(at)) == independent_merge(nyt, jhu)


def test_the_as_of_dashboard_derives_its_charts_from_that_table(loaded, db_url):
    at = datetime(2021, 3, 18, tzinfo=UTC)
    dashboard = dashboard_from_payload(loaded, PUBLISHED, as_of=at)
    assert [(d.date, d.cases, d.deaths, d.recovered) for d in dashboard.days] == [
        tuple(r) for r in sql_as_of(db_url, at)
    ]
    assert dashboard.as_of == at and dashboard.to_json()["as_of"] == at.isoformat()


def test_each_publication_counts_the_days_it_revised(loaded):
    counts = {
        (release.source, release.published_at): revised
        for release, revised in History.from_json(loaded["history"]).revision_counts()
    }
    versions = list(NYT_VERSIONS)
    assert counts[("NYT", NYT_VERSIONS[versions[0]])] == 0
    for older, newer in zip(versions, versions[1:], strict=False):
        assert counts[("NYT", NYT_VERSIONS[newer])] == len(revised_days(older, newer))
    # JHU revised no US recovered count between these versions (only deaths, which are not loaded).
    assert counts[("JHU", JHU_VERSIONS["real/jhu-combined-2021-03-17.csv"])] == 0


def test_a_days_published_values_come_in_publication_order(loaded):
    history = History.from_json(loaded["history"])
    day = datetime(2020, 8, 13).date()
    # The three files give (5262791, 167165), then (5265307, 167165) twice: two changes.
    assert [(c.release.published_at, c.values) for c in history.of_day(day)["NYT"]] == [
        (NYT_VERSIONS["real/nyt-us-2020-08-13.csv"], (5262791, 167165)),
        (NYT_VERSIONS["real/nyt-us-2022-04-19.csv"], (5265307, 167165)),
    ]


def test_a_thinned_history_still_answers_exactly_at_the_publications_it_kept(loaded):
    full = History.from_json(loaded["history"])
    publications = [
        [r.source, f"{r.source}-{r.index}", r.commit, r.published_at] for rs in full.releases.values() for r in rs
    ]
    history_rows = [
        [c.release.source, f"{c.release.source}-{c.release.index}", c.day, *_values(c)]
        for changes in full.changes.values()
        for c in changes
    ]
    small = History.from_json(history_columns(publications, history_rows, max_entries=len(history_rows) - 1))
    assert small.thinned_to_every == 2
    kept_nyt = [r.published_at for r in full.releases["NYT"]][1::2] + [full.releases["NYT"][-1].published_at]
    for at in kept_nyt:
        assert small.state("NYT", at) == full.state("NYT", at)
    assert sum(map(len, small.changes.values())) < len(history_rows)


def _values(change) -> tuple:
    if change.release.source == "NYT":
        return (*change.values, None)
    return (None, None, *change.values)
