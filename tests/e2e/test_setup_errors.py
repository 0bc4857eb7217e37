"""The errors a user meets before any work: one line each, no traceback (issue 20, point 3).

`make run` and `make up` refuse a wrong COVID_ETL_* setting, a taken port they were asked for, and (make
run) a database that does not answer, before they start PostgreSQL, moto or Airflow: exit status 2,
nothing on stdout, the line on stderr. The DAG, parsed with a wrong setting, fails with the same line.
A usual port that is taken is no error: the embedded PostgreSQL, moto and the API server take another.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from airflow_stack import stack_from_environment
from covid_etl.config import ConfigError
from devstack import choose_port, embedded_postgres, free_port
from support import ROOT

# `make run` on a state folder of the test's own (its embedded database, Airflow home): sys.argv[1].
MAKE_RUN_IN = (
    "import sys; from pathlib import Path; import run_pipeline; sys.exit(run_pipeline.main(Path(sys.argv[1])))"
)
MAKE_UP = [str(ROOT / "scripts" / "airflow_stack.py"), "up"]


def command(args: list[str], **settings: str) -> subprocess.CompletedProcess:
    """Run one of the local commands' scripts as the Makefile does, with only these COVID_ETL_* settings."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("COVID_ETL_", "AIRFLOW_PORT"))}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT / "include"), str(ROOT / "scripts")]), **settings)
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=60)


def make_run(**settings: str) -> subprocess.CompletedProcess:
    return command([str(ROOT / "scripts" / "run_pipeline.py")], **settings)


def assert_refused_in_one_line(done: subprocess.CompletedProcess, line: str) -> None:
    assert (done.returncode, done.stdout, done.stderr) == (2, "", line + "\n")


@contextmanager
def taken_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


WRONG_SETTINGS = [
    pytest.param(
        "COVID_ETL_LOGICAL_DATE",
        "2021-13-01",
        "COVID_ETL_LOGICAL_DATE='2021-13-01': expected a date YYYY-MM-DD",
        id="date",
    ),
    pytest.param(
        "COVID_ETL_DATASETS",
        "national,county",
        "COVID_ETL_DATASETS='national,county': expected a comma-separated list of national, states, counties "
        "(unknown: county)",
        id="datasets",
    ),
    pytest.param(
        "COVID_ETL_TASK_RETRIES",
        "three",
        "COVID_ETL_TASK_RETRIES='three': expected a whole number of retries, 0 or more",
        id="retries",
    ),
    pytest.param(
        "COVID_ETL_RUN_DEADLINE_MINUTES",
        "soon",
        "COVID_ETL_RUN_DEADLINE_MINUTES='soon': expected a positive number of minutes, or 0 for no deadline",
        id="deadline",
    ),
    pytest.param(
        "COVID_ETL_COUNTIES_URL",
        "us-counties.csv",
        "COVID_ETL_COUNTIES_URL='us-counties.csv': expected an http:// or https:// URL",
        id="source-url",
    ),
    pytest.param(
        "COVID_ETL_GITHUB_RAW_URL",
        "raw",
        "COVID_ETL_GITHUB_RAW_URL='raw': expected an http:// or https:// URL",
        id="raw",
    ),
    pytest.param(
        "COVID_ETL_DB_URL",
        "postgresql://me:s3cret@/covid",
        "COVID_ETL_DB_URL='postgresql://me:***@/covid': expected postgresql://user[:password]@host[:port]/database",
        id="db-url",
    ),
    pytest.param(
        "COVID_ETL_PG_PORT", "54329x", "COVID_ETL_PG_PORT='54329x': expected a TCP port number from 1 to 65535", id="pg"
    ),
    pytest.param(
        "COVID_ETL_SNS_PORT", "-1", "COVID_ETL_SNS_PORT='-1': expected a TCP port number from 1 to 65535", id="sns"
    ),
    pytest.param(
        "COVID_ETL_DATASET",
        "national",
        "COVID_ETL_DATASET='national': not a setting of this project; did you mean COVID_ETL_DATASETS?",
        id="misspelt-name",
    ),
]


@pytest.mark.parametrize("name, value, line", WRONG_SETTINGS)
def test_make_run_refuses_a_wrong_setting_in_one_line_before_it_starts_anything(name, value, line):
    assert_refused_in_one_line(make_run(**{name: value}), f"make run: {line}")


@pytest.mark.parametrize(
    "name, value, line",
    [
        pytest.param(
            "COVID_ETL_API_PORT",
            "http",
            "COVID_ETL_API_PORT='http': expected a TCP port number from 1 to 65535",
            id="api",
        ),
        *(case for case in WRONG_SETTINGS if case.id in ("datasets", "pg", "misspelt-name")),
    ],
)
def test_make_up_refuses_a_wrong_setting_in_one_line_before_it_starts_anything(name, value, line):
    assert_refused_in_one_line(command(MAKE_UP, **{name: value}), f"make up: {line}")


def test_make_run_names_every_wrong_setting_at_once():
    done = make_run(COVID_ETL_LOGICAL_DATE="tomorrow", COVID_ETL_TASK_RETRIES="x")
    assert done.returncode == 2 and done.stderr.splitlines() == [
        "make run: COVID_ETL_LOGICAL_DATE='tomorrow': expected a date YYYY-MM-DD",
        "make run: COVID_ETL_TASK_RETRIES='x': expected a whole number of retries, 0 or more",
    ]


