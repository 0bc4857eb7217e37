"""Names and defaults shared by the DAG, its callbacks and the local tooling."""

from __future__ import annotations

import os

DAG_ID = "covid_etl"
POSTGRES_CONN_ID = "covid_db"
AWS_CONN_ID = "aws_default"
SNS_TOPIC_VARIABLE = "covid_etl_sns_topic_arn"
STAGING_VARIABLE = "covid_etl_staging_uri"

NYT_URL = "https://raw.githubusercontent.com/nytimes/covid-19-data/master/us.csv"
JHU_URL = "https://raw.githubusercontent.com/datasets/covid-19/main/data/time-series-19-covid-combined.csv"
# Where downloads wait between the fetch and parse tasks: local disk by default; on MWAA an S3 prefix
# (set the Variable), since the two tasks may run on different workers.
STAGING_URI = "file:///tmp/covid_etl/staging"


def task_retries() -> int:
    """Airflow retries per task: $COVID_ETL_TASK_RETRIES, else 3 (`make run` sets 0 for a one-shot run)."""
    return int(os.environ.get("COVID_ETL_TASK_RETRIES", "3"))


def default_url(source: str) -> str:
    """The URL a run uses for ``source`` unless its params say otherwise: $COVID_ETL_<SOURCE>_URL or GitHub's."""
    built_in = {"NYT": NYT_URL, "JHU": JHU_URL}[source]
    return os.environ.get(f"COVID_ETL_{source}_URL") or built_in
