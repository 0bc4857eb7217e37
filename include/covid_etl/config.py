"""Names and defaults shared by the DAG, its callbacks and the local tooling."""

from __future__ import annotations

import math
import os

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


# A run normally takes minutes. One task retrying to the end takes at most ~2 h 15 min (4 tries of up to
# 30 min and back-offs of 2 + 4 + 8 min), and then its failure callback reports it; a run still not done
# after 3 h is stuck in a way no task callback reports (e.g. waiting for a worker that never comes).
RUN_DEADLINE_MINUTES = 180.0


def run_deadline_minutes() -> float | None:
    """How long after it is queued a run may take before the DAG's deadline alert publishes that it is late:
    $COVID_ETL_RUN_DEADLINE_MINUTES (decimals allowed), else 180; 0 for no deadline.

    `make run` sets 0: `airflow dags test` never evaluates a deadline, and Airflow 3.3.1 fails the
    command after a successful run of a DAG that has one (apache/airflow#73428).
    """
    raw = os.environ.get("COVID_ETL_RUN_DEADLINE_MINUTES") or str(RUN_DEADLINE_MINUTES)
    try:
        minutes = float(raw)
    except ValueError:
        minutes = math.nan
    if minutes == 0:
        return None
    if not (math.isfinite(minutes) and minutes > 0):
        raise ValueError(f"COVID_ETL_RUN_DEADLINE_MINUTES must be a positive number of minutes or 0, not {raw!r}")
    return minutes


def url_override(source: str) -> str | None:
    """$COVID_ETL_<SOURCE>_URL: a fixed URL to load instead of the pinned publication, or None."""
    return os.environ.get(f"COVID_ETL_{source}_URL") or None


def chosen_datasets() -> list[str]:
    """$COVID_ETL_DATASETS (comma-separated: national, states, counties), else all of them."""
    from covid_etl.sources.specs import CHOICES as ALL_DATASETS

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


def live_url(dataset: str, path: str) -> str:
    """What a dataset's file's branch serves now (for `make check-sources`): the override, else the branch head."""
    from covid_etl.sources.specs import DATASETS

    return url_override(dataset.upper()) or DATASETS[dataset].part(path).file.raw_url(github_raw_url())
