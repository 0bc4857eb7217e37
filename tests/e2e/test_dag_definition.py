"""DAG integrity: the DAG parses cleanly, offline, with the schedule, task groups, params, retries, callbacks,
asset outlets and deadline users expect.

Most tests read the DAG as this session parsed it. What depends on the settings read at parse time (the
deadline as the DAG processor stores it, retries, the params' defaults) is read from a parse in a fresh
interpreter with those settings: the suite parses without a deadline (conftest.py: dag.test() cannot run
a DAG that has one, apache/airflow#73428).
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from covid_etl.notify.callbacks import notify_late_run, notify_run, record_failure
from covid_etl.sources.specs import CHOICES
from support import ROOT

GROUP_TASKS = ("resolve", "fetch", "load")
CHECKS = ("check_columns", "check_table")
# The DAG's order: a failed run's summary names the first failed task in it (tests/unit/test_run_summary.py).
ORDER = [
    *(f"{name}.{task}" for name in ("nyt", "jhu") for task in GROUP_TASKS),
    *(f"{name}.{task}" for name in ("states", "counties") for task in (*GROUP_TASKS, *CHECKS)),
    "national.merge",
    *(f"national.{check}" for check in CHECKS),
    "compare_states_with_nation",
    "publish_dashboard",
    "report_run",
]
TABLES = {
    "nyt.load": "nyt_us_daily",
    "jhu.load": "jhu_us_daily",
    "states.load": "covid_us_state_daily",
    "counties.load": "covid_us_county_daily",
    "national.merge": "covid_us_daily",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags["covid_etl"]


def test_the_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert list(dagbag.dag_ids) == ["covid_etl"]


def test_runs_daily_one_run_at_a_time_back_to_the_sources_first_days_without_catching_up(dag):
    assert (dag.schedule, dag.catchup, dag.max_active_runs) == ("@daily", False, 1)
    assert dag.start_date == datetime(2020, 1, 21, tzinfo=UTC)


def test_has_owner_tags_and_its_docstring_naming_the_task_groups_as_documentation(dag):
    assert dag.owner == "data-engineering"
    assert {"covid-19", "etl"} <= set(dag.tags)
    assert all(f"`{name}`" in dag.doc_md for name in ("nyt", "jhu", "national", "states", "counties"))
    assert "national.merge" in dag.doc_md and "report_run" in dag.doc_md


def test_each_dataset_is_a_task_group_wired_resolve_fetch_load_then_the_merge_checks_and_the_runs_tasks(dag):
    upstream = {task.task_id: sorted(task.upstream_task_ids) for task in dag.tasks}
    groups = {}
    for name in ("nyt", "jhu", "states", "counties"):
        groups |= {f"{name}.resolve": [], f"{name}.fetch": [f"{name}.resolve"], f"{name}.load": [f"{name}.fetch"]}
    for name in ("states", "counties"):
        groups |= {f"{name}.{check}": [f"{name}.load"] for check in CHECKS}
    checks = [f"{name}.{check}" for name in ("national", "states") for check in CHECKS]
    assert upstream == {
        **groups,
        "national.merge": ["jhu.load", "nyt.load"],
        **{f"national.{check}": ["national.merge"] for check in CHECKS},
        "compare_states_with_nation": sorted(checks),
        "publish_dashboard": sorted(
            [
                "compare_states_with_nation",
                *(f"{name}.{check}" for name in ("counties", "national") for check in CHECKS),
            ]
        ),
        "report_run": ["publish_dashboard"],
    }


def test_the_tasks_are_in_the_order_a_failed_runs_summary_follows(dag):
    assert list(dag.task_ids) == ORDER


def test_the_merge_and_the_cross_check_run_when_either_side_loaded_and_none_failed(dag):
    for task_id in ("national.merge", "compare_states_with_nation"):
        assert dag.get_task(task_id).trigger_rule == "none_failed_min_one_success", task_id


def test_the_dashboard_is_published_whatever_happened_and_the_last_task_decides_the_runs_state(dag):
    assert dag.get_task("publish_dashboard").trigger_rule == "all_done"
    report = dag.get_task("report_run")
    assert report.trigger_rule == "all_done" and [task.task_id for task in dag.leaves] == ["report_run"]
    assert report.retries == 0


def test_each_resolve_task_skips_its_dataset_but_not_the_tasks_that_run_whatever_happened(dag):
    for name in ("nyt", "jhu", "states", "counties"):
        resolve = dag.get_task(f"{name}.resolve")
        assert type(resolve).__name__ == "_ShortCircuitDecoratedOperator", name
        assert resolve.ignore_downstream_trigger_rules is False, name


def test_every_task_but_the_report_and_the_checks_retries_with_exponential_backoff(dag):
    retried = [task for task in dag.tasks if task.task_id != "report_run" and not task.task_id.endswith(CHECKS)]
    assert len(retried) == 15
    for task in retried:
        backoff = (task.retry_delay, task.retry_exponential_backoff, task.max_retry_delay)
        assert (task.retries, *backoff) == (3, timedelta(minutes=2), 2.0, timedelta(minutes=30)), task.task_id
    # A failed data quality check is a fact about the data, which a retry does not change.
    assert {dag.get_task(task).retries for task in dag.task_ids if task.endswith(CHECKS)} == {0}


def test_each_tasks_failure_is_recorded_by_its_own_callback_and_the_run_reported_by_the_last_tasks(dag):
    for task in dag.tasks:
        if task.task_id == "report_run":
            assert (task.on_success_callback, task.on_failure_callback) == ([notify_run], [notify_run])
        else:
            assert (task.on_success_callback, task.on_failure_callback) == ([], [record_failure]), task.task_id


def test_no_task_can_run_longer_than_half_an_hour_and_a_download_gives_up_well_before(dag):
    from covid_etl.sources.fetch import download_to

    assert {task.execution_timeout for task in dag.tasks} == {timedelta(minutes=30)}
    options = {name: p.default for name, p in inspect.signature(download_to).parameters.items()}
    attempts = 1 + options["retries"]
    longest = attempts * (options["connect_timeout"] + options["read_timeout"]) + options["max_seconds"]
    assert longest <= 10 * 60  # a hung or crawling server fails the try, not the task's timeout


def test_each_load_updates_its_table_as_an_airflow_asset_other_dags_can_be_scheduled_on(dag):
    outlets = {task.task_id: [(a.name, a.uri) for a in task.outlets] for task in dag.tasks if task.outlets}
    assert outlets == {
        task: [(table, f"postgres://covid_db:5432/covid/public/{table}")] for task, table in TABLES.items()
    }


def test_a_run_chooses_its_datasets_among_the_three_by_default_all(dag):
    param = dag.params.get_param("datasets")
    assert param.value == list(CHOICES) == ["national", "states", "counties"]
    assert param.schema["type"] == "array" and param.schema["items"]["enum"] == list(CHOICES)


def test_without_url_params_a_run_loads_the_publications_pinned_to_its_date(dag):
    assert {name: dag.params[f"{name}_url"] for name in ("nyt", "jhu", "states", "counties")} == dict.fromkeys(
        ("nyt", "jhu", "states", "counties")
    )


# -- parsed in a fresh interpreter, with the settings read at parse time --------------------------------

# Parses a DAG folder and prints what the tests read as JSON: the deadline as the DAG processor stores it
# (serialized), the params' defaults, the retries, and every TCP connection attempted while parsing.
PARSE = """
import json, socket, sys
attempts = []
real_connect = socket.socket.connect
def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        attempts.append(str(address))
    return real_connect(self, address)
