"""The run's summary (covid_etl/notify/report.py, summarize): what report_run returns and `make run` prints,
from its tasks' states, errors and XComs. Pure: no Airflow, no database."""

from __future__ import annotations

import pytest

from covid_etl.notify.report import choice_of_task, summarize

# The DAG's tasks in its order (dag.task_ids; tests/e2e/test_dag_definition.py checks the DAG has them so).
ORDER = [
    *(f"{name}.{task}" for name in ("nyt", "jhu") for task in ("resolve", "fetch", "load")),
    *(
        f"{name}.{task}"
        for name in ("states", "counties")
        for task in ("resolve", "fetch", "load", "check_columns", "check_table")
    ),
    "national.merge",
    "national.check_columns",
    "national.check_table",
    "compare_states_with_nation",
    "publish_dashboard",
    "report_run",
]
NYT = {"url": "https://raw/nyt/us.csv", "commit": "a" * 40, "published_at": "2023-01-25T12:00:00+00:00"}
JHU = {"url": "https://raw/jhu/combined.csv", "commit": "b" * 40, "published_at": "2021-03-17T06:08:00+00:00"}
MERGED = {"inserted": 3, "updated": 2, "deleted": 0, "unchanged": 600, "stale": 1, "rows": 605}
MERGED |= {"first_date": "2020-01-22", "last_date": "2021-09-21"}
STATES = {"inserted": 56, "updated": 4, "deleted": 1, "unchanged": 61886, "stale": 0, "rows": 61946}
NOT_CHOSEN = {"status": "skipped", "reason": "not chosen for this run"}


def run(
    *,
    failed: dict[str, str | None] = (),
    upstream_failed: tuple[str, ...] = (),
    skipped: tuple[str, ...] = (),
    chosen=("national", "states", "counties"),
    notes: dict | None = None,
    loaded: dict | None = None,
) -> dict:
    """summarize() for a run whose tasks all succeeded but those given; ``failed`` maps a task to the error
    its failure callback kept (None: none kept)."""
    failed = dict(failed)
    states = {task: "success" for task in ORDER}
    states |= dict.fromkeys(skipped, "skipped") | dict.fromkeys(upstream_failed, "upstream_failed")
    states |= dict.fromkeys(failed, "failed")
    return summarize(
        run_id="scheduled__2026-12-06T00:00:00+00:00",
        states=states,
        order=ORDER,
        errors={task: error for task, error in failed.items()},
        chosen=list(chosen),
        resolved={"nyt": NYT, "jhu": JHU, "states": None, "counties": None},
        skipped=notes or {},
        loaded={"national": MERGED, "states": STATES, "counties": None} if loaded is None else loaded,
        reporter="report_run",
    )


def group(name: str, *tasks: str) -> tuple[str, ...]:
    return tuple(f"{name}.{task}" for task in tasks)


def test_a_run_that_loaded_keeps_the_national_fields_at_the_top_and_each_dataset_under_its_name():
    summary = run(chosen=("national", "states"), skipped=group("counties", "fetch", "load"))
    assert summary == {
        "status": "success",
        "run_id": "scheduled__2026-12-06T00:00:00+00:00",
        **{key: MERGED[key] for key in ("inserted", "updated", "deleted", "unchanged", "stale")},
        "first_date": "2020-01-22",
        "last_date": "2021-09-21",
        "national_status": "success",
        **{f"nyt_{field}": NYT[field] for field in ("url", "commit", "published_at")},
        **{f"jhu_{field}": JHU[field] for field in ("url", "commit", "published_at")},
        "states": {"status": "success", **STATES},
        "counties": NOT_CHOSEN,
        "error": None,
    }


def test_the_error_names_the_first_failed_task_in_the_dags_order_and_lists_later_failures_after_it():
    # As when the database stops during a county load: the dashboard cannot read it either, later.
    summary = run(
        failed={"publish_dashboard": "database connection covid_db unreachable", "counties.load": "connection lost"},
        upstream_failed=group("counties", "check_columns", "check_table"),
    )
    assert summary["status"] == "failed"
    assert summary["error"] == "counties.load: connection lost"
    assert "national_error" not in summary
    assert summary["failed_tasks"] == [
        "counties.load",
        "counties.check_columns",
        "counties.check_table",
        "publish_dashboard",
    ]
    assert summary["counties"] == {
        "status": "failed",
        "failed_tasks": ["counties.load", "counties.check_columns", "counties.check_table"],
        "error": "counties.load: connection lost",
    }
    assert (summary["national_status"], summary["states"]["status"]) == ("success", "success")


