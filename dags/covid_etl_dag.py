"""
### COVID-19 daily ETL (`covid_etl`)

Once a day, loads the US national COVID-19 series into PostgreSQL:

1. **fetch_nyt / fetch_jhu** download the New York Times `us.csv` (cases, deaths) and the Johns
   Hopkins combined time series (recovered), with timeouts, retries, a size cap and a length check,
   and stage each file (local disk, or S3 on MWAA: Variable `covid_etl_staging_uri`).
2. **parse_nyt / parse_jhu** validate them: a malformed file fails the run at once (no retry), with
   an error naming the source, the line and the value.
3. **merge_sources** joins NYT and JHU's US rows on date. A JHU recovered count of 0 after an
   earlier positive value means "not reported" and is stored as NULL.
4. **upsert_days** inserts new days and updates changed ones in one transaction (connection
   `covid_db`), and records the run in `etl_runs`.
5. **publish_dashboard** reads what the COVID-19 dashboard shows and publishes it as its XCom: the
   API server, which serves the dashboard, cannot reach the database on MWAA. It runs whatever
   happened before it, and **report_run** then fails the run if any task failed.

SNS (Variable `covid_etl_sns_topic_arn`, connection `aws_default`) receives the counts on success
and the error on failure. Trigger with config to load other files: params `nyt_url`, `jhu_url`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Param, TriggerRule, dag, task

from covid_etl import config
from covid_etl.callbacks import notify_success, record_and_notify_failure
from covid_etl.errors import fail_fast


@dag(
    dag_id=config.DAG_ID,
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["covid-19", "etl", "postgres", "sns"],
    default_args={
        "owner": "data-engineering",
        # Transient faults (network, 5xx, database) retry with exponential back-off; malformed
        # input raises AirflowFailException and fails at once.
        "retries": config.task_retries(),
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": record_and_notify_failure,
    },
    params={
        "nyt_url": Param(config.default_url("NYT"), type="string", description="NYT us.csv (date,cases,deaths)"),
        "jhu_url": Param(config.default_url("JHU"), type="string", description="JHU combined time series"),
    },
)
def covid_etl():
    @task
    def fetch_source(source: str, url: str) -> dict:
        """Download one source file and stage it for parsing."""
        from airflow.sdk import Variable, get_current_context

        from covid_etl.steps import fetch_to_staging

        with fail_fast():
            return fetch_to_staging(
                source=source,
                url=url,
                staging_uri=Variable.get(config.STAGING_VARIABLE, default=config.STAGING_URI),
                run_id=get_current_context()["run_id"],
            )

    @task
    def parse_nyt(staged: dict) -> dict:
        """Validate the NYT file into days (date, cases, deaths)."""
        from covid_etl.steps import parse_nyt_file

        with fail_fast():
            return parse_nyt_file(staged)

    @task
    def parse_jhu(staged: dict) -> dict:
        """Validate the JHU file into the US days' recovered counts."""
        from covid_etl.steps import parse_jhu_file

        with fail_fast():
            return parse_jhu_file(staged)

    @task
    def merge_sources(nyt: dict, jhu: dict) -> dict:
        """Join the two series on date."""
        from covid_etl.steps import merge_parsed

        with fail_fast():
            return merge_parsed(nyt, jhu)

    @task(on_success_callback=notify_success)
    def upsert_days(merged: dict) -> dict:
        """Upsert the days into covid_us_daily and record the run, in one transaction."""
        from airflow.providers.postgres.hooks.postgres import PostgresHook
        from airflow.sdk import get_current_context

        from covid_etl.steps import load_merged

        context = get_current_context()
        conn = PostgresHook(postgres_conn_id=config.POSTGRES_CONN_ID).get_conn()
        try:
            return load_merged(conn, merged, run_id=context["run_id"], started_at=context["dag_run"].start_date)
        finally:
            conn.close()

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def publish_dashboard() -> dict:
        """Read what the dashboard shows and publish it as this task's XCom, for the API server to serve."""
        from airflow.providers.postgres.hooks.postgres import PostgresHook
        from airflow.sdk import get_current_context

        from covid_etl.dashboard import read_payload

        conn = PostgresHook(postgres_conn_id=config.POSTGRES_CONN_ID).get_conn()
        try:
            return read_payload(conn, run_id=get_current_context()["run_id"])
        finally:
            conn.close()

    # The run's state follows its last task: this one fails the run when any task failed (every failure
    # was already reported by that task's callback, so it has none of its own).
    @task(trigger_rule=TriggerRule.ALL_DONE, on_failure_callback=None, retries=0)
    def report_run() -> None:
        """Fail the run if any of its tasks failed."""
        from airflow.sdk import get_current_context

        from covid_etl.steps import raise_if_any_task_failed

        context = get_current_context()
        states = context["ti"].get_task_states(dag_id=config.DAG_ID, run_ids=[context["run_id"]])
        raise_if_any_task_failed(states[context["run_id"]], ignore={context["ti"].task_id})

    nyt_file = fetch_source.override(task_id="fetch_nyt")("NYT", "{{ params.nyt_url }}")
    jhu_file = fetch_source.override(task_id="fetch_jhu")("JHU", "{{ params.jhu_url }}")
    loaded = upsert_days(merge_sources(parse_nyt(nyt_file), parse_jhu(jhu_file)))
    loaded >> publish_dashboard() >> report_run()


covid_etl()
