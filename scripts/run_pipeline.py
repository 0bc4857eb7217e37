"""`make run`: run the covid_etl DAG once, on local stand-ins unless real services are configured.

- PostgreSQL: $COVID_ETL_DB_URL, or an embedded server whose data stays in .local/pgdata (so the
  next run is incremental).
- SNS: the topic in $AIRFLOW_VAR_COVID_ETL_SNS_TOPIC_ARN with your AWS credentials, or moto's server
  with a topic and a queue subscribed to it, whose messages are printed as `SNS: ...` lines.
- Sources: the DAG's params, i.e. $COVID_ETL_NYT_URL / $COVID_ETL_JHU_URL or GitHub.

The last line printed is a JSON summary of the run; the exit status is non-zero when it failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


def last_run_id(db_url: str) -> int:
    import psycopg

    with psycopg.connect(db_url) as conn:
        exists = conn.execute("SELECT to_regclass('etl_runs') IS NOT NULL").fetchone()[0]
        return conn.execute("SELECT coalesce(max(id), 0) FROM etl_runs").fetchone()[0] if exists else 0


def run_summary(db_url: str, after_id: int) -> dict:
    """The etl_runs row this run wrote, as the closing JSON line."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        row = conn.execute(
            "SELECT run_id, status, rows_inserted, rows_updated, rows_unchanged, first_date, last_date,"
            " nyt_url, nyt_sha256, jhu_url, jhu_sha256, error FROM etl_runs WHERE id > %s ORDER BY id DESC LIMIT 1",
            (after_id,),
        ).fetchone()
    if row is None:
        return {"status": "failed", "inserted": 0, "updated": 0, "unchanged": 0, "error": "the run recorded nothing"}
    return {
        "status": row["status"],
        "inserted": row["rows_inserted"] or 0,
        "updated": row["rows_updated"] or 0,
        "unchanged": row["rows_unchanged"] or 0,
        "run_id": row["run_id"],
        "first_date": row["first_date"] and row["first_date"].isoformat(),
        "last_date": row["last_date"] and row["last_date"].isoformat(),
        "nyt_url": row["nyt_url"],
        "jhu_url": row["jhu_url"],
        "error": row["error"],
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
        airflow = str(Path(sys.executable).with_name("airflow"))
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        before = last_run_id(db_url)
        log_file = LOCAL / "last-run.log"
        print(f"Running `airflow dags test covid_etl` (log: {log_file}) ...", flush=True)
        with log_file.open("w") as log:
            outcome = subprocess.run(
                [airflow, "dags", "test", "covid_etl"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        if outcome.returncode != 0:
            print("".join(log_file.read_text(errors="replace").splitlines(keepends=True)[-30:]), flush=True)
        for message in sns.received() if sns else []:
            print("SNS: " + json.dumps(message), flush=True)
        summary = run_summary(db_url, before)
    finally:
        if sns:
            sns.stop()
        if postgres and started_postgres:
            postgres.stop()
    print(json.dumps(summary))
    return 0 if summary["status"] == "success" and outcome.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
