"""A small client for the local stack's REST API (Airflow 3's /api/v2), logged in through SimpleAuthManager."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from airflow_stack import USERNAME

TERMINAL = {"success", "failed"}
# Generous: on two cores the API server shares the CPU with the scheduler, the workers and Chromium,
# and httpx's default of 5 s has timed out an ordinary request there.
HTTP_TIMEOUT = 60


@dataclass
class AirflowClient:
    client: httpx.Client
    token: str

    @classmethod
    def login(cls, stack) -> AirflowClient:
        response = httpx.post(
            f"{stack.url}/auth/token", json={"username": USERNAME, "password": stack.password()}, timeout=HTTP_TIMEOUT
        )
        response.raise_for_status()
        token = response.json()["access_token"]
        client = httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT)
        return cls(client, token)

    def get(self, path: str, **params) -> dict:
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict) -> dict:
        response = self.client.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def wait(self, predicate, what: str, timeout: float = 150, every: float = 1.0):
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(every)
        return value

    def wait_for_dag(self, dag_id: str = "covid_etl") -> dict:
        return self.wait(lambda: self.client.get(f"/api/v2/dags/{dag_id}").status_code == 200, "the DAG", 120) and (
            self.get(f"/api/v2/dags/{dag_id}")
        )

    def run_state(self, run_id: str, dag_id: str = "covid_etl") -> str:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id)}")["state"]

    def wait_for_run(self, run_id: str, timeout: float = 300) -> str:
        return self.wait(lambda: (s := self.run_state(run_id)) in TERMINAL and s, f"run {run_id}", timeout)

    def wait_for_all_runs(
        self, *, run_type: str | None = None, count: int | None = None, timeout: float = 300
    ) -> list[dict]:
        """Wait until the DAG's runs (of ``run_type``; at least ``count`` of them) are all finished."""

        def finished():
            params = {"limit": 100, **({"run_type": run_type} if run_type else {})}
            runs = self.get("/api/v2/dags/covid_etl/dagRuns", **params)["dag_runs"]
            enough = count is None or len(runs) >= count
            return enough and all(r["state"] in TERMINAL for r in runs) and runs

        return self.wait(finished, f"the {run_type or ''} runs to finish", timeout, every=2)
