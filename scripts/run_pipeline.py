"""`make run`: run the covid_etl DAG once, on local stand-ins unless real services are configured.

- Settings: every COVID_ETL_* variable is checked first (covid_etl.config); a wrong one stops the run
  before anything starts, with one line naming it, its value and what is expected (exit status 2).
- PostgreSQL: $COVID_ETL_DB_URL, which must answer within seconds, or an embedded server whose data
  stays in .local/pgdata (so the next run is incremental), on the port it runs on already, else
  $COVID_ETL_PG_PORT, else 54329 when free, else a free port.
- SNS: the topic in $AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN with your AWS credentials, or moto's server
  ($COVID_ETL_SNS_PORT, else a free port) with a topic and a queue subscribed to it, whose messages
  are printed as `SNS: ...` lines.
- Sources: pinned to the run's date through GitHub ($COVID_ETL_GITHUB_API_URL / _RAW_URL to use
  another), or the fixed files in $COVID_ETL_NYT_URL / $COVID_ETL_JHU_URL (and _STATES_URL, _COUNTIES_URL).
- Date: $COVID_ETL_LOGICAL_DATE (YYYY-MM-DD) runs that past day, as a backfill would; else now.

While the run goes, a line is printed as each task ends (scripts/task_progress.py). The last line printed
is the run's summary as JSON, read from Airflow's metadata database (its last task's XCom), so it exists
even when the pipeline's database fails during the run; the exit status is 1 when the run failed.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, time
from pathlib import Path

import local_runs
from covid_etl import config
from covid_etl.config import ConfigError
from devstack import LocalPostgres, LocalSns, SetupError, choose_port, embedded_postgres

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
# How long the given database may take to answer before the run is refused (libpq's minimum is 2 s).
CONNECT_SECONDS = 5


def airflow_environment(
    db_url: str, sns: LocalSns | None, local: Path = LOCAL, staging: Path | None = None
) -> dict[str, str]:
    """The environment that points Airflow at this project, its connections and variables (the staging
    store: ``staging``, else .local/staging, unless the Variable is set already)."""
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(local / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "include"), env.get("PYTHONPATH")])),
        AIRFLOW_CONN_COVID_DB=db_url,
    )
    env.setdefault("AIRFLOW_VAR_COVID_ETL_STAGING_URI", (staging or local / "staging").as_uri())
    if sns:
        env.update(AIRFLOW_CONN_AWS_DEFAULT=sns.airflow_connection(), AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN=sns.topic_arn)
    return env


def logical_date() -> datetime:
    """$COVID_ETL_LOGICAL_DATE at 00:00 UTC (a past day, as a backfill runs it), else now."""
    day = config.setting("COVID_ETL_LOGICAL_DATE")
    if day:
        return datetime.combine(day, time(), tzinfo=UTC)
    return datetime.now(UTC)


def check_database(url: str, timeout: int = CONNECT_SECONDS) -> None:
    """Connect to the database at ``url`` once, so that one that cannot be reached stops the run at once.

    :raises ConfigError: naming the host and port, when no connection was had within about ``timeout`` s.
    """
    import psycopg

    host, port = config.database_address(url)
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            psycopg.connect(url, connect_timeout=timeout).close()
            outcome.append(None)
        except psycopg.Error as exc:
            outcome.append(exc)

    # In a thread of its own, since connect_timeout does not bound the host name's lookup.
    attempt = threading.Thread(target=connect, daemon=True)
    attempt.start()
    attempt.join(timeout + 1)
    if outcome == [None]:
        return
    reason = _reason(outcome[0]) if outcome else f"no answer within {timeout} s"
    raise ConfigError("COVID_ETL_DB_URL", url, f"cannot connect to PostgreSQL at {host}:{port}: {reason}")


def _reason(error: BaseException) -> str:
    """libpq's first line, without the 'connection to server at "host", port N failed: ' the caller says itself."""
    lines = str(error).strip().splitlines()
    return lines[0].rsplit(" failed: ", 1)[-1] if lines else type(error).__name__


def run_summary(found: dict, local: Path = LOCAL) -> dict:
    """What report_run concluded about this process's own run, from what task_progress.py found of it."""
    if found.get("summary"):
        return found["summary"]
    return {
        "status": "failed",
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "run_id": found.get("run_id"),
        "error": "the run ended before report_run summed it up; see " + str(local / "last-run.log"),
    }


def run_dag(airflow: str, env: dict[str, str], at: datetime, log_file: Path) -> tuple[int, dict]:
    """`airflow dags test` for ``at``, its output in ``log_file``, a line on stdout as each task ends;
    returns the command's exit status, and the run's id and summary as task_progress.py found them once
    the run had ended (empty if it found none)."""
    summary_file = log_file.with_name(f"summary-{os.getpid()}.json")
    summary_file.unlink(missing_ok=True)
    progress = subprocess.Popen(
        [
            sys.executable, str(Path(__file__).with_name("task_progress.py")), config.DAG_ID, at.isoformat(),
            str(summary_file),
        ],
        env=env,
        stdin=subprocess.PIPE,
    )  # fmt: skip
    try:
        with log_file.open("w") as log:
            outcome = subprocess.run(
                [airflow, "dags", "test", config.DAG_ID, at.isoformat()], env=env, stdout=log, stderr=subprocess.STDOUT
            )
    finally:
        progress.stdin.close()  # its signal to report what is left, write the summary and stop
        try:
            progress.wait(timeout=30)
        except subprocess.TimeoutExpired:
            progress.kill()
    try:
        found = json.loads(summary_file.read_text())
        summary_file.unlink()
    except (OSError, ValueError):
        found = {}
    return outcome.returncode, found


