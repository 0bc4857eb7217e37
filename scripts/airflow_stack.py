"""`make up` / `make down`: a full local Airflow 3.3.1 without Docker.

`up` starts the embedded PostgreSQL (metadata database `airflow` and target database `covid`),
moto's SNS endpoint, and Airflow's four components as separate processes, like MWAA runs them: the
API server (UI and REST API), the scheduler (with the LocalExecutor's workers), the DAG processor and
the triggerer, with this project's dags/ and plugins/ and `covid_etl` unpaused. It waits for the
health endpoint and prints the URL and the login. `down` stops all of it, by PID.

Before it starts anything, `up` checks every COVID_ETL_* setting and chooses its ports: the API server
on $COVID_ETL_API_PORT ($AIRFLOW_PORT, its older name, is read too), else 8080 when free, else a free
port; PostgreSQL and moto as `make run` chooses theirs. A wrong setting or a taken port it was asked
for stops it with one line (exit status 2).

As on MWAA, where the API server runs in the service's own VPC, the API server cannot reach the
pipeline's database: its `covid_db` connection points at a closed port, while the scheduler's
workers get the real one. The dashboard must (and does) work from what the DAG publishes.
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from covid_etl import config
from covid_etl.config import ConfigError
from devstack import LocalPostgres, LocalSns, SetupError, choose_port, embedded_postgres, free_port
from run_pipeline import LOCAL, airflow_environment

USERNAME = "admin"
# The API server's port, first found wins: AIRFLOW_PORT is the name `make up` read before.
API_PORT_SETTINGS = ("COVID_ETL_API_PORT", "AIRFLOW_PORT")


# Airflow's components, each its own process (and process group), in start order.
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


@dataclass
class AirflowStack:
    """The local stack, its state (PIDs, ports, password) kept under ``state_dir``.

    :param api_port, pg_port: the ports to start on (:func:`stack_from_environment` chooses them for `make up`).
    :param sns_port: moto's port; None for a free one.
    :param extra_env: settings for every component (e.g. the DAG's source URLs).
    :param api_server_env: settings for the API server only, over ``extra_env``; by default a
        ``covid_db`` connection to a closed port, since the API server on MWAA has no route to it.
    """

    state_dir: Path = LOCAL / "stack"
    pg_data: Path = LOCAL / "pgdata"
    api_port: int = config.API_PORT
    pg_port: int = config.PG_PORT
    sns_port: int | None = None
    extra_env: dict | None = None
    api_server_env: dict | None = None
    _processes: dict[str, subprocess.Popen] = field(default_factory=dict, init=False, repr=False)

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

    def state(self) -> dict:
        return json.loads(self._state_file.read_text())

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=2) as response:
                return json.load(response)["metadatabase"]["status"] == "healthy"
        except (OSError, ValueError, KeyError):
            return False

    def up(self, timeout: float = 240) -> AirflowStack:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._state_file.exists():
            raise SetupError(f"already up (state in {self._state_file}); run `make down` first")
        postgres = self._postgres()
        sns = LocalSns(self.sns_port or free_port(), pid_file=self.state_dir / "moto.pid")
        state = {
            "pids": {},
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
            env = self._environment(db_url, metadata_url, sns)
            airflow = str(Path(sys.executable).with_name("airflow"))
            subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
            unreachable_db = f"postgresql://postgres@127.0.0.1:{free_port()}/covid"
            api_env = {**env, "AIRFLOW_CONN_COVID_DB": unreachable_db, **(self.api_server_env or {})}
            # Recorded, since the API server's process title overwrites what /proc shows of its environment.
            state["api_server_covid_db"] = api_env["AIRFLOW_CONN_COVID_DB"]
            for name in COMPONENTS:
                log = (self.state_dir / f"{name}.log").open("w")
                self._processes[name] = subprocess.Popen(
                    [airflow, name],
                    env=api_env if name == "api-server" else env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                state["pids"][name] = self._processes[name].pid
                self._state_file.write_text(json.dumps(state))
            deadline = time.monotonic() + timeout
            while not self._healthy():
                exited = [name for name, process in self._processes.items() if process.poll() is not None]
                if exited or time.monotonic() > deadline:
                    logs = ", ".join(str(self.state_dir / f"{name}.log") for name in exited or COMPONENTS)
                    raise RuntimeError(f"Airflow did not become healthy; see {logs}")
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
            AIRFLOW_HOME=str(self.state_dir / "airflow"),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata_url,
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{USERNAME}:admin",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__PORT=str(self.api_port),
            # free ports for the log servers, so that two stacks (yours and a test's) can run at once
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
            # the workers reach the Execution API at <base url>/execution/
            AIRFLOW__API__BASE_URL=self.url,
            # every component signs or checks task tokens with one shared secret
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            **(self.extra_env or {}),
        )
        return env

    def _stop(self, pids: list[int]) -> None:
        """SIGTERM the components' process groups, then SIGKILL what is left after 30 s."""

        def alive(pid: int) -> bool:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return False
            return True

        for pid in pids:
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for process in self._processes.values():
                process.poll()  # reap our own children, or their zombies keep the groups alive
            if not any(alive(pid) for pid in pids):
                return
            time.sleep(0.2)
        for pid in filter(alive, pids):
            os.killpg(pid, signal.SIGKILL)

    def down(self) -> None:
        if not self._state_file.exists():
            return
        state = self.state()
        self._stop(list(state.get("pids", {}).values()))
        LocalSns(state["moto_port"], pid_file=self.state_dir / "moto.pid").stop()
        if state["started_postgres"]:
            LocalPostgres(Path(state["pg_data"]), port=state["pg_port"]).stop()
        self._state_file.unlink()


def stack_from_environment(environ: Mapping[str, str], local: Path = LOCAL) -> AirflowStack:
    """`make up`'s stack, its state under ``local``, its ports chosen as the settings in ``environ`` ask
    (see the module's docstring).

    :raises ConfigError: a port setting is wrong, or a port it asks for is taken.
    :raises SetupError: PostgreSQL's server binaries are missing.
    """
    api_setting = next((name for name in API_PORT_SETTINGS if environ.get(name)), API_PORT_SETTINGS[0])
    requested_api_port = config.parse_port(api_setting, environ.get(api_setting))
    stack = AirflowStack(state_dir=local / "stack", pg_data=local / "pgdata")
    postgres = embedded_postgres(stack.pg_data, config.setting("COVID_ETL_PG_PORT", environ))
    stack.pg_port = postgres.port
    stack.api_port = choose_port(api_setting, requested_api_port, config.API_PORT)
    stack.sns_port = choose_port("COVID_ETL_SNS_PORT", config.setting("COVID_ETL_SNS_PORT", environ))
    return stack


def main(command: str) -> int:
    if command == "up":
        errors = config.setting_errors(os.environ)
        for error in errors:
            print(f"make up: {error}", file=sys.stderr)
        if errors:
            return 2
        try:
            stack = stack_from_environment(os.environ)
            stack.up()
        except (ConfigError, SetupError) as error:
            print(f"make up: {error}", file=sys.stderr)
            return 2
        print(f"Airflow is up: {stack.url}  (login {USERNAME} / {stack.password()})")
        print(f"Logs: {stack.state_dir}/<component>.log; stop with `make down`.")
    elif command == "down":
        AirflowStack().down()
        print("Stopped the local Airflow, SNS endpoint and (if `make up` started it) PostgreSQL.")
    else:
        print("usage: airflow_stack.py up|down", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
