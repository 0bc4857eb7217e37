"""Issue 18's "Done when", through the DAG: states and counties publications served by a local stand-in of
GitHub (tests/fake_github.py: the real vintages and one generated between them, with a revised row, a
dropped and an added past key), loaded by runs pinned to dates that load them newest first, then the
oldest, then the middle one (a backfill, then another).

- the latest tables equal the newest publication exactly (the keys it no longer has are gone);
- ``T_as_of`` equals each publication at a time between it and the next;
- the revisions views and the stored changes equal those of loading the same publications oldest first,
  with the loader itself, on another database.

Expected tables are computed from the files' text with the standard library (tests/loads.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from covid_etl.sources.specs import COUNTIES, STATES
from fake_github import (
    COUNTIES_PATH,
    STATE_COUNTY_VINTAGES,
    STATES_PATH,
    FakeGitHub,
    real_repositories,
    with_state_and_county_publications,
)
from loads import as_of_rows, changes, expected_rows, load_file, revisions, table_rows

OLDEST, MIDDLE, NEWEST = STATE_COUNTY_VINTAGES
DATASETS = {STATES: STATES_PATH, COUNTIES: COUNTIES_PATH}
BOTH = ("states", "counties")
# Each run's date, in the order the runs are made: the publication it pins is the newest at or before it.
RUNS = {"newest": datetime(2020, 4, 2, tzinfo=NEWEST.at.tzinfo)}
RUNS |= {"oldest": OLDEST.at + timedelta(hours=23), "middle": MIDDLE.at + timedelta(hours=23)}
BY_NAME = {vintage.name: vintage for vintage in STATE_COUNTY_VINTAGES}
DATASET_PARAMS = [pytest.param(STATES, id="states"), pytest.param(COUNTIES, id="counties")]


def expected(dataset, vintage) -> list[tuple]:
    return expected_rows(dataset, vintage.text(DATASETS[dataset]))


@pytest.fixture(scope="module")
def github():
    server = FakeGitHub(with_state_and_county_publications(real_repositories()))
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def runs(module_dag_runner, github) -> dict:
    """The three runs, newest first, each with what it pinned."""
    for name, value in github.environment().items():
        module_dag_runner.env.setenv(name, value)
    done = {}
    for name, at in RUNS.items():
        outcome = module_dag_runner.pinned(at, datasets=BOTH)
        outcome.seen = {
            dataset.name: module_dag_runner.query(
                "SELECT commit FROM dataset_publications WHERE dataset = %s AND run_id = %s",
                (dataset.name, outcome.run_id),
            )
            for dataset in DATASETS
        }
        done[name] = outcome
    return done


@pytest.fixture(scope="module")
def db(module_dag_runner, runs) -> str:
    return module_dag_runner.db_url


@pytest.fixture(scope="module")
def oldest_first(postgres_server, tmp_path_factory) -> str:
    """Another database, the same publications loaded oldest first by the loader the load tasks call."""
    url = postgres_server.create_database("history_runs_oldest_first")
    folder = tmp_path_factory.mktemp("oldest-first")
    for vintage in STATE_COUNTY_VINTAGES:
        for dataset, path in DATASETS.items():
            file = folder / f"{vintage.name}-{path}"
            file.write_text(vintage.text(path))
            load_file(url, dataset.name, file, at=vintage.at, commit=vintage.sha, part=path)
    return url


def test_each_run_succeeds_and_loads_the_publication_pinned_to_its_date(runs):
    for name, outcome in runs.items():
        assert outcome.state == "success", (name, outcome.not_in("success", "skipped"))
        assert outcome.seen == {"states": [(BY_NAME[name].sha,)], "counties": [(BY_NAME[name].sha,)]}, name


def test_older_publications_loaded_after_the_newest_change_nothing_and_count_their_differing_rows_stale(runs):
    first = runs["newest"].summary
    assert (first["states"]["inserted"], first["counties"]["inserted"]) == (
        len(expected(STATES, NEWEST)),
        len(expected(COUNTIES, NEWEST)),
    )
    for name in ("oldest", "middle"):
        for dataset in DATASETS:
            outcome = runs[name].summary[dataset.name]
            stale = len(set(expected(dataset, BY_NAME[name])) - set(expected(dataset, NEWEST)))
            assert (outcome["inserted"], outcome["updated"], outcome["deleted"], outcome["stale"]) == (0, 0, 0, stale)
    # The oldest state file is the newest's rows to its day: nothing of it lost to the newest.
    assert runs["oldest"].summary["states"]["stale"] == 0 < runs["oldest"].summary["counties"]["stale"]


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_the_latest_table_equals_the_newest_publication_exactly(db, dataset):
    table = table_rows(db, dataset)
    assert table == expected(dataset, NEWEST)
    # Keys an older publication has and the newest does not are gone: the middle one's added past key,
    # and for counties the real deleted key.
    gone = {row[: len(dataset.key)] for row in expected(dataset, MIDDLE) + expected(dataset, OLDEST)}
    gone -= {row[: len(dataset.key)] for row in table}
    assert gone, "the older publications have keys the newest lacks"


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_as_of_a_time_between_two_publications_the_table_is_the_earlier_one(db, dataset):
    for vintage, following in zip(STATE_COUNTY_VINTAGES, [*STATE_COUNTY_VINTAGES[1:], None], strict=True):
        between = vintage.at + (following.at - vintage.at) / 2 if following else vintage.at + timedelta(days=1)
        assert as_of_rows(db, dataset, between) == expected(dataset, vintage), vintage.name
    assert as_of_rows(db, dataset, OLDEST.at - timedelta(seconds=1)) == []


@pytest.mark.parametrize("dataset", DATASET_PARAMS)
def test_the_revisions_and_changes_equal_those_of_loading_the_publications_oldest_first(db, oldest_first, dataset):
    assert revisions(db, dataset) == revisions(oldest_first, dataset)
    assert changes(db, dataset) == changes(oldest_first, dataset)
    assert table_rows(oldest_first, dataset) == table_rows(db, dataset)


def test_the_revisions_hold_the_middle_publications_revision_and_the_newests(db):
    harris = [row for row in revisions(db, COUNTIES) if row[1:3] == ("Texas", "Harris") and str(row[0]) == "2020-03-28"]
    # (date, state, county, published_at, commit, old_fips, new_fips, old_cases, new_cases, ...)
    assert [(row[4], row[-4], row[-3]) for row in harris] == [(MIDDLE.sha, 232, 300), (NEWEST.sha, 300, 445)]
    new_york = [row for row in revisions(db, STATES) if row[1] == "New York" and str(row[0]) == "2020-03-20"]
    assert [(row[3], row[-4], row[-3]) for row in new_york] == [(MIDDLE.sha, 7113, 7213), (NEWEST.sha, 7213, 7113)]