@pytest.mark.parametrize(
    "url, address, reason",
    [
        pytest.param(
            "postgresql://covid:s3cret@127.0.0.1:{port}/covid",
            "127.0.0.1:{port}",
            "Connection refused",
            id="closed-port",
        ),
        pytest.param(
            "postgresql://covid@nohost.invalid/covid",
            "nohost.invalid:5432",
            "failed to resolve host",
            id="unknown-host",
        ),
    ],
)
def test_make_run_refuses_a_database_that_does_not_answer_within_seconds_naming_host_and_port(url, address, reason):
    port = free_port()  # nothing listens there
    url, address = url.format(port=port), address.format(port=port)
    started = time.monotonic()
    done = make_run(COVID_ETL_DB_URL=url)
    assert time.monotonic() - started < 10
    shown = url.replace(":s3cret@", ":***@")
    prefix = f"make run: COVID_ETL_DB_URL='{shown}': cannot connect to PostgreSQL at {address}: "
    assert done.returncode == 2 and done.stdout == "" and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(prefix) and reason in done.stderr and "s3cret" not in done.stderr


def test_make_run_refuses_a_postgresql_port_asked_for_that_is_taken(tmp_path):
    with taken_port() as port:
        done = command(["-c", MAKE_RUN_IN, str(tmp_path)], COVID_ETL_PG_PORT=str(port))
    line = f"make run: COVID_ETL_PG_PORT='{port}': expected a free port; 127.0.0.1:{port} is in use"
    assert_refused_in_one_line(done, line)
    assert not (tmp_path / "pgdata").exists()


def test_make_run_refuses_an_sns_port_asked_for_that_is_taken(tmp_path):
    with taken_port() as port:
        done = command(["-c", MAKE_RUN_IN, str(tmp_path)], COVID_ETL_SNS_PORT=str(port))
    assert_refused_in_one_line(
        done, f"make run: COVID_ETL_SNS_PORT='{port}': expected a free port; 127.0.0.1:{port} is in use"
    )


@pytest.mark.parametrize(
    "name", [pytest.param("COVID_ETL_API_PORT", id="api-port"), pytest.param("AIRFLOW_PORT", id="its-older-name")]
)
def test_make_up_refuses_an_api_port_asked_for_that_is_taken(name):
    with taken_port() as port:
        done = command(MAKE_UP, **{name: str(port)})
    assert_refused_in_one_line(done, f"make up: {name}='{port}': expected a free port; 127.0.0.1:{port} is in use")


def test_a_usual_port_that_is_taken_gives_way_to_a_free_one_and_a_port_asked_for_is_kept():
    with taken_port() as usual:
        chosen = choose_port("COVID_ETL_SNS_PORT", None, usual)
        assert chosen != usual and choose_port("COVID_ETL_SNS_PORT", chosen, usual) == chosen
    assert choose_port("COVID_ETL_SNS_PORT", None, usual) == usual  # free again


def test_make_ups_ports_follow_its_settings(tmp_path):
    api, sns = free_port(), free_port()
    stack = stack_from_environment({"COVID_ETL_API_PORT": str(api), "COVID_ETL_SNS_PORT": str(sns)}, tmp_path)
    assert (stack.api_port, stack.sns_port) == (api, sns)
    with taken_port() as taken, pytest.raises(ConfigError, match=f"^COVID_ETL_PG_PORT='{taken}': expected a free port"):
        stack_from_environment({"COVID_ETL_PG_PORT": str(taken)}, tmp_path)


def test_the_embedded_postgres_takes_a_free_port_when_its_usual_one_is_taken_and_the_next_run_finds_it(tmp_path):
    data = tmp_path / "pgdata"
    with taken_port() as usual:
        server = embedded_postgres(data, None, preferred=usual)
        assert server.port != usual
        server.start()
        try:
            psycopg.connect(server.url, connect_timeout=5).close()
            # The next run (or `make up`) reuses the running server where it is, whatever is free now.
            assert embedded_postgres(data, None, preferred=free_port()).port == server.port
            assert embedded_postgres(data, server.port).port == server.port
            with pytest.raises(ConfigError) as refused:
                embedded_postgres(data, usual)
            assert str(refused.value) == (
                f"COVID_ETL_PG_PORT='{usual}': the embedded PostgreSQL ({data}) runs on port {server.port} already; "
                "unset COVID_ETL_PG_PORT, or stop that server first (make down)"
            )
        finally:
            server.stop()
    assert embedded_postgres(data, None, preferred=usual).port == usual  # stopped: the usual port again


# Parses the DAG folder (sys.argv[1]) once per wrong setting (sys.argv[2], JSON); prints each one's import errors.
PARSE_WITH = """
import json, os, sys
from airflow.dag_processing.dagbag import DagBag

errors = {}
for name, value in json.loads(sys.argv[2]).items():
    os.environ[name] = value
    errors[name] = list(DagBag(dag_folder=sys.argv[1]).import_errors.values())
    del os.environ[name]
print(json.dumps(errors))
"""
READ_WHEN_PARSED = ("datasets", "retries", "deadline", "source-url")


def test_the_dag_parsed_with_a_wrong_setting_fails_with_the_same_line():
    cases = [case.values for case in WRONG_SETTINGS if case.id in READ_WHEN_PARSED]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "include")}
    done = subprocess.run(
        [sys.executable, "-c", PARSE_WITH, str(ROOT / "dags"), json.dumps({name: value for name, value, _ in cases})],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    errors = json.loads(done.stdout.splitlines()[-1])
    for name, _, line in cases:
        [error] = errors[name]
        assert error.rstrip().splitlines()[-1] == f"covid_etl.config.ConfigError: {line}"
