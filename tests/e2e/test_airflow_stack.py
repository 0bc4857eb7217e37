"""`make up`: a real local Airflow comes up healthy, shows covid_etl, runs it on request, and stops."""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
import urllib.request

import psycopg
import pytest

from airflow_stack import USERNAME, AirflowStack, stack_from_environment
from devstack import free_port


def call(stack: AirflowStack, method: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        stack.url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def wait_for(check, timeout: float, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(every)
    raise TimeoutError(f"gave up after {timeout} s")


@pytest.fixture(scope="module")
def stack(local_airflow) -> AirflowStack:
    return local_airflow


@pytest.fixture(scope="module")
def token(stack) -> str:
    return call(stack, "POST", "/auth/token", body={"username": USERNAME, "password": stack.password()})["access_token"]


def test_the_health_endpoint_reports_every_component_healthy(stack):
    health = call(stack, "GET", "/api/v2/monitor/health")
    assert {name: part["status"] for name, part in health.items()} == {
        "metadatabase": "healthy",
        "scheduler": "healthy",
        "triggerer": "healthy",
        "dag_processor": "healthy",
    }


def environment_of(pid: int) -> dict[str, str]:
    raw = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_the_components_run_apart_and_only_the_workers_reach_the_pipeline_database(stack):
    state = stack.state()
    assert sorted(state["pids"]) == ["api-server", "dag-processor", "scheduler", "triggerer"]
    api_db = state["api_server_covid_db"]
    scheduler_db = environment_of(state["pids"]["scheduler"])["AIRFLOW_CONN_COVID_DB"]
    assert scheduler_db == f"postgresql://postgres@127.0.0.1:{stack.pg_port}/covid"
    # As on MWAA: the API server's covid_db leads nowhere.
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(api_db, connect_timeout=3).close()
    psycopg.connect(scheduler_db, connect_timeout=3).close()


def test_the_rest_api_refuses_anonymous_callers(stack):
    with pytest.raises(urllib.error.HTTPError) as refused:
        call(stack, "GET", "/api/v2/dags/covid_etl")
    assert refused.value.code in (401, 403)


def test_shows_covid_etl_unpaused_and_runs_it_on_request(stack, token, http_server):
    dag = wait_for(lambda: _dag_or_none(stack, token), timeout=120)
    assert dag["is_paused"] is False and {tag["name"] for tag in dag["tags"]} >= {"etl"}
    conf = {**stack.sources, "nyt_url": http_server.url("files/real/nyt-us-2022-04-19.csv")}
    run = call(stack, "POST", "/api/v2/dags/covid_etl/dagRuns", token, {"logical_date": None, "conf": conf})
    path = f"/api/v2/dags/covid_etl/dagRuns/{urllib.parse.quote(run['dag_run_id'])}"

    def finished_state():
        state = call(stack, "GET", path, token)["state"]
        return state if state in ("success", "failed") else None

    state = wait_for(finished_state, timeout=300)
    assert state == "success"
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{stack.pg_port}/covid") as conn:
        assert conn.execute(
            "SELECT nyt_url FROM etl_runs WHERE run_id = %s AND dataset = 'national'", (run["dag_run_id"],)
        ).fetchone() == (conf["nyt_url"],)
        loaded = conn.execute("SELECT dataset, status FROM etl_runs WHERE run_id = %s", (run["dag_run_id"],)).fetchall()
    # Each dataset's load and the merge recorded themselves: the conf chose all three.
    assert sorted(loaded) == [(name, "success") for name in ("counties", "jhu", "national", "nyt", "states")]
    summary = call(stack, "GET", f"{path}/taskInstances/report_run/xcomEntries/summary?deserialize=true", token)[
        "value"
    ]
    assert [summary[key]["status"] for key in ("states", "counties")] == ["success", "success"]


def test_down_stops_everything_it_started(tmp_path, http_server):
    # As `make up` starts it, on the ports its settings ask for (free ones: another stack may be up).
    ports = {name: str(free_port()) for name in ("COVID_ETL_API_PORT", "COVID_ETL_PG_PORT", "COVID_ETL_SNS_PORT")}
    stack = stack_from_environment(ports, tmp_path).up()
    assert [str(port) for port in (stack.api_port, stack.pg_port, stack.sns_port)] == list(ports.values())
    stack.down()
    for port in (stack.api_port, stack.pg_port, stack.sns_port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert not (tmp_path / "stack" / "state.json").exists()


def _dag_or_none(stack, token):
    try:
        return call(stack, "GET", "/api/v2/dags/covid_etl", token)
    except urllib.error.HTTPError:
        return None
