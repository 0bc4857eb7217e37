"""The DAG's deadline alert on a real Airflow: a deliberately slow run misses its deadline, and SNS hears
of it while the run is still going; after the DAG changes, the next version's runs still have it.

Deadlines are evaluated by the scheduler and their callbacks run on the triggerer, so neither
``dag.test()`` nor ``make run`` can show one; this starts `make up`'s stack of its own with a bound of
30 seconds (the shared stack's runs must not be late), and makes each run's NYT download crawl: a line
every 0.06 s, 66 s for the file's 1,100 lines (the run still going when the alert comes, more than 30 s
after it was queued), each line well inside the download's 30 s read timeout.
The stack parses a copy of dags/, so that the second test can change the DAG as a deploy would.
"""

from __future__ import annotations

import re
import shutil
import time
from datetime import datetime, timedelta

import pytest

from airflow_client import AirflowClient
from devstack import LocalSns
from support import ROOT

BOUND_SECONDS = 30
LATE_SUBJECT = "covid_etl run not finished in time: "


@pytest.fixture(scope="module")
def dags_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deadline-dags")
    shutil.copy(ROOT / "dags" / "covid_etl_dag.py", folder)
    return folder


@pytest.fixture(scope="module")
def late_stack(start_stack, dags_folder):
    stack = start_stack(
        "deadline-stack",
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder),
        COVID_ETL_RUN_DEADLINE_MINUTES=str(BOUND_SECONDS / 60),
    )
    yield stack
    stack.down()


@pytest.fixture(scope="module")
def api(late_stack) -> AirflowClient:
    client = AirflowClient.login(late_stack)
    client.wait_for_dag()
    return client


@pytest.fixture(scope="module")
def inbox(late_stack) -> LocalSns:
    """The stack's own SNS endpoint (moto), with the queue subscribed to the topic."""
    return LocalSns(late_stack.state()["moto_port"]).start()


def slow_run(api: AirflowClient, inbox: LocalSns, http_server) -> dict:
    """Trigger a run whose NYT download crawls; wait for its late-run message, then for its end."""
    conf = {
        "nyt_url": http_server.url("drip/0.06/real/nyt-us-2023-01-24.csv"),
        "jhu_url": http_server.url("files/real/jhu-combined-2021-03-17.csv"),
    }
    # Timed from before the request: the run is queued while the request is served, which on a busy
    # machine has taken seconds, so a clock started after the answer would see the alert early.
    asked = time.monotonic()
    run_id = api.post("/api/v2/dags/covid_etl/dagRuns", {"logical_date": None, "conf": conf})["dag_run_id"]
    received: list[dict] = []

    def late_message():
        received.extend(inbox.received())
        return next((m for m in received if m["subject"] == LATE_SUBJECT + run_id), None)

    late = api.wait(late_message, f"the deadline's SNS message for {run_id}", timeout=240, every=0)
    seen = {
        "run_id": run_id,
        "late": late,
        "reported_after": time.monotonic() - asked,
        "received_at": datetime.now().astimezone(),
    }
    seen["state_when_reported"] = api.run_state(run_id)
    seen["final_state"] = api.wait_for_run(run_id, timeout=400)
    received.extend(inbox.received())
    seen["subjects"] = [m["subject"] for m in received if run_id in m["message"]]
    return seen


@pytest.fixture(scope="module")
def first_run(api, inbox, http_server) -> dict:
    return slow_run(api, inbox, http_server)


def _stamp(message: str, label: str) -> datetime:
    """A time the late-run message states, e.g. ``Deadline: 2026-12-08 00:03:21.151967+00:00``."""
    return datetime.fromisoformat(re.search(rf"^{label}: (.+)$", message, re.MULTILINE).group(1))


def test_a_run_that_misses_its_deadline_is_reported_while_it_is_still_running(first_run):
    run_id = first_run["run_id"]
    assert first_run["state_when_reported"] in {"queued", "running"}
    assert first_run["reported_after"] >= BOUND_SECONDS  # not before the bound
    queued_at, deadline = (_stamp(first_run["late"]["message"], label) for label in ("Queued at", "Deadline"))
    assert deadline - queued_at == timedelta(seconds=BOUND_SECONDS)
    assert first_run["received_at"] >= deadline
    assert f"covid_etl run {run_id} has not finished within 0.5 min of being queued" in first_run["late"]["message"]
    # The alert warns; it does not fail the run, which goes on and loads the slow file.
    assert first_run["final_state"] == "success"
    assert first_run["subjects"].count(LATE_SUBJECT + run_id) == 1
    assert any(subject.startswith("covid_etl succeeded") for subject in first_run["subjects"])


def test_a_changed_dag_keeps_its_deadline_in_its_next_version(first_run, api, inbox, http_server, dags_folder):
    # A deploy that changes the DAG but not its deadline: here, its documentation.
    dag_file = dags_folder / "covid_etl_dag.py"
    dag_file.write_text(dag_file.read_text().replace("### COVID-19 daily ETL", "### COVID-19 daily ETL, edited", 1))
    api.wait(
        lambda: api.get("/api/v2/dags/covid_etl/dagVersions")["total_entries"] >= 2, "the DAG's second version", 120
    )

    second = slow_run(api, inbox, http_server)

    assert second["state_when_reported"] in {"queued", "running"}
    assert second["final_state"] == "success"
    assert second["subjects"].count(LATE_SUBJECT + second["run_id"]) == 1
