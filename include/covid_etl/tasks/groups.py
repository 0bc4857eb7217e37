"""The DAG's tasks, built from the datasets' descriptions: one task group per dataset (resolve >> fetch >>
load, and the data quality checks of a table people read), the national merge, and the run's own tasks.

Each task's work is a function of covid_etl/tasks/steps.py; here they are only wired as Airflow runs them.
"""

from __future__ import annotations

from airflow.providers.common.sql.operators.sql import SQLColumnCheckOperator, SQLTableCheckOperator
from airflow.sdk import Asset, TriggerRule, get_current_context, task, task_group

from covid_etl import config
from covid_etl.errors import fail_fast
from covid_etl.sources.specs import NATIONAL, Dataset
from covid_etl.tasks.connection import connect

# A failed check is a fact about the data, which a retry does not change.
_NOT_NULL = {"null_check": {"equal_to": 0}}


def table_asset(table: str) -> Asset:
    """A table of the pipeline's database, as an Airflow Asset that its load updates (so that other DAGs
    can be scheduled on it). The URI's host is the Airflow connection, not a server's name."""
    return Asset(name=table, uri=f"postgres://{config.POSTGRES_CONN_ID}/covid/public/{table}")


def table_checks(table: str, key: tuple[str, ...], counts: tuple[str, ...], nullable: tuple[str, ...] = ()) -> list:
    """The SQL data quality checks of a table: keys and counts present, counts (and ``nullable`` ones,
    where given) not negative, no future date and a row for every date."""
    columns = SQLColumnCheckOperator(
        task_id="check_columns",
        retries=0,
        conn_id=config.POSTGRES_CONN_ID,
        table=table,
        column_mapping={
            **{name: _NOT_NULL for name in key},
            **{name: {**_NOT_NULL, "min": {"geq_to": 0}} for name in counts},
            **{name: {"min": {"geq_to": 0}} for name in nullable},
        },
    )
    rows = SQLTableCheckOperator(
        task_id="check_table",
        retries=0,
        conn_id=config.POSTGRES_CONN_ID,
        table=table,
        checks={
            "no_future_dates": {"check_statement": "MAX(date) <= CURRENT_DATE"},
            "a_row_for_every_date": {"check_statement": "COUNT(DISTINCT date) = MAX(date) - MIN(date) + 1"},
        },
    )
    return [columns, rows]


def dataset_group(dataset: Dataset, *, checked: bool):
    """``<dataset>.resolve >> fetch >> load`` (and its table's checks when ``checked``); returns the group."""

    @task_group(group_id=dataset.name, tooltip=f"{dataset.label} into {dataset.table}")
    def group():
        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def resolve() -> dict | bool:
            """Pin the dataset's files to their newest commits at the run's date; skip if loaded already."""
            from covid_etl.tasks.steps import plan

            with fail_fast():
                return plan(get_current_context(), dataset, connect=connect)

        @task
        def fetch(planned: dict) -> dict:
            """Stream the files to the staging store."""
            from covid_etl.tasks.steps import fetch as fetch_files
            from covid_etl.tasks.steps import staging_uri

            with fail_fast():
                return fetch_files(planned, staging=staging_uri(), run_id=get_current_context()["run_id"])

        @task(outlets=[table_asset(dataset.table)])
        def load(fetched: dict) -> dict:
            """Check and load the publication, with its history, in one transaction."""
            from covid_etl.tasks.steps import load as load_files
            from covid_etl.tasks.steps import run_started_at, staging_uri

            context = get_current_context()
            conn = connect()
            try:
                with fail_fast():
                    return load_files(
                        conn,
                        fetched,
                        run_id=context["run_id"],
                        started_at=run_started_at(context["dag_run"]),
                        staging=staging_uri(),
                    )
            finally:
                conn.close()

        loaded = load(fetch(resolve()))
        if checked:
            counts = [column for column in dataset.columns if column.kind == "count"]
            loaded >> table_checks(
                dataset.table,
                dataset.key,
                tuple(column.name for column in counts if not column.nullable),
                tuple(column.name for column in counts if column.nullable),
            )

    return group()


def national_group():
    """``national.merge`` (NYT's cases and deaths joined on date with JHU's recovered) and its checks."""

    @task_group(group_id=NATIONAL.name, tooltip=f"{' and '.join(NATIONAL.sources)} merged into {NATIONAL.table}")
    def group():
        # It runs when either source loaded something, and not when one failed.
        @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, outlets=[table_asset(NATIONAL.table)])
        def merge() -> dict:
            """Bring covid_us_daily to the two sources' latest tables, in one transaction."""
            from covid_etl.tasks.steps import merge as merge_sources

            conn = connect()
            try:
                with fail_fast():
                    return merge_sources(conn, get_current_context())
            finally:
                conn.close()

        merge() >> table_checks(NATIONAL.table, ("date",), ("cases", "deaths"), ("recovered",))

    return group()


@task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
def compare_states_with_nation() -> dict:
    """Check that per date the states sum to NYT's national series (within a tolerance)."""
    from covid_etl.tasks.steps import compare_states_with_nation as compare

    conn = connect()
    try:
        with fail_fast():
            return compare(conn)
    finally:
        conn.close()


@task(trigger_rule=TriggerRule.ALL_DONE)
def publish_dashboard() -> dict:
    """Read what the dashboard shows and publish it as this task's XCom, for the API server to serve."""
    from covid_etl.publish.dashboard import read_payload

    conn = connect()
    try:
        return read_payload(conn, run_id=get_current_context()["run_id"])
    finally:
        conn.close()


def report_run():
    """The run's last task: it sums the run up (XCom ``summary``) and fails when any task failed; its
    callbacks publish the run's one SNS message, whichever way it ended."""
    from covid_etl.notify.callbacks import notify_run

    @task(trigger_rule=TriggerRule.ALL_DONE, on_success_callback=notify_run, on_failure_callback=notify_run, retries=0)
    def report_run() -> dict:
        """Sum the run up (its XCom ``summary``, and SNS); fail it if any of its tasks failed."""
        from covid_etl.tasks.summary import summarize_run

        return summarize_run(get_current_context())

    return report_run()