@pytest.mark.parametrize(
    ("failed", "error"),
    [
        pytest.param(
            {"national.merge": "NYT and JHU share no date", "nyt.load": "NYT us.csv, line 3: bad"},
            "nyt.load: NYT us.csv, line 3: bad",
            id="dag-order-not-alphabetical",
        ),
        pytest.param(
            {"states.load": None, "compare_states_with_nation": "the states' sum differs"},
            "compare_states_with_nation: the states' sum differs",
            id="first-with-an-error-kept",
        ),
        pytest.param({"jhu.fetch": None}, "jhu.fetch failed", id="no-error-kept"),
    ],
)
def test_the_error_is_the_first_failure_that_kept_its_error(failed, error):
    assert run(failed=failed)["error"] == error


def test_a_dataset_not_chosen_is_skipped_never_failed_even_where_its_tasks_did_not_succeed():
    # A counties-only run whose county load lost the database: national and states were not chosen.
    summary = run(
        chosen=("counties",),
        failed={"counties.load": "connection lost"},
        upstream_failed=(*group("counties", "check_columns", "check_table"), *group("national", "merge")),
        skipped=(*group("nyt", "fetch", "load"), *group("jhu", "fetch", "load"), *group("states", "fetch", "load")),
        loaded={},
    )
    assert (summary["national_status"], summary["reason"]) == ("skipped", "not chosen for this run")
    assert summary["states"] == NOT_CHOSEN
    assert summary["counties"]["status"] == "failed"
    assert summary["error"] == "counties.load: connection lost"
    assert (summary["inserted"], summary["first_date"]) == (0, None)


def test_a_cross_check_that_did_not_run_because_a_load_failed_counts_against_that_load_only():
    summary = run(failed={"nyt.load": "bad line"}, upstream_failed=("national.merge", "compare_states_with_nation"))
    assert (summary["national_status"], summary["national_error"]) == ("failed", "nyt.load: bad line")
    assert summary["states"] == {"status": "success", **STATES}
    assert summary["failed_tasks"] == ["nyt.load", "national.merge", "compare_states_with_nation"]


def test_a_cross_check_that_failed_fails_the_dataset_it_checks():
    summary = run(failed={"compare_states_with_nation": "the states' sum differs by 3%"})
    assert summary["states"]["status"] == "failed"
    assert summary["national_status"] == "success"


def test_a_run_with_nothing_new_anywhere_is_skipped_and_says_since_when():
    since = {"nyt": NYT["published_at"], "jhu": JHU["published_at"], "states": "2021-03-16T01:00:00+00:00"}
    notes = {
        name: {"reason": f"no new publication since {at}", "since": at, "publications": [NYT if name == "nyt" else JHU]}
        for name, at in since.items()
    }
    summary = summarize(
        run_id="r",
        states={task: "success" for task in ORDER},
        order=ORDER,
        errors={},
        chosen=["national", "states"],
        resolved={name: None for name in ("nyt", "jhu", "states", "counties")},
        skipped=notes,
        loaded={},
        reporter="report_run",
    )
    assert summary["status"] == "skipped"
    assert (summary["national_status"], summary["no_new_publication_since"]) == ("skipped", NYT["published_at"])
    assert summary["reason"] == f"no new publication since {NYT['published_at']}"
    assert summary["nyt_commit"] == NYT["commit"] and summary["jhu_published_at"] == JHU["published_at"]
    assert summary["states"] == {
        "status": "skipped",
        "reason": "no new publication since 2021-03-16T01:00:00+00:00",
        "since": "2021-03-16T01:00:00+00:00",
    }


def test_a_run_that_loaded_one_dataset_and_found_nothing_new_in_another_succeeded():
    at = "2021-03-16T01:00:00+00:00"
    summary = run(
        chosen=("national", "states"),
        notes={"states": {"reason": f"no new publication since {at}", "since": at}},
        loaded={"national": MERGED, "states": None},
    )
    assert summary["status"] == "success"
    assert summary["states"]["reason"] == f"no new publication since {at}"


@pytest.mark.parametrize(
    ("task", "choice"),
    [
        pytest.param("nyt.load", "national", id="a-national-source"),
        pytest.param("national.check_table", "national", id="the-merge-group"),
        pytest.param("counties.resolve", "counties", id="a-dataset"),
        pytest.param("compare_states_with_nation", "states", id="the-cross-check"),
        pytest.param("publish_dashboard", None, id="the-runs-own"),
    ],
)
def test_each_task_belongs_to_the_dataset_choice_that_loads_it(task, choice):
    assert choice_of_task(task) == choice
