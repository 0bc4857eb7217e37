"""
### COVID-19 daily ETL (`covid_etl`)

Once a day, loads the public COVID-19 series into PostgreSQL (connection `covid_db`) as they were
published on the run's date, keeping the history of every publication:

| task group | file | table |
| --- | --- | --- |
| `nyt` | NYT `us.csv` (cases, deaths) | `nyt_us_daily` |
| `jhu` | JHU's combined time series, its US rows (recovered) | `jhu_us_daily` |
| `national` | the two merged on date | `covid_us_daily` |
| `states` | NYT `us-states.csv` | `covid_us_state_daily` |
| `counties` | NYT's county files (one a year since 2022) | `covid_us_county_daily` |

Each dataset's group:
1. **resolve** pins each file to its newest commit at or before the run's data interval end (a manual
   run without one: its `run_after`), through GitHub's REST API; it skips the rest when those commits
   were loaded already ("no new publication since ...") or the dataset was not chosen (param `datasets`).
2. **fetch** streams the files to the staging store (Variable `covid_etl_staging_uri`: S3 on MWAA).
3. **load** checks every row as it reads (a malformed file fails at once, naming the line and the
   value, and writes nothing) and, in one transaction, records the publication's changes in the history
   and brings the table to the newest publication (an older one, from a backfill, only joins the history).

`national.merge` then joins NYT and JHU on date; SQL checks guard the tables people read, and
`compare_states_with_nation` checks that the states add up to the nation. `publish_dashboard` publishes
what the dashboard shows as its XCom, and `report_run` sums the run up: SNS (Variable
`covid_etl_sns_topic_arn`) gets one message, the counts or the first failure. A run not finished 3 hours
after it was queued is reported too (a deadline alert; `$COVID_ETL_RUN_DEADLINE_MINUTES` at parse time).
Trigger with config `nyt_url`, `jhu_url`, `states_url` or `counties_url` to load a fixed file instead
(unpinned: it counts as published at the run's start).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Param, dag

from covid_etl import config
from covid_etl.notify.callbacks import record_failure
from covid_etl.notify.deadline import with_run_deadline
from covid_etl.sources.specs import CHOICES, DATASETS
from covid_etl.tasks.groups import (
    compare_states_with_nation,
    dataset_group,
    national_group,
    publish_dashboard,
    report_run,
)

TASK_TIMEOUT_MINUTES = 30
# The tables people read get data quality checks; the national series' sources feed the merge.
CHECKED = ("states", "counties")


def _url_param(dataset: str) -> Param:
    return Param(
        config.url_override(dataset.upper()),
        type=["null", "string"],
        description=f"{DATASETS[dataset].label}: a fixed URL to load instead of the commit pinned to the run's day",
    )


@dag(
    dag_id=config.DAG_ID,
    schedule="@daily",
    # The sources' first days: runs for any date since can exist, for backfills. catchup=False keeps the
    # scheduler from starting years of runs when the DAG is turned on.
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
        # No try may hang: a download is bounded on its own (covid_etl/sources/fetch.py), a county load
        # takes well under a minute; past this the try fails as a timeout and is retried.
        "execution_timeout": timedelta(minutes=TASK_TIMEOUT_MINUTES),
        "on_failure_callback": record_failure,
    },
    params={
        "datasets": Param(
            config.chosen_datasets(),
            type="array",
            items={"type": "string", "enum": list(CHOICES)},
            description="Which datasets this run loads (default: $COVID_ETL_DATASETS, else all)",
        ),
        **{f"{name}_url": _url_param(name) for name in DATASETS},
    },
)
def covid_etl():
    groups = {name: dataset_group(dataset, checked=name in CHECKED) for name, dataset in DATASETS.items()}
    national = national_group()
    [groups["nyt"], groups["jhu"]] >> national
    cross_check = compare_states_with_nation()
    [national, groups["states"]] >> cross_check
    published = publish_dashboard()
    [national, cross_check, groups["counties"]] >> published
    published >> report_run()


# The deadline comes last: it carries a fingerprint of what the DAG is made of (covid_etl/notify/deadline.py).
with_run_deadline(covid_etl(), minutes=config.run_deadline_minutes())
