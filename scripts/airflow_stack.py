"""`make up` / `make down`: a full local Airflow 3.3.1 without Docker.

`up` starts the embedded PostgreSQL (metadata database `airflow` and target database `covid`),
moto's SNS endpoint, and `airflow standalone` (API server and UI, scheduler, DAG processor,
triggerer; LocalExecutor) with this project's dags/ and plugins/, `covid_etl` unpaused. It waits
for the health endpoint and prints the URL and the login. `down` stops all of it, by PID.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from devstack import LocalPostgres, LocalSns, free_port
from run_pipeline import LOCAL, PG_PORT, airflow_environment

USERNAME = "admin"


@dataclass
class AirflowStack:
    """The local stack, its state (PIDs, ports, password) kept under ``state_dir``."""

    state_dir: Path = LOCAL / "stack"
    pg_data: Path = LOCAL / "pgdata"
    api_port: int = int(os.environ.get("AIRFLOW_PORT", "8080"))
    pg_port: int = PG_PORT
    extra_env: dict | None = None
    _process: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def _state_file(self) -> Path:
        return self.state_dir / "state.json"

    def _postgres(self) -> LocalPostgres:
        return LocalPostgres(self.pg_data, port=self.pg_port)

    def password(self) -> str:
        return json.loads((self.state_dir / "passwords.json").read_text())[USERNAME]

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=2) as response:
                return json.load(response)["metadatabase"]["status"] == "healthy"
        except (OSError, ValueError, KeyError):
            return False

    def up(self, timeout: float = 240) -> AirflowStack:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._state_file.exists():
            raise RuntimeError(f"Already up (state in {self._state_file}); run `make down` first")
        postgres = self._postgres()
        sns = LocalSns(free_port(), pid_file=self.state_dir / "moto.pid")
        state = {
            "airflow_pid": None,
            "moto_port": sns.port,
            "started_postgres": not postgres.is_running(),
            "api_port": self.api_port,
            "pg_port": self.pg_port,
            "pg_data": str(self.pg_data),
        }
        # Written first, so that `down` stops whatever a failed `up` had started.
        self._state_file.write_text(json.dumps(state))
        try:
            db_url = postgres.start() if state["started_postgres"] else postgres.url
            metadata_url = postgres.create_database("airflow").replace("postgresql://", "postgresql+psycopg://")
            sns.start()
            log = (self.state_dir / "airflow.log").open("w")
            self._process = subprocess.Popen(
                [str(Path(sys.executable).with_name("airflow")), "standalone"],
                env=self._environment(db_url, metadata_url, sns),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._state_file.write_text(json.dumps({**state, "airflow_pid": self._process.pid}))
            deadline = time.monotonic() + timeout
            while not self._healthy():
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Airflow did not become healthy; see {log.name}")
                time.sleep(1)
        except BaseException:
            self.down()
            raise
        return self

    def _environment(self, db_url: str, metadata_url: str, sns: LocalSns) -> dict[str, str]:
        passwords = self.state_dir / "passwords.json"
        if not passwords.exists():
            passwords.write_text(json.dumps({USERNAME: secrets.token_urlsafe(12)}))
        env = airflow_environment(db_url, sns)
        env.update(
            # standalone starts its components as `airflow ...` from the PATH
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            AIRFLOW_HOME=str(self.state_dir / "airflow"),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata_url,
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USERNAME}:admin",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__PORT=str(self.api_port),
            # free ports for the log servers, so that two stacks (yours and a test's) can run at once
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__API__BASE_URL=self.url,
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            **(self.extra_env or {}),
        )
        return env

    def _stop_airflow(self, pid: int) -> None:
        """SIGTERM the standalone process group, then SIGKILL what is left after 30 s."""
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process is not None:
                self._process.poll()  # reap our own child, or its zombie keeps the group alive
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        os.killpg(pid, signal.SIGKILL)

    def down(self) -> None:
        if not self._state_file.exists():
            return
        state = json.loads(self._state_file.read_text())
        if state["airflow_pid"]:
            self._stop_airflow(state["airflow_pid"])
        LocalSns(state["moto_port"], pid_file=self.state_dir / "moto.pid").stop()
        if state["started_postgres"]:
            LocalPostgres(Path(state["pg_data"]), port=state["pg_port"]).stop()
        self._state_file.unlink()


def main(command: str) -> int:
    stack = AirflowStack()
    if command == "up":
        stack.up()
        print(f"Airflow is up: {stack.url}  (login {USERNAME} / {stack.password()})")
        print(f"Logs: {stack.state_dir / 'airflow.log'}; stop with `make down`.")
    elif command == "down":
        stack.down()
        print("Stopped the local Airflow, SNS endpoint and (if `make up` started it) PostgreSQL.")
    else:
        print("usage: airflow_stack.py up|down", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
