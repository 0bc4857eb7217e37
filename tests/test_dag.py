"""DAG integrity: it parses cleanly and fast, with the schedule, retries, callbacks and params users expect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from covid_etl.callbacks import notify_late_run, notify_success, record_and_notify_failure
from support import ROOT


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


def test_runs_daily_one_run_at_a_time_without_catchup(dag):
    assert (dag.schedule, dag.catchup, dag.max_active_runs) == ("@daily", False, 1)


def test_has_owner_tags_and_its_docstring_as_documentation(dag):
    assert dag.owner == "data-engineering"
    assert {"covid-19", "etl"} <= set(dag.tags)
    assert dag.doc_md and "covid_etl" in dag.doc_md and "upsert_days" in dag.doc_md


def test_tasks_are_wired_resolve_fetch_parse_merge_upsert_publish_report(dag):
    upstream = {task.task_id: sorted(task.upstream_task_ids) for task in dag.tasks}
    assert upstream == {
        "resolve_sources": [],
        "fetch_nyt": ["resolve_sources"],
        "fetch_jhu": ["resolve_sources"],
        "parse_nyt": ["fetch_nyt"],
        "parse_jhu": ["fetch_jhu"],
        "merge_sources": ["parse_jhu", "parse_nyt"],
        "upsert_days": ["merge_sources"],
        **{
            task: upstream
            for name in ("states", "counties")
            for task, upstream in {
                f"resolve_{name}": [],
                f"fetch_{name}": [f"resolve_{name}"],
                f"load_{name}": [f"fetch_{name}"],
                f"check_{name}_columns": [f"load_{name}"],
                f"check_{name}_table": [f"load_{name}"],
            }.items()
        },
        "compare_states_with_nation": ["load_states", "upsert_days"],
        "publish_dashboard": [
            "check_counties_columns",
            "check_counties_table",
            "check_states_columns",
            "check_states_table",
            "compare_states_with_nation",
            "upsert_days",
        ],
        "report_run": ["publish_dashboard"],
    }


def test_the_dashboard_is_published_whatever_happened_and_the_last_task_decides_the_runs_state(dag):
    assert dag.get_task("publish_dashboard").trigger_rule == "all_done"
    report = dag.get_task("report_run")
    assert report.trigger_rule == "all_done" and [t.task_id for t in dag.leaves] == ["report_run"]
    # Each failed task has already reported itself: the report adds no second message, and no retry.
    assert (report.retries, report.on_failure_callback) == (0, [])


def test_a_run_whose_publications_were_all_loaded_skips_the_work_but_not_the_last_two_tasks(dag):
    resolve = dag.get_task("resolve_sources")
    assert type(resolve).__name__ == "_ShortCircuitDecoratedOperator"
    assert resolve.ignore_downstream_trigger_rules is False


WORK_TASKS = (
    "resolve_sources",
    "fetch_nyt",
    "fetch_jhu",
    "parse_nyt",
    "parse_jhu",
    "merge_sources",
    "upsert_days",
    "publish_dashboard",
)


def test_every_task_retries_with_exponential_backoff_and_reports_failure(dag):
    for task in map(dag.get_task, WORK_TASKS):
        assert task.retries == 3
        assert task.retry_exponential_backoff == 2.0
        assert task.max_retry_delay == timedelta(minutes=30)
        assert task.on_failure_callback == [record_and_notify_failure]


def test_no_task_can_run_longer_than_half_an_hour_and_a_download_gives_up_well_before(dag):
    import inspect

    from covid_etl.fetch import download_to

    assert {task.execution_timeout for task in dag.tasks} == {timedelta(minutes=30)}
    options = {name: p.default for name, p in inspect.signature(download_to).parameters.items()}
    attempts = 1 + options["retries"]
    longest = attempts * (options["connect_timeout"] + options["read_timeout"]) + options["max_seconds"]
    assert longest <= 10 * 60  # a hung or crawling server fails the try, not the task's timeout


def test_only_the_run_report_announces_success(dag):
    with_success = {task.task_id for task in dag.tasks if task.on_success_callback}
    assert with_success == {"report_run"}
    assert dag.get_task("report_run").on_success_callback == [notify_success]


# The DAG's deadline as the DAG processor stores it, parsed in a fresh interpreter: the suite parses
# without one (conftest.py: dag.test() cannot run a DAG that has one, apache/airflow#73428).
READ_DEADLINE = (
    "import json; from airflow.dag_processing.dagbag import DagBag;"
    "from airflow.serialization.serialized_objects import DagSerialization;"
    f"dag = DagBag(dag_folder={str(ROOT / 'dags')!r}).dags['covid_etl'];"
    "print(json.dumps(DagSerialization.to_dict(dag)['dag']['deadline'], default=str))"
)


def deadline_as_stored(**env: str) -> list[dict] | None:
    return _parse_in_subprocess(READ_DEADLINE, **env)


def test_a_run_not_finished_three_hours_after_it_was_queued_is_reported_by_the_triggerer():
    (alert,) = deadline_as_stored(COVID_ETL_RUN_DEADLINE_MINUTES="")
    assert alert["reference"] == {"reference_type": "DagRunQueuedAtDeadline"}
    assert alert["interval"]["__data__"] == 3 * 60 * 60.0
    callback = alert["callback"]["__data__"]
    assert callback["path"] == f"{notify_late_run.__module__}.{notify_late_run.__name__}"
    assert callback["kwargs"]["bound_minutes"] == 180.0


def test_the_deadline_can_be_set_in_decimal_minutes_or_turned_off_at_parse_time():
    (alert,) = deadline_as_stored(COVID_ETL_RUN_DEADLINE_MINUTES="0.5")
    assert alert["interval"]["__data__"] == 30.0 and alert["callback"]["__data__"]["kwargs"]["bound_minutes"] == 0.5
    assert deadline_as_stored(COVID_ETL_RUN_DEADLINE_MINUTES="0") is None


def test_a_tasks_process_parses_the_dag_without_the_deadline_it_never_reads():
    # What the task runner sets while it parses the file to run one task (get_parsing_context()).
    as_for_a_task = {"_AIRFLOW_PARSING_CONTEXT_DAG_ID": "covid_etl", "_AIRFLOW_PARSING_CONTEXT_TASK_ID": "fetch_nyt"}
    assert deadline_as_stored(COVID_ETL_RUN_DEADLINE_MINUTES="", **as_for_a_task) is None


def test_any_change_to_the_dag_changes_its_deadline_so_that_airflow_3_3_1_keeps_it(tmp_path):
    # apache/airflow#68732: a new DAG version whose deadline is unchanged loses it (covid_etl/deadline.py).
    edited = tmp_path / "dags"
    edited.mkdir()
    source = (ROOT / "dags" / "covid_etl_dag.py").read_text()
    (edited / "covid_etl_dag.py").write_text(source.replace('tags=["covid-19",', 'tags=["edited", "covid-19",', 1))

    def fingerprint(folder, **env):
        code = READ_DEADLINE.replace(repr(str(ROOT / "dags")), repr(str(folder)))
        (alert,) = _parse_in_subprocess(code, COVID_ETL_RUN_DEADLINE_MINUTES="", **env)
        return alert["callback"]["__data__"]["kwargs"]["dag_fingerprint"]

    original = fingerprint(ROOT / "dags")
    assert fingerprint(ROOT / "dags") == original  # parsing again changes nothing: no new version
    assert fingerprint(edited) != original
    assert fingerprint(ROOT / "dags", COVID_ETL_DATASETS="national") != original  # a param's default


@pytest.mark.parametrize("value", ["-5", "soon", "inf", "nan"])
def test_a_deadline_that_is_not_a_positive_number_of_minutes_or_0_is_refused(monkeypatch, value):
    from covid_etl.config import run_deadline_minutes

    monkeypatch.setenv("COVID_ETL_RUN_DEADLINE_MINUTES", value)
    with pytest.raises(ValueError, match=rf"^COVID_ETL_RUN_DEADLINE_MINUTES={value!r}: expected a positive number"):
        run_deadline_minutes()


def test_runs_can_exist_back_to_the_sources_first_days_without_catching_up(dag):
    assert dag.start_date == datetime(2020, 1, 21, tzinfo=UTC) and dag.catchup is False


def test_the_retry_count_can_be_lowered_for_one_shot_runs():
    code = (
        "import json; from airflow.dag_processing.dagbag import DagBag;"
        f"dag = DagBag(dag_folder={str(ROOT / 'dags')!r}).dags['covid_etl'];"
        "print(json.dumps(sorted({task.retries for task in dag.tasks if task.task_id != 'report_run'})))"
    )
    assert _parse_in_subprocess(code, COVID_ETL_TASK_RETRIES="0") == [0]


def test_without_url_params_a_run_loads_the_publications_pinned_to_its_date(dag):
    assert dag.params["nyt_url"] is None and dag.params["jhu_url"] is None


def _parse_in_subprocess(code: str, **env: str) -> dict:
    """Parse the DAG folder in a fresh interpreter and return what the code prints as JSON."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "dags")]), **env}
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_environment_variables_override_the_source_urls():
    code = (
        "import json; from airflow.dag_processing.dagbag import DagBag;"
        f"dag = DagBag(dag_folder={str(ROOT / 'dags')!r}).dags['covid_etl'];"
        "print(json.dumps({k: dag.params[k] for k in ('nyt_url', 'jhu_url')}))"
    )
    urls = _parse_in_subprocess(
        code, COVID_ETL_NYT_URL="http://mirror/us.csv", COVID_ETL_JHU_URL="http://mirror/jhu.csv"
    )
    assert urls == {"nyt_url": "http://mirror/us.csv", "jhu_url": "http://mirror/jhu.csv"}


