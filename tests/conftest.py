"""Shared fixtures: a real PostgreSQL, moto's SNS endpoint with an SQS inbox, a local HTTP server.

Airflow reads its configuration when first imported, so its environment is set here, before any test
module imports it: a private AIRFLOW_HOME with a SQLite metadata database, no examples.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support import BACKFILL_DAYS, BACKFILL_FROM, ROOT

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="covid-etl-airflow-"))
# Each pytest process (every xdist worker too) makes its own: removed when the process ends, or every run
# would leave its metadata databases and logs behind.
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
# The suite sets its own sources, database and retries: a developer's settings must not leak in.
for _name in [name for name in os.environ if name.startswith(("COVID_ETL_", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))]:
    del os.environ[_name]
os.environ.update(
    AIRFLOW_HOME=str(_AIRFLOW_HOME),
    AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__UNIT_TEST_MODE="False",
    AIRFLOW_VAR_COVID_ETL_STAGING_URI=(_AIRFLOW_HOME / "staging").as_uri(),
    # dag.test() fails a successful run of a DAG with a deadline (apache/airflow#73428), and never evaluates
    # one: the DAG's deadline is tested on a real scheduler (e2e/test_deadline.py) and parsed in
    # e2e/test_dag_definition.py.
    COVID_ETL_RUN_DEADLINE_MINUTES="0",
)

from dag_runs import DagRunner  # noqa: E402

from devstack import LocalPostgres, LocalSns, free_port  # noqa: E402
from fake_github import (  # noqa: E402
    LATER_STATES,
    STATE_COUNTY_VINTAGES,
    STATES_PATH,
    FakeGitHub,
    real_repositories,
    with_daily_publications,
    with_state_and_county_publications,
)
from local_http import FixtureServer  # noqa: E402

# `make test` runs the suite on xdist workers, each module's tests on one worker (its module fixtures are made
# once) and the modules on the shared local Airflow stack all on one (the stack starts once a session per
# worker). xdist's loadgroup cannot say so: under pytest 9 its xdist_group markers no longer reach the test ids.
SHARED_STACK_MODULES = (
    "tests/e2e/dashboard/test_dashboard_browser.py",
    "tests/e2e/test_airflow_stack.py",
    "tests/e2e/test_backfill.py",
    "tests/infra/test_package.py",
)
SHARED_STACK_FIXTURES = {"local_airflow", "backfilled"}
# The slowest modules first (`make test` prints the slowest tests), so that none starts last and runs alone;
# the first two mostly wait (on the AWS provider's RDS waiters, on crawling downloads).
SLOWEST_FIRST = (
    "tests/infra/terraform/test_no_password_in_plan_or_state.py",
    "tests/e2e/test_deadline.py",
    *SHARED_STACK_MODULES,
    "tests/e2e/test_faults.py",
    "tests/e2e/test_make_run.py",
)


def pytest_collection_modifyitems(items):
    """The slowest modules first; a test on the shared stack outside SHARED_STACK_MODULES is refused."""
    for item in items:
        module = _module(item.nodeid)
        if SHARED_STACK_FIXTURES & set(item.fixturenames) and module not in SHARED_STACK_MODULES:
            raise pytest.UsageError(f"{module} uses the shared Airflow stack: add it to SHARED_STACK_MODULES")

    def rank(item) -> int:
        module = _module(item.nodeid)
        return SLOWEST_FIRST.index(module) if module in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # stable: each module's tests keep their order


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


_shared_stacks: list = []  # the shared stack, once local_airflow has started it


def pytest_runtest_teardown(item, nextitem):
    """Stop the shared stack as soon as its modules are done, not at the session's end: idle, its scheduler,
    DAG processor, triggerer and API server still poll, and the rest of the session is short of CPU. Its
    modules run as one unit, in a row (pytest_collection_modifyitems refuses its fixtures elsewhere), so once
    the next test is not theirs no other test will ask for it."""
    if _module(item.nodeid) in SHARED_STACK_MODULES and (
        nextitem is None or _module(nextitem.nodeid) not in SHARED_STACK_MODULES
    ):
        while _shared_stacks:
            _shared_stacks.pop().down()


def pytest_xdist_make_scheduler(config, log):
    """xdist's load-by-module scheduling, with the shared stack's modules as one unit, in the order collected."""
    from xdist.scheduler import LoadScopeScheduling

    # xdist's default orders the units by their number of tests, which sent the one-test password module,
    # the slowest, last: it ran alone for its last five minutes.
    config.option.loadscopereorder = False

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "the shared Airflow stack" if _module(nodeid) in SHARED_STACK_MODULES else _module(nodeid)

    return ByModule(config, log)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    server = LocalPostgres(tmp_path_factory.mktemp("pg") / "data", port=free_port(), durable=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def db_url(postgres_server) -> str:
    """A fresh, empty database on the session's server."""
    return postgres_server.create_database(f"test_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def local_sns():
    sns = LocalSns(free_port()).start()
    yield sns
    sns.stop()


@pytest.fixture
def sns_inbox(local_sns) -> LocalSns:
    """The local SNS endpoint, its SQS inbox emptied of earlier tests' messages."""
    local_sns.received(wait_seconds=0)
    return local_sns


@pytest.fixture(scope="session")
def http_server() -> FixtureServer:
    server = FixtureServer()
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def airflow_metadata_db() -> Path:
    """Migrate the session's SQLite metadata database once (dag.test() records runs there)."""
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], check=True, capture_output=True)
    return _AIRFLOW_HOME


