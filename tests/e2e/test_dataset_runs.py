"""States and counties through the DAG: loaded beside the national series or on their own, with data quality
checks and the states-against-nation comparison.

Fixtures: tests/fixtures/states/us-states.csv (56 states and territories, 14 days, summing to the real
NYT national counts) and tests/fixtures/counties/us-counties.csv (four states' counties and NYT's
exceptions, 14 days); see tests/fixtures/generate_states_counties.py. One database sees the three
datasets loaded, then loaded again from the same files (module fixtures); each test reads one fact.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from covid_etl.sources.specs import COUNTIES, STATES
from fake_github import NYT_REPO, Commit
from loads import expected_rows, table_rows
from support import fixture_text

NATIONAL = ("files/real/nyt-us-2020-08-13.csv", "files/real/jhu-combined-2020-12-14.csv")
ALL = ("national", "states", "counties")
FIXTURES = {"states": "files/states/us-states.csv", "counties": "files/counties/us-counties.csv"}
STATE_ROWS = expected_rows(STATES, fixture_text("states/us-states.csv"))
COUNTY_ROWS = expected_rows(COUNTIES, fixture_text("counties/us-counties.csv"))


def run_all(runner, datasets=ALL, **files):
    return runner.files(*NATIONAL, datasets=datasets, **(FIXTURES | files))


@pytest.fixture(scope="module")
def loaded(module_dag_runner):
    outcome = run_all(module_dag_runner)
    outcome.seen = {
        "states": table_rows(module_dag_runner.db_url, STATES),
        "counties": table_rows(module_dag_runner.db_url, COUNTIES),
        "runs": module_dag_runner.runs(outcome.run_id),
    }
    return outcome


@pytest.fixture(scope="module")
def again(module_dag_runner, loaded):
    outcome = run_all(module_dag_runner)
    outcome.seen = {
        "counties": table_rows(module_dag_runner.db_url, COUNTIES),
        "runs": module_dag_runner.runs(outcome.run_id),
    }
    return outcome


def test_the_three_datasets_load_exactly_and_pass_their_checks(loaded):
    assert loaded.state == "success", loaded.not_in("success")
    assert (loaded.seen["states"], loaded.seen["counties"]) == (STATE_ROWS, COUNTY_ROWS)
    checks = [
        f"{name}.{check}" for name in ("states", "counties", "national") for check in ("check_columns", "check_table")
    ]
    assert {task: loaded.tasks[task] for task in checks} == dict.fromkeys(checks, "success")
    assert loaded.tasks["compare_states_with_nation"] == "success"


def test_each_dataset_is_recorded_in_etl_runs_with_its_counts(loaded):
    runs = loaded.seen["runs"]
    assert runs["states"] == ("success", len(STATE_ROWS), 0, 0, 0, 0, None)
    assert runs["counties"] == ("success", len(COUNTY_ROWS), 0, 0, 0, 0, None)
    assert runs["national"] == ("success", 205, 0, 0, 0, 0, None)


def test_one_message_reports_every_dataset_with_its_counts(loaded):
    [message] = loaded.messages
    states, counties = len(STATE_ROWS), len(COUNTY_ROWS)
    assert message["subject"].startswith(f"covid_etl succeeded: national 205 inserted; states {states} inserted")
    lines = message["message"].splitlines()
    assert f"States: {states} inserted, 0 updated, 0 deleted, 0 unchanged, 0 stale (of {states} rows)" in lines
    assert f"Counties: {counties} inserted, 0 updated, 0 deleted, 0 unchanged, 0 stale (of {counties} rows)" in lines


def test_the_summary_has_each_dataset_under_its_name_and_the_states_against_the_nation(loaded):
    summary = loaded.summary
    zero = dict.fromkeys(("updated", "deleted", "unchanged", "stale"), 0)
    assert summary["states"] == {"status": "success", "inserted": len(STATE_ROWS), **zero, "rows": len(STATE_ROWS)}
    assert summary["counties"] == {"status": "success", "inserted": len(COUNTY_ROWS), **zero, "rows": len(COUNTY_ROWS)}
    assert (summary["national_status"], summary["inserted"]) == ("success", 205)
    compared = summary["states_vs_nation"]
    assert (compared["dates_compared"], compared["dates_differing"]) == (14, 0)


def test_a_second_run_on_the_same_files_sends_no_row_and_changes_nothing(loaded, again):
    assert again.state == "success"
    assert again.seen["counties"] == loaded.seen["counties"]
    assert again.seen["runs"]["counties"] == ("success", 0, 0, 0, len(COUNTY_ROWS), 0, None)
    assert again.seen["runs"]["states"] == ("success", 0, 0, 0, len(STATE_ROWS), 0, None)
    # Every day's fingerprint matched: no line was checked again or sent to the database.
    assert (again.xcom("counties.load")["sent"], again.xcom("states.load")["sent"]) == (0, 0)
    [message] = again.messages
    assert message["subject"] == "covid_etl succeeded: national unchanged; states unchanged; counties unchanged"


def test_a_malformed_county_file_fails_its_dataset_only(dag_runner):
    outcome = run_all(dag_runner, counties="files/counties/bad-fips.csv")

    assert outcome.state == "failed"
    assert (outcome.tasks["counties.load"], outcome.tasks["counties.check_columns"]) == ("failed", "upstream_failed")
    assert {outcome.tasks[task] for task in ("national.merge", "states.load", "compare_states_with_nation")} == {
        "success"
    }
    runs = dag_runner.runs(outcome.run_id)
    assert (runs["national"][0], runs["states"][0], runs["counties"][0]) == ("success", "success", "failed")
    assert runs["counties"][-1].startswith("counties.load: NYT counties http://127.0.0.1:")
    assert runs["counties"][-1].endswith(
        "/files/counties/bad-fips.csv, line 42: fips is not a 2- or 5-digit FIPS code: '1234'"
    )
    assert table_rows(dag_runner.db_url, COUNTIES) == []
    summary = outcome.summary
    assert (summary["national_status"], summary["states"]["status"], summary["counties"]["status"]) == (
        "success",
        "success",
        "failed",
    )
    [message] = outcome.messages
    assert message["subject"].startswith("covid_etl failed in counties.load: NYT counties http://127.0.0.1:")
    assert "a failed load left its table as it was" in message["message"]


def test_a_counties_only_run_loads_counties_alone_and_names_them_in_its_subject(dag_runner):
    outcome = run_all(dag_runner, datasets=("counties",))

    assert outcome.state == "success"
    assert (outcome.tasks["nyt.resolve"], outcome.tasks["nyt.fetch"], outcome.tasks["national.merge"]) == (
        "success",
        "skipped",
        "skipped",
    )
    assert (outcome.tasks["states.fetch"], outcome.tasks["counties.load"]) == ("skipped", "success")
    assert set(dag_runner.runs(outcome.run_id)) == {"counties"}
    summary = outcome.summary
    assert (summary["status"], summary["national_status"], summary["states"]["status"]) == (
        "success",
        "skipped",
        "skipped",
    )
    [message] = outcome.messages
    assert message["subject"] == f"covid_etl succeeded: counties {len(COUNTY_ROWS)} inserted"


def test_states_that_do_not_sum_to_the_nation_fail_the_comparison_after_loading(dag_runner):
    outcome = run_all(dag_runner, states="files/states/us-states-3pc-more-than-nation.csv")

    assert outcome.state == "failed" and outcome.tasks["compare_states_with_nation"] == "failed"
    assert outcome.tasks["states.load"] == "success"  # loaded, then found inconsistent: the check says so
    assert outcome.summary["states"]["status"] == "failed"
    [message] = outcome.messages
    assert message["subject"].startswith("covid_etl failed in compare_states_with_nation: NYT states: the states' sum")
    assert "the states' sum differs from the national series by" in message["message"]


def county_file(year: int, days: int) -> bytes:
    """The county fixture's first ``days`` days of March, as of ``year``."""
    lines = fixture_text("counties/us-counties.csv").splitlines()
    body = [lines[0]] + [line.replace("2020-03", f"{year}-03", 1) for line in lines[1:] if line[8:10] <= f"{days:02d}"]
    return ("\n".join(body) + "\n").encode()