socket.socket.connect = connect
socket.socket.connect_ex = lambda self, address: attempts.append(str(address)) or 111
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags["covid_etl"]
print(json.dumps({
    "dags": list(bag.dag_ids),
    "errors": len(bag.import_errors),
    "deadline": DagSerialization.to_dict(dag)["dag"]["deadline"],
    "params": {name: dag.params[name] for name in dag.params},
    "retries": sorted({t.retries for t in dag.tasks if t.task_id != "report_run" and "check_" not in t.task_id}),
    "attempts": attempts,
}, default=str))
"""


def parse(folder=ROOT / "dags", **env: str) -> dict:
    """Parse ``folder`` in a fresh interpreter with ``env`` over the suite's settings (no deadline)."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "dags")]),
        "COVID_ETL_RUN_DEADLINE_MINUTES": "",
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", PARSE, str(folder)], env=environment, capture_output=True, text=True, check=True
    )
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert (parsed["dags"], parsed["errors"]) == (["covid_etl"], 0), done.stderr[-2000:]
    return parsed


def fingerprint_of(parsed: dict) -> str:
    (alert,) = parsed["deadline"]
    return alert["callback"]["__data__"]["kwargs"]["dag_fingerprint"]


@pytest.fixture(scope="module")
def as_deployed() -> dict:
    """The DAG parsed with no COVID_ETL_* setting, as on MWAA."""
    return parse()