def _end_killed_runs(local: Path) -> None:
    """Say which earlier run never finished, end what it left running and remove its staged files."""
    for killed in local_runs.unfinished(local):
        print(
            f"make run: the run of {killed.logical_date} started at {killed.started_at} did not finish"
            f" (its process {killed.pid} is gone): ending what it left running and removing its staged files",
            flush=True,
        )
        local_runs.end(local, killed)


def _services(local: Path, db_url: str | None) -> tuple[LocalPostgres | None, LocalSns | None]:
    """The embedded PostgreSQL (none with a database URL) and the local SNS (none with a real topic), their
    ports chosen, nothing started; a database URL is checked to answer. Raises ConfigError or SetupError."""
    postgres = None if db_url else embedded_postgres(local / "pgdata", config.setting("COVID_ETL_PG_PORT"))
    sns = None
    if not os.environ.get("AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN"):
        sns = LocalSns(choose_port("COVID_ETL_SNS_PORT", config.setting("COVID_ETL_SNS_PORT")))
    if db_url:
        check_database(db_url)
    return postgres, sns


def _start_postgres(postgres: LocalPostgres) -> tuple[str, bool]:
    """The embedded database's URL, and whether this run started it (it may be running already)."""
    if postgres.is_running():
        return postgres.url, False
    if config.setting("COVID_ETL_PG_PORT") is None and postgres.port != config.PG_PORT:
        print(f"Port {config.PG_PORT} is in use: the embedded PostgreSQL takes {postgres.port}", flush=True)
    return postgres.start(), True


def migrate(airflow: str, env: dict[str, str]) -> None:
    """`airflow db migrate` of the run's metadata database, unless this version of Airflow has migrated it
    already (a SQLite file in AIRFLOW_HOME, its stamp beside it): three seconds off every later run. A
    metadata database set by AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is migrated every time."""
    home = Path(env["AIRFLOW_HOME"])
    stamp, version = home / "airflow.db.migrated", importlib.metadata.version("apache-airflow")
    own_sqlite = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in env
    if own_sqlite and (home / "airflow.db").is_file() and stamp.is_file() and stamp.read_text() == version:
        return
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    if own_sqlite:
        stamp.write_text(version)


def _run_once(env: dict[str, str], at: datetime, local: Path, sns: LocalSns | None) -> tuple[int, dict]:
    """`airflow dags test` once: its exit status and the run's summary; its log's end shown on failure."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    migrate(airflow, env)
    log_file = local / "last-run.log"
    print(f"Running `airflow dags test {config.DAG_ID} {at.isoformat()}` (log: {log_file}) ...", flush=True)
    returncode, found = run_dag(airflow, env, at, log_file)
    if returncode != 0:
        print("".join(log_file.read_text(errors="replace").splitlines(keepends=True)[-30:]), flush=True)
    for message in sns.received() if sns else []:
        print("SNS: " + json.dumps(message), flush=True)
    return returncode, run_summary(found, local)


def main(local: Path = LOCAL) -> int:
    """`make run` with its state (embedded database, Airflow home, log) under ``local``."""
    errors = config.setting_errors(os.environ)
    for error in errors:
        print(f"make run: {error}", file=sys.stderr)
    if errors:
        return 2
    local.mkdir(exist_ok=True)
    _end_killed_runs(local)
    db_url, at = config.setting("COVID_ETL_DB_URL"), logical_date()
    try:
        postgres, sns = _services(local, db_url)
    except (ConfigError, SetupError) as error:
        print(f"make run: {error}", file=sys.stderr)
        return 2
    started_postgres = False
    run = local_runs.begin(local, logical_date=at)
    try:
        if postgres:
            db_url, started_postgres = _start_postgres(postgres)
            print(f"Embedded PostgreSQL: {db_url} (data in {postgres.data_dir})", flush=True)
        if sns:
            sns.start()
            local_runs.record(local, replace(run, sns_pid=sns.process.pid if sns.process else None))
            print(f"Local SNS endpoint: {sns.endpoint_url}, topic {sns.topic_arn}", flush=True)
        env = airflow_environment(db_url, sns, local, Path(run.staging))
        # One run, one answer: no Airflow-level retries (the HTTP client still retries 5xx and
        # connection errors), so an unreachable source fails in seconds, not after 14 min of back-off.
        env.setdefault("COVID_ETL_TASK_RETRIES", "0")
        # No deadline alert: `airflow dags test` never evaluates one, and on Airflow 3.3.1 it fails after a
        # successful run of a DAG that has one (apache/airflow#73428).
        env.setdefault("COVID_ETL_RUN_DEADLINE_MINUTES", "0")
        returncode, summary = _run_once(env, at, local, sns)
    finally:
        if sns:
            sns.stop()
        if postgres and started_postgres:
            postgres.stop()
        local_runs.end(local, run)
    print(json.dumps(summary))
    return 0 if summary["status"] in ("success", "skipped") and returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