@pytest.fixture(autouse=True)
def _no_failed_rows_left_pending(request):
    """Failed runs' rows that a database could not take wait in an Airflow Variable for the next run
    (covid_etl/tasks/summary.py). A test's are its own: the next test's run would write them into its database."""
    yield
    if "airflow_metadata_db" in request.fixturenames:
        from airflow.models import Variable

        from covid_etl.tasks.summary import UNRECORDED_VARIABLE

        Variable.delete(UNRECORDED_VARIABLE)


@pytest.fixture(scope="session")
def stack_github() -> FakeGitHub:
    """The stack's GitHub: the real files, a NYT and a JHU commit a day before the backfill's days, and two
    publications of NYT's state file (fake_github: the newest of STATE_COUNTY_VINTAGES, and LATER_STATES)."""
    repositories = with_daily_publications(BACKFILL_FROM - timedelta(days=1), BACKFILL_DAYS)
    with_state_and_county_publications(repositories, STATE_COUNTY_VINTAGES[-1].only(STATES_PATH), LATER_STATES)
    server = FakeGitHub(repositories)
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def start_stack(tmp_path_factory, stack_github):
    """Start `make up`'s stack on free ports; the caller stops it (``down()``).

    The DAG is unpaused at creation, so the scheduler starts a run of its own at once: it must reach
    the fake GitHub (the tests run offline), not GitHub. The scheduler's own runs load the national series
    and the states (the newest publications the fake holds); a run that loads counties names its file in
    its conf (the dashboard's tests). ``extra_env`` goes over that.
    """
    from airflow_stack import AirflowStack

    def start(name: str, **extra_env: str) -> AirflowStack:
        state = tmp_path_factory.mktemp(name)
        return AirflowStack(
            state_dir=state / "stack",
            pg_data=state / "pgdata",
            api_port=free_port(),
            pg_port=free_port(),
            extra_env={
                **stack_github.environment(),
                "AIRFLOW_VAR_COVID_ETL_STAGING_URI": (state / "staging").as_uri(),
                "COVID_ETL_DATASETS": "national,states",
                **extra_env,
            },
        ).up()

    return start


@pytest.fixture(scope="session")
def local_airflow(start_stack, http_server):
    """The stack most tests share, pinning its runs through the fake GitHub. ``sources`` are fixed
    fixture URLs, for a run's conf: the dashboard's test triggers all three datasets on them."""
    stack = start_stack("airflow-stack")
    _shared_stacks.append(stack)
    stack.sources = {
        "datasets": ["national", "states", "counties"],
        "nyt_url": http_server.url("files/real/nyt-us-2023-01-24.csv"),
        "jhu_url": http_server.url("files/real/jhu-combined-2021-03-17.csv"),
        "states_url": http_server.url("files/states/us-states.csv"),
        "counties_url": http_server.url("files/counties/us-counties.csv"),
    }
    yield stack
    stack.down()  # when the run ends within its modules (pytest_runtest_teardown stops it otherwise)


@pytest.fixture(scope="session")
def backfilled(local_airflow) -> dict:
    """A backfill of BACKFILL_DAYS days through the stack's REST API (POST /api/v2/backfills), waited for.

    Returns the backfill and its runs (run id, logical date, state)."""
    from airflow_client import AirflowClient

    api = AirflowClient.login(local_airflow)
    api.wait_for_dag()
    api.wait_for_all_runs()  # the scheduler's own first run
    start = datetime.combine(BACKFILL_FROM, datetime.min.time(), tzinfo=UTC)
    backfill = api.post(
        "/api/v2/backfills",
        {
            "dag_id": "covid_etl",
            "from_date": start.isoformat(),
            "to_date": (start + timedelta(days=BACKFILL_DAYS - 1)).isoformat(),
            "max_active_runs": 1,
            "reprocess_behavior": "none",
        },
    )
    runs = api.wait_for_all_runs(run_type="backfill", count=BACKFILL_DAYS, timeout=600)
    return {"backfill": backfill, "runs": runs}


def _pipeline_settings(db_url: str, sns) -> dict[str, str]:
    return {
        "AIRFLOW_CONN_COVID_DB": db_url,
        "AIRFLOW_CONN_AWS_DEFAULT": sns.airflow_connection(),
        "AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN": sns.topic_arn,
    }