def test_a_run_not_finished_three_hours_after_it_was_queued_is_reported_by_the_triggerer(as_deployed):
    (alert,) = as_deployed["deadline"]
    assert alert["reference"] == {"reference_type": "DagRunQueuedAtDeadline"}
    assert alert["interval"]["__data__"] == 3 * 60 * 60.0
    callback = alert["callback"]["__data__"]
    assert callback["path"] == f"{notify_late_run.__module__}.{notify_late_run.__name__}"
    assert callback["kwargs"]["bound_minutes"] == 180.0


def test_as_deployed_a_run_loads_every_dataset_pinned_with_three_retries_a_task(as_deployed):
    assert as_deployed["params"] == {"datasets": list(CHOICES)} | {
        f"{name}_url": None for name in ("nyt", "jhu", "states", "counties")
    }
    assert as_deployed["retries"] == [3]


def test_the_dags_fingerprint_is_the_same_when_it_is_parsed_again(as_deployed):
    # apache/airflow#68732: Airflow 3.3.1 keeps a deadline only where it changed (covid_etl/notify/deadline.py);
    # a fingerprint that changed on every parse would make every parse a new DAG version.
    assert fingerprint_of(parse()) == fingerprint_of(as_deployed)


def test_an_edit_of_the_dag_file_changes_its_deadline_so_that_airflow_keeps_it(as_deployed, tmp_path):
    source = (ROOT / "dags" / "covid_etl_dag.py").read_text()
    (tmp_path / "covid_etl_dag.py").write_text(source.replace('tags=["covid-19",', 'tags=["edited", "covid-19",', 1))
    assert fingerprint_of(parse(tmp_path)) != fingerprint_of(as_deployed)


def test_a_changed_param_default_changes_the_deadline_too(as_deployed):
    parsed = parse(COVID_ETL_DATASETS="national")
    assert parsed["params"]["datasets"] == ["national"]
    assert fingerprint_of(parsed) != fingerprint_of(as_deployed)


def test_settings_read_at_parse_time_set_the_deadline_the_retries_and_the_source_urls():
    urls = {
        f"COVID_ETL_{name.upper()}_URL": f"http://mirror/{name}.csv" for name in ("nyt", "jhu", "states", "counties")
    }
    parsed = parse(COVID_ETL_RUN_DEADLINE_MINUTES="0.5", COVID_ETL_TASK_RETRIES="0", **urls)
    (alert,) = parsed["deadline"]
    assert alert["interval"]["__data__"] == 30.0 and alert["callback"]["__data__"]["kwargs"]["bound_minutes"] == 0.5
    assert parsed["retries"] == [0]  # `make run`: one run, one answer
    assert {name: parsed["params"][f"{name}_url"] for name in ("nyt", "jhu", "states", "counties")} == {
        name: f"http://mirror/{name}.csv" for name in ("nyt", "jhu", "states", "counties")
    }


def test_parsing_opens_no_network_or_database_connection_and_a_deadline_of_0_is_none():
    # Both services are configured but unreachable; any connection attempt is recorded.
    parsed = parse(
        AIRFLOW_CONN_COVID_DB="postgresql://nobody@127.0.0.1:9/covid",
        AIRFLOW_CONN_AWS_DEFAULT='{"conn_type": "aws", "extra": {"endpoint_url": "http://127.0.0.1:9"}}',
        COVID_ETL_GITHUB_API_URL="http://127.0.0.1:9/api",
        COVID_ETL_NYT_URL="http://127.0.0.1:9/us.csv",
        COVID_ETL_RUN_DEADLINE_MINUTES="0",
    )
    assert parsed["attempts"] == []
    assert parsed["deadline"] is None


def test_the_fingerprint_covers_the_packages_code_and_sql_and_the_covid_etl_settings(tmp_path, monkeypatch):
    from covid_etl.notify import deadline

    shutil.copytree(ROOT / "include", tmp_path / "include")
    monkeypatch.setattr(deadline, "_SOURCES", tmp_path / "include")
    dag_file = ROOT / "dags" / "covid_etl_dag.py"
    original = deadline.fingerprint(dag_file)
    assert deadline.fingerprint(dag_file) == original
    sql = tmp_path / "include" / "sql" / "merge_national.sql"
    sql.write_text(sql.read_text() + "\n-- edited\n")
    edited_sql = deadline.fingerprint(dag_file)
    code = tmp_path / "include" / "covid_etl" / "config.py"
    code.write_text(code.read_text() + "\n# edited\n")
    edited_code = deadline.fingerprint(dag_file)
    monkeypatch.setenv("COVID_ETL_TASK_RETRIES", "1")
    assert len({original, edited_sql, edited_code, deadline.fingerprint(dag_file)}) == 4
