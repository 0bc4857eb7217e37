"""The DAG's deadline alert: SNS hears of a run that has not finished in time.

Airflow 3.3.1 drops a deadline from a DAG's new version when the deadline itself did not change
(apache/airflow#68732, fixed in 3.3.2): after the first deploy that changes anything else in the DAG,
its runs would silently have no deadline. So the callback's kwargs carry a fingerprint of the rest of
the DAG: any change to the DAG is a change to its deadline as well, which Airflow then stores afresh.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import TYPE_CHECKING

from covid_etl.callbacks import notify_late_run

if TYPE_CHECKING:
    from airflow.sdk import DAG


def with_run_deadline(dag: DAG, *, minutes: float | None) -> DAG:
    """Give the DAG, all its tasks defined, a deadline alert counted from each run's queueing.

    :param dag: the DAG.
    :param minutes: how long after it is queued a run may take; None for no deadline.
    :return: the same DAG.
    """
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference, get_parsing_context

    # A task's process parses the file only to run that task and never reads the deadline: it is spared
    # the fingerprint's serialization of the whole DAG (~90 ms, at every task's start).
    if minutes is None or get_parsing_context().task_id is not None:
        return dag
    from airflow.serialization.serialized_objects import DagSerialization

    serialized = json.dumps(DagSerialization.to_dict(dag), sort_keys=True, default=str)
    dag.deadline = DeadlineAlert(
        # A scheduled run is queued as its data interval ends. Counting from the queueing rather than
        # from the data interval keeps a backfill of 2020 from being late before it starts.
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=minutes),
        callback=AsyncCallback(
            notify_late_run,
            kwargs={"bound_minutes": minutes, "dag_fingerprint": hashlib.sha256(serialized.encode()).hexdigest()[:16]},
        ),
    )
    return dag
