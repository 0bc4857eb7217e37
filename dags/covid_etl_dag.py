"""
### COVID-19 daily ETL (`covid_etl`)

Once a day, loads three COVID-19 datasets into PostgreSQL, as the sources were published on the
run's date: the US national series (below), and NYT's state and county series (`resolve_states` /
`resolve_counties` >> `fetch_*` >> `load_*` >> `check_*_columns`, `check_*_table`: one generic loader
that streams the staged files, compares them with the version the table holds and writes only what
changed, with COPY; then SQL data quality checks, and `compare_states_with_nation`). Param `datasets`
(default `$COVID_ETL_DATASETS`, else all) chooses which; one dataset's failure does not stop another.
The national series:

1. **resolve_sources** finds, for the New York Times `us.csv` (cases, deaths) and the Johns Hopkins
   combined time series (recovered), the newest commit at or before the run's data interval end
   (a manual run without one: its `run_after`), through GitHub's REST API. When both were loaded
   already, the run skips to the end and says so ("no new publication since ...").
2. **fetch_nyt / fetch_jhu** download those versions, with timeouts, retries, a size cap and a
   length check, and stage each file (local disk, or S3 on MWAA: Variable `covid_etl_staging_uri`).
3. **parse_nyt / parse_jhu** validate them: a malformed file fails the run at once (no retry), with
   an error naming the source, the line and the value.
4. **merge_sources** joins NYT and JHU's US rows on date. A JHU recovered count of 0 after an
   earlier positive value means "not reported" and is stored as NULL.
5. **upsert_days** records both publications in the history and brings `covid_us_daily` to what
   the newest publication of each source says (an older one loses: its days count as stale), in one
   transaction (connection `covid_db`), and records the run in `etl_runs`.
6. **publish_dashboard** reads what the COVID-19 dashboard shows and publishes it as its XCom: the
   API server, which serves the dashboard, cannot reach the database on MWAA. It runs whatever
   happened before it; **report_run** then sums the run up (SNS on success) and fails the run if
   any task failed.

SNS (Variable `covid_etl_sns_topic_arn`, connection `aws_default`) receives the counts on success,
the error on failure, and a warning when a run has not finished 3 hours after it was queued (a
deadline alert; `$COVID_ETL_RUN_DEADLINE_MINUTES` at parse time sets the bound). Backfill to load past
days as they were published. Trigger with config `nyt_url` / `jhu_url` to load fixed files instead
(unpinned: they count as published at the run's start).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLTableCheckOperator
from airflow.sdk import Param, TriggerRule, dag, task

from covid_etl import config
from covid_etl.callbacks import notify_success, record_and_notify_failure
from covid_etl.datasets import ALL_DATASETS, DATASETS, Dataset
from covid_etl.deadline import with_run_deadline
from covid_etl.errors import fail_fast

TASK_TIMEOUT_MINUTES = 30


def _connect():
    """A connection to the pipeline's database (psycopg 3 on MWAA), through the provider's hook; when it
    cannot be had, an error that names the connection (the driver's own names only host and port)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from covid_etl.errors import DatabaseUnreachableError

    try:
        return PostgresHook(postgres_conn_id=config.POSTGRES_CONN_ID).get_conn()
    except Exception as exc:  # psycopg's or psycopg2's OperationalError, whichever driver the hook uses
        raise DatabaseUnreachableError(f"database connection {config.POSTGRES_CONN_ID} unreachable: {exc}") from exc


def dataset_tasks(dataset: Dataset):
    """resolve_<name> >> fetch_<name> >> load_<name> >> its two data quality checks; returns
    (the load, [the checks])."""

    @task.short_circuit(task_id=f"resolve_{dataset.name}", ignore_downstream_trigger_rules=False)
    def resolve() -> dict | bool:
        from airflow.sdk import get_current_context

        from covid_etl.dataset_steps import plan_dataset

        with fail_fast():
            return plan_dataset(get_current_context(), dataset, connect=_connect)

    @task(task_id=f"fetch_{dataset.name}")
    def fetch(plan: dict) -> dict:
        from covid_etl.dataset_steps import fetch_files
        from covid_etl.steps import staging_of_run

        with fail_fast():
            return fetch_files(plan, **staging_of_run())

    @task(task_id=f"load_{dataset.name}")
    def load(fetched: dict) -> dict:
        from airflow.sdk import get_current_context

        from covid_etl.dataset_steps import load_files
        from covid_etl.steps import run_started_at

        context = get_current_context()
        conn = _connect()
        try:
            with fail_fast():
                return load_files(
                    conn, fetched, run_id=context["run_id"], started_at=run_started_at(context["dag_run"])
                )
        finally:
            conn.close()

    loaded = load(fetch(resolve()))
    not_null = {"null_check": {"equal_to": 0}}
    # A failed check is a fact about the data, which a retry does not change.
    columns = SQLColumnCheckOperator(
        task_id=f"check_{dataset.name}_columns",
        retries=0,
        conn_id=config.POSTGRES_CONN_ID,
        table=dataset.table,
        column_mapping={
            **{name: not_null for name in dataset.key},
            **{name: {**not_null, "min": {"geq_to": 0}} for name in ("cases", "deaths")},
        },
    )
    table = SQLTableCheckOperator(
        task_id=f"check_{dataset.name}_table",
        retries=0,
        conn_id=config.POSTGRES_CONN_ID,
        table=dataset.table,
        checks={
            "no_future_dates": {"check_statement": "MAX(date) <= CURRENT_DATE"},
            "a_row_for_every_date": {"check_statement": "COUNT(DISTINCT date) = MAX(date) - MIN(date) + 1"},
        },
    )
    loaded >> [columns, table]
    return loaded, [columns, table]


def _url_param(source: str, what: str) -> Param:
    return Param(
        config.url_override(source),
        type=["null", "string"],
        description=f"{what}: a fixed URL to load instead of the publication pinned to the run's date",
    )


@dag(
    dag_id=config.DAG_ID,
    schedule="@daily",
    # The sources' first days: runs for any date since can exist, for backfills. catchup=False keeps
    # the scheduler from starting years of runs when the DAG is turned on.
    start_date=datetime(2020, 1, 21, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["covid-19", "etl", "postgres", "sns"],
    default_args={
        "owner": "data-engineering",
        # Transient faults (network, 5xx, rate limits, database) retry with exponential back-off;
        # malformed input raises AirflowFailException and fails at once.
        "retries": config.task_retries(),
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        # No try may hang: a download is bounded on its own (covid_etl/fetch.py: 4 attempts of at most
        # 10 s to connect and 30 s between bytes, 5 min for the body), a load of the county series
        # takes well under a minute; past this the try fails as a timeout and is retried.
        "execution_timeout": timedelta(minutes=TASK_TIMEOUT_MINUTES),
        "on_failure_callback": record_and_notify_failure,
    },
    params={
        "datasets": Param(
            config.chosen_datasets(),
            type="array",
            items={"type": "string", "enum": list(ALL_DATASETS)},
            description="Which datasets this run loads (default: $COVID_ETL_DATASETS, else all)",
        ),
        "nyt_url": _url_param("NYT", "NYT us.csv (date,cases,deaths)"),
        "jhu_url": _url_param("JHU", "JHU combined time series"),
        "states_url": _url_param("STATES", "NYT us-states.csv (date,state,fips,cases,deaths)"),
        "counties_url": _url_param("COUNTIES", "NYT counties, the whole series in one file"),
    },
)
def covid_etl():
    # Skips the downloads and the load (not the last two tasks) when nothing new was published.
    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def resolve_sources() -> dict | bool:
        """Pin each source to its newest publication at the run's date; skip if all were loaded already."""
        from airflow.sdk import get_current_context

        from covid_etl.steps import plan_run

        with fail_fast():
            return plan_run(get_current_context(), connect=_connect)

    @task
    def fetch_source(publications: dict, source: str) -> dict:
        """Download one source's publication and stage it for parsing."""
        from airflow.sdk import Variable, get_current_context

        from covid_etl.steps import fetch_to_staging

        with fail_fast():
            return fetch_to_staging(
                publication=publications[source],
                staging_uri=Variable.get(config.STAGING_VARIABLE, default=config.STAGING_URI),
                run_id=get_current_context()["run_id"],
            )

    @task
    def parse_nyt(staged: dict) -> dict:
        """Validate the NYT file into days (date, cases, deaths)."""
        from covid_etl.steps import parse_nyt_file, staging_of_run

        with fail_fast():
            return parse_nyt_file(staged, **staging_of_run())

    @task
    def parse_jhu(staged: dict) -> dict:
        """Validate the JHU file into the US days' recovered counts."""
        from covid_etl.steps import parse_jhu_file, staging_of_run

        with fail_fast():
            return parse_jhu_file(staged, **staging_of_run())

    @task
    def merge_sources(nyt: dict, jhu: dict) -> dict:
        """Join the two series on date."""
        from covid_etl.steps import merge_parsed, staging_of_run

        with fail_fast():
            return merge_parsed(nyt, jhu, **staging_of_run())

    @task
    def upsert_days(merged: dict) -> dict:
        """Record both publications and bring covid_us_daily up to date, in one transaction."""
        from airflow.sdk import get_current_context

        from covid_etl.steps import load_merged, run_started_at

        context = get_current_context()
        conn = _connect()
        try:
            return load_merged(conn, merged, run_id=context["run_id"], started_at=run_started_at(context["dag_run"]))
        finally:
            conn.close()

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def publish_dashboard() -> dict:
        """Read what the dashboard shows and publish it as this task's XCom, for the API server to serve."""
        from airflow.sdk import get_current_context

        from covid_etl.dashboard import read_payload

        conn = _connect()
        try:
            return read_payload(conn, run_id=get_current_context()["run_id"])
        finally:
            conn.close()

    # The run's state follows its last task: this one fails the run when any task failed. Each failure
    # was reported by that task's callback already, so it has no failure callback of its own.
    @task(trigger_rule=TriggerRule.ALL_DONE, on_success_callback=notify_success, on_failure_callback=None, retries=0)
    def report_run() -> dict:
        """Sum the run up (its XCom `summary`, and SNS on success); fail it if any of its tasks failed."""
        from airflow.sdk import get_current_context

        from covid_etl.steps import summarize_run

        return summarize_run(get_current_context())

    publications = resolve_sources()

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def compare_states_with_nation() -> dict:
        """Check that per date the states sum to NYT's national series (within a tolerance)."""
        from covid_etl.dataset_steps import compare_states_with_nation as compare

        conn = _connect()
        try:
            with fail_fast():
                return compare(conn)
        finally:
            conn.close()

    nyt_file = fetch_source.override(task_id="fetch_nyt")(publications, "NYT")
    jhu_file = fetch_source.override(task_id="fetch_jhu")(publications, "JHU")
    national = upsert_days(merge_sources(parse_nyt(nyt_file), parse_jhu(jhu_file)))
    checks = {name: dataset_tasks(dataset) for name, dataset in DATASETS.items()}
    cross_check = compare_states_with_nation()
    [national, checks["states"][0]] >> cross_check
    published = publish_dashboard()
    [national, cross_check, *(task for _, tasks in checks.values() for task in tasks)] >> published
    published >> report_run()


# The deadline comes last: it carries a fingerprint of the finished DAG (covid_etl/deadline.py says why).
with_run_deadline(covid_etl(), minutes=config.run_deadline_minutes())