def test_parsing_the_dag_opens_no_network_or_database_connection():
    # Both services are configured but unreachable; any connection attempt is recorded.
    code = (
        "import json, socket\n"
        "attempts = []\n"
        "real_connect = socket.socket.connect\n"
        "def connect(self, address):\n"
        "    if self.family in (socket.AF_INET, socket.AF_INET6): attempts.append(str(address))\n"
        "    return real_connect(self, address)\n"
        "socket.socket.connect = connect\n"
        "socket.socket.connect_ex = lambda self, address: attempts.append(str(address)) or 111\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(ROOT / 'dags')!r})\n"
        "print(json.dumps({'dags': list(bag.dag_ids), 'errors': len(bag.import_errors), 'attempts': attempts}))\n"
    )
    result = _parse_in_subprocess(
        code,
        AIRFLOW_CONN_COVID_DB="postgresql://nobody@127.0.0.1:9/covid",
        AIRFLOW_CONN_AWS_DEFAULT='{"conn_type": "aws", "extra": {"endpoint_url": "http://127.0.0.1:9"}}',
        COVID_ETL_NYT_URL="http://127.0.0.1:9/us.csv",
        COVID_ETL_JHU_URL="http://127.0.0.1:9/jhu.csv",
    )
    assert result == {"dags": ["covid_etl"], "errors": 0, "attempts": []}
