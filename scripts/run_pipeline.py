"""`make run`: run the covid_etl DAG once, on local stand-ins unless real services are configured.

- PostgreSQL: $COVID_ETL_DB_URL, or an embedded server whose data stays in .local/pgdata (so the
  next run is incremental).
- SNS: the topic in $AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN with your AWS credentials, or moto's server
  with a topic and a queue subscribed to it, whose messages are printed as `SNS: ...` lines.
- Sources: pinned to the run's date through GitHub ($COVID_ETL_GITHUB_API_URL / _RAW_URL to use
  another), or the fixed files in $COVID_ETL_NYT_URL / $COVID_ETL_JHU_URL.
- Date: $COVID_ETL_LOGICAL_DATE (YYYY-MM-DD) runs that past day, as a backfill would; else now.

The last line printed is the run's summary as JSON, read from Airflow's metadata database (its last
task's XCom), so it exists even when the pipeline's database is unreachable; the exit status is
non-zero when the run failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

from devstack import LocalPostgres, LocalSns, free_port

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
PG_PORT = 54329


def airflow_environment(db_url: str, sns: LocalSns | None) -> dict[str, str]:
    """The environment that points Airflow at this project, its connections and variables."""
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(LOCAL / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "include"), env.get("PYTHONPATH")])),
        AIRFLOW_CONN_COVID_DB=db_url,
    )
    env.setdefault("AIRFLOW_VAR_COVID_ETL_STAGING_URI", (LOCAL / "staging").as_uri())
    if sns:
        env.update(AIRFLOW_CONN_AWS_DEFAULT=sns.airflow_connection(), AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN=sns.topic_arn)
    return env


# Run in Airflow's environment: the summary report_run pushed for the run at the given logical date.
READ_SUMMARY = """
import json, sys
from datetime import datetime
from sqlalchemy import select
from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

with create_session() as session:
    run = session.scalars(
        select(DagRun).where(DagRun.dag_id == "covid_etl", DagRun.logical_date == datetime.fromisoformat(sys.argv[1]))
    ).first()
    row = run and session.scalars(
        select(XComModel).where(
            XComModel.dag_id == "covid_etl", XComModel.run_id == run.run_id,
            XComModel.task_id == "report_run", XComModel.key == "summary",
        )
    ).first()
    print(json.dumps({"run_id": run and run.run_id, "summary": row and XComModel.deserialize_value(row)}))
"""


def logical_date() -> datetime:
    """$COVID_ETL_LOGICAL_DATE at 00:00 UTC (a past day, as a backfill runs it), else now."""
    day = os.environ.get("COVID_ETL_LOGICAL_DATE")
    if day:
        return datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC)
    return datetime.now(UTC)


def run_summary(env: dict[str, str], at: datetime) -> dict:
    """What report_run concluded about this process's own run (by its logical date)."""
    done = subprocess.run([sys.executable, "-c", READ_SUMMARY, at.isoformat()], env=env, capture_output=True, text=True)
    found = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}
    if found.get("summary"):
        return found["summary"]
    return {
        "status": "failed",
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "run_id": found.get("run_id"),
        "error": "the run ended before report_run summed it up; see " + str(LOCAL / "last-run.log"),
    }


def main() -> int:
    LOCAL.mkdir(exist_ok=True)
    db_url = os.environ.get("COVID_ETL_DB_URL")
    postgres = None if db_url else LocalPostgres(LOCAL / "pgdata", port=PG_PORT)
    sns = None if os.environ.get("AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN") else LocalSns(free_port())
    started_postgres = False
    try:
        if postgres:
            started_postgres = not postgres.is_running()
            db_url = postgres.start() if started_postgres else postgres.url
            print(f"Embedded PostgreSQL: {db_url} (data in {postgres.data_dir})", flush=True)
        if sns:
            sns.start()
            print(f"Local SNS endpoint: {sns.endpoint_url}, topic {sns.topic_arn}", flush=True)
        env = airflow_environment(db_url, sns)
        # One run, one answer: no Airflow-level retries (the HTTP client still retries 5xx and
        # connection errors), so an unreachable source fails in seconds, not after 14 min of back-off.
        env.setdefault("COVID_ETL_TASK_RETRIES", "0")
        # No deadline alert: `airflow dags test` never evaluates one, and on Airflow 3.3.1 it fails after a
        # successful run of a DAG that has one (apache/airflow#73428).
        env.setdefault("COVID_ETL_RUN_DEADLINE_MINUTES", "0")
        airflow = str(Path(sys.executable).with_name("airflow"))
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        at = logical_date()
        log_file = LOCAL / "last-run.log"
        print(f"Running `airflow dags test covid_etl {at.isoformat()}` (log: {log_file}) ...", flush=True)
        with log_file.open("w") as log:
            outcome = subprocess.run(
                [airflow, "dags", "test", "covid_etl", at.isoformat()], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        if outcome.returncode != 0:
            print("".join(log_file.read_text(errors="replace").splitlines(keepends=True)[-30:]), flush=True)
        for message in sns.received() if sns else []:
            print("SNS: " + json.dumps(message), flush=True)
        summary = run_summary(env, at)
    finally:
        if sns:
            sns.stop()
        if postgres and started_postgres:
            postgres.stop()
    print(json.dumps(summary))
    return 0 if summary["status"] in ("success", "skipped") and outcome.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
