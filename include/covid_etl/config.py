"""Names and defaults shared by the DAG, its callbacks and the local tooling."""

from __future__ import annotations

import os

from covid_etl.sources import SOURCES

DAG_ID = "covid_etl"
POSTGRES_CONN_ID = "covid_db"
AWS_CONN_ID = "aws_default"
# Optional: its password is a GitHub token, which lifts the API's limit of 60 requests an hour.
GITHUB_CONN_ID = "github_default"
SNS_TOPIC_VARIABLE = "covid_etl_sns_topic_arn"
STAGING_VARIABLE = "covid_etl_staging_uri"

GITHUB_API_URL = "https://api.github.com"
GITHUB_RAW_URL = "https://raw.githubusercontent.com"
# Where downloads wait between the fetch and parse tasks: local disk by default; on MWAA an S3 prefix
# (set the Variable), since the two tasks may run on different workers.
STAGING_URI = "file:///tmp/covid_etl/staging"


def task_retries() -> int:
    """Airflow retries per task: $COVID_ETL_TASK_RETRIES, else 3 (`make run` sets 0 for a one-shot run)."""
    return int(os.environ.get("COVID_ETL_TASK_RETRIES", "3"))


def url_override(source: str) -> str | None:
    """$COVID_ETL_<SOURCE>_URL: a fixed URL to load instead of the pinned publication, or None."""
    return os.environ.get(f"COVID_ETL_{source}_URL") or None


def chosen_datasets() -> list[str]:
    """$COVID_ETL_DATASETS (comma-separated: national, states, counties), else all of them."""
    from covid_etl.datasets import ALL_DATASETS

    chosen = [name.strip() for name in os.environ.get("COVID_ETL_DATASETS", "").split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(ALL_DATASETS))
    if unknown:
        raise ValueError(f"COVID_ETL_DATASETS names unknown datasets {unknown}; known: {', '.join(ALL_DATASETS)}")
    return chosen or list(ALL_DATASETS)


def github_api_url() -> str:
    """GitHub's REST API: $COVID_ETL_GITHUB_API_URL, else api.github.com."""
    return os.environ.get("COVID_ETL_GITHUB_API_URL") or GITHUB_API_URL


def github_raw_url() -> str:
    """Where GitHub serves files by commit: $COVID_ETL_GITHUB_RAW_URL, else raw.githubusercontent.com."""
    return os.environ.get("COVID_ETL_GITHUB_RAW_URL") or GITHUB_RAW_URL


def live_url(source: str) -> str:
    """What the source's branch serves now (for `make check-sources`): the override, else the branch head."""
    return url_override(source) or SOURCES[source].raw_url(github_raw_url())