def test_counties_are_pinned_to_the_yearly_files_once_they_exist_else_to_the_single_file(
    dag_runner, github, monkeypatch
):
    nyt = github.repositories[NYT_REPO]
    single = Commit("c" * 40, datetime(2020, 3, 20, tzinfo=UTC), {"us-counties.csv": county_file(2020, 14)})
    yearly = {f"us-counties-{year}.csv": county_file(year, 5) for year in (2020, 2021, 2022)}
    split = Commit("d" * 40, datetime(2022, 5, 14, tzinfo=UTC), yearly)
    monkeypatch.setattr(nyt, "commits", [*nyt.commits, single, split])
    db = dag_runner.db_url

    before = dag_runner.pinned(datetime(2021, 1, 1, tzinfo=UTC), datasets=("counties",))
    assert before.state == "success", before.not_in("success", "skipped")
    assert table_rows(db, COUNTIES) == expected_rows(COUNTIES, county_file(2020, 14).decode())
    # Each yearly file is asked for (none yet), then the single file.
    assert (len([path for _, path in github.requests if path.startswith("/api/")]), len(github.downloads())) == (5, 1)

    github.clear()
    after = dag_runner.pinned(datetime(2022, 6, 1, tzinfo=UTC), datasets=("counties",))
    assert after.tasks["counties.load"] == "success"
    # Each yearly file holds five March days: the table check finds the dates missing between them.
    assert (after.tasks["counties.check_table"], after.tasks["counties.check_columns"], after.state) == (
        "failed",
        "success",
        "failed",
    )
    # The 2020 file replaces the year's rows: the single file's days after the fifth are deleted.
    assert table_rows(db, COUNTIES) == sorted(
        row for name in yearly for row in expected_rows(COUNTIES, yearly[name].decode())
    )
    deleted = len(expected_rows(COUNTIES, county_file(2020, 14).decode())) - len(
        expected_rows(COUNTIES, county_file(2020, 5).decode())
    )
    assert after.xcom("counties.load")["deleted"] == deleted > 0
    # The load's row, and the failed check's (its failure callback's).
    assert dag_runner.query(
        "SELECT status, rows_deleted, error LIKE %s FROM etl_runs WHERE run_id = %s ORDER BY id",
        ("counties.check_table: %", after.run_id),
    ) == [("success", deleted, None), ("failed", None, True)]
    assert dag_runner.query("SELECT part, commit FROM dataset_publications ORDER BY part") == [
        ("us-counties-2020.csv", "d" * 40),
        ("us-counties-2021.csv", "d" * 40),
        ("us-counties-2022.csv", "d" * 40),
        ("us-counties.csv", "c" * 40),
    ]
    assert len(github.downloads()) == 3

    github.clear()
    again = dag_runner.pinned(datetime(2022, 6, 2, tzinfo=UTC), datasets=("counties",))
    assert again.state == "success" and again.tasks["counties.fetch"] == "skipped"  # nothing new: no download
    assert github.downloads() == []
