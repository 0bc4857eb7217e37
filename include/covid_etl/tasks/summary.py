"""report_run's work: the run's summary from what its tasks left behind (covid_etl/notify/report.py)."""

from __future__ import annotations

import logging

from covid_etl import config
from covid_etl.notify.report import summarize
from covid_etl.sources.specs import CHOICES, DATASETS, NATIONAL

log = logging.getLogger(__name__)


def summarize_run(context) -> dict:
    """Push the run's summary as XCom ``summary`` and return it; raise if any task failed."""
    from airflow.sdk.exceptions import AirflowFailException

    ti, run_id, dag = context["ti"], context["run_id"], context["dag"]
    states = ti.get_task_states(dag_id=config.DAG_ID, run_ids=[run_id])[run_id]
    failed = [task for task, state in states.items() if state == "failed"]
    summary = summarize(
        run_id=run_id,
        states=states,
        order=list(dag.task_ids),
        errors={task: ti.xcom_pull(task_ids=task, key="error") for task in failed},
        chosen=context["params"].get("datasets") or list(CHOICES),
        resolved={name: _first_file(ti.xcom_pull(task_ids=f"{name}.resolve")) for name in DATASETS},
        skipped={name: ti.xcom_pull(task_ids=f"{name}.resolve", key="skipped") for name in DATASETS},
        loaded={
            **{name: ti.xcom_pull(task_ids=f"{name}.load") for name in DATASETS},
            NATIONAL.name: ti.xcom_pull(task_ids=f"{NATIONAL.name}.merge"),
        },
        comparison=ti.xcom_pull(task_ids="compare_states_with_nation"),
        reporter=ti.task_id,
    )
    ti.xcom_push(key="summary", value=summary)
    log.info("Run summary: %s", summary)
    if summary["status"] == "failed":
        raise AirflowFailException(summary["error"])
    from covid_etl.notify.metrics import publish_success_metric

    publish_success_metric(dag_id=config.DAG_ID, aws_conn_id=config.AWS_CONN_ID)
    return summary


def _first_file(planned: dict | None) -> dict | None:
    return (planned or {}).get("files", [None])[0] if isinstance(planned, dict) else None
