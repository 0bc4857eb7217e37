"""The DAG's deadline alert: SNS hears of a run that has not finished in time.

Airflow 3.3.1 drops a deadline from a DAG's new version when the deadline itself did not change
(apache/airflow#68732, fixed in 3.3.2): after the first deploy that changes anything else in the DAG,
its runs would silently have no deadline. So the callback's kwargs carry a fingerprint of what the DAG is
made of (its file, this package's code and SQL, and the settings read when it is parsed): any change to
the DAG is a change to its deadline as well, which Airflow then stores afresh.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from covid_etl.notify.callbacks import notify_late_run

if TYPE_CHECKING:
    from airflow.sdk import DAG

# This package and its SQL, shipped beside each other (include/ locally, dags/ on MWAA).
_SOURCES = Path(__file__).resolve().parents[2]


def fingerprint(dag_file: str | os.PathLike) -> str:
    """A digest of the DAG's file, the package's code and SQL, and the COVID_ETL_* settings."""
    digest = hashlib.sha256(Path(dag_file).read_bytes())
    for path in sorted([*(_SOURCES / "covid_etl").rglob("*.py"), *(_SOURCES / "sql").rglob("*.sql")]):
        digest.update(path.relative_to(_SOURCES).as_posix().encode() + b"\0" + path.read_bytes())
    for name in sorted(name for name in os.environ if name.startswith("COVID_ETL_")):
        digest.update(f"{name}={os.environ[name]}".encode())
    return digest.hexdigest()[:16]


def with_run_deadline(dag: DAG, *, minutes: float | None) -> DAG:
    """Give the DAG a deadline alert counted from each run's queueing.

    :param dag: the DAG.
    :param minutes: how long after it is queued a run may take; None for no deadline.
    :return: the same DAG.
    """
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    if minutes is None:
        return dag
    dag.deadline = DeadlineAlert(
        # A scheduled run is queued as its data interval ends. Counting from the queueing rather than from
        # the data interval keeps a backfill of 2020 from being late before it starts.
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=minutes),
        callback=AsyncCallback(
            notify_late_run, kwargs={"bound_minutes": minutes, "dag_fingerprint": fingerprint(dag.fileloc)}
        ),
    )
    return dag