@pytest.fixture
def pipeline_env(monkeypatch, db_url, sns_inbox) -> dict[str, str]:
    """Connections and variables pointing the DAG at this test's database and the local SNS."""
    env = _pipeline_settings(db_url, sns_inbox)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="session")
def covid_etl_dag(airflow_metadata_db):
    """The DAG as parsed once for the session (a parse takes seconds). A try that fails for a transient cause
    is retried after a second, not the DAG's minutes: dag.test() waits out each delay."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["covid_etl"]
    for task in dag.tasks:
        task.retry_delay, task.max_retry_delay = timedelta(seconds=1), timedelta(seconds=2)
    return dag


@pytest.fixture
def dag_runner(covid_etl_dag, pipeline_env, sns_inbox, http_server) -> DagRunner:
    """Runs covid_etl with dag.test() on this test's database (tests/dag_runs.py)."""
    return DagRunner(covid_etl_dag, pipeline_env["AIRFLOW_CONN_COVID_DB"], sns_inbox, http_server.url)


@pytest.fixture(scope="module")
def module_dag_runner(covid_etl_dag, postgres_server, local_sns, http_server):
    """Like dag_runner, on a database of the module's own, for tests that each read one fact of a sequence
    of runs the module's fixtures make once (each run costs seconds). ``runner.env`` sets more of the
    environment for the module (a MonkeyPatch)."""
    db = postgres_server.create_database(f"test_{uuid.uuid4().hex[:12]}")
    with pytest.MonkeyPatch.context() as env:
        for name, value in _pipeline_settings(db, local_sns).items():
            env.setenv(name, value)
        yield DagRunner(covid_etl_dag, db, local_sns, http_server.url, env)


@pytest.fixture
def run_dag(airflow_metadata_db, pipeline_env, http_server):
    """Run covid_etl once with dag.test() on fixture files; return (state, {task: state}).

    ``nyt_path`` and ``jhu_path`` are paths on the local HTTP server, e.g. ``files/real/nyt-us-2023-01-24.csv``.
    """
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["covid_etl"]

    def run(nyt_path: str, jhu_path: str = "files/jhu/combined-us-through-2021-09.csv", **conf):
        urls = {"nyt_url": http_server.url(nyt_path), "jhu_url": http_server.url(jhu_path)}
        dag_run = dag.test(run_conf={"datasets": ["national"], **urls, **conf})
        return dag_run.state, {ti.task_id: ti.state for ti in dag_run.get_task_instances()}

    return run


@pytest.fixture(scope="session")
def real_github() -> FakeGitHub:
    """A fake GitHub serving the real files of tests/fixtures/real under their real commits."""
    server = FakeGitHub(real_repositories())
    yield server
    server.shutdown()


@pytest.fixture
def github(monkeypatch, real_github) -> FakeGitHub:
    """The fake GitHub as the pipeline's GitHub (COVID_ETL_GITHUB_*), its request log emptied."""
    for name, value in real_github.environment().items():
        monkeypatch.setenv(name, value)
    real_github.clear()
    return real_github


@pytest.fixture
def run_pinned(airflow_metadata_db, pipeline_env, github):
    """Run covid_etl once with dag.test() at a logical date, its sources pinned through the fake GitHub;
    return (state, {task: state}, run id)."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["covid_etl"]

    def run(logical_date, datasets=("national",)):
        dag_run = dag.test(logical_date=logical_date, run_conf={"datasets": list(datasets)})
        return dag_run.state, {ti.task_id: ti.state for ti in dag_run.get_task_instances()}, dag_run.run_id

    return run


@pytest.fixture
def make_run_env(db_url, http_server, tmp_path):
    """The environment of `make run`'s driver on this test's database: on fixture files when given (unpinned),
    else pinned through whatever GitHub ``extra`` names."""

    def environment(nyt: str | None, jhu: str | None = "jhu/combined-us-through-2021-09.csv", **extra: str):
        env = {
            **os.environ,
            "COVID_ETL_DB_URL": db_url,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "include"), str(ROOT / "scripts")]),
            "AIRFLOW_VAR_COVID_ETL_STAGING_URI": (tmp_path / "staging").as_uri(),
            "COVID_ETL_DATASETS": "national",
            **extra,
        }
        if nyt:
            env["COVID_ETL_NYT_URL"] = http_server.url(f"files/{nyt}")
        if jhu and nyt:
            env["COVID_ETL_JHU_URL"] = http_server.url(f"files/{jhu}")
        for name in ("AIRFLOW_HOME", "AIRFLOW_CONN_COVID_DB", "AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN"):
            env.pop(name, None)
        return env

    return environment


@pytest.fixture
def make_run(make_run_env):
    """Run `make run`'s driver (in make_run_env's environment); return (exit code, output lines)."""

    def run(nyt: str | None, jhu: str | None = "jhu/combined-us-through-2021-09.csv", **extra: str):
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "run_pipeline.py")],
            env=make_run_env(nyt, jhu, **extra),
            capture_output=True,
            text=True,
        )
        return done.returncode, done.stdout.strip().splitlines()

    return run
