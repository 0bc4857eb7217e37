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
    record_unrecorded_failures(ti, failed)
    if summary["status"] == "failed":
        raise AirflowFailException(summary["error"])
    from covid_etl.notify.metrics import publish_success_metric

    publish_success_metric(dag_id=config.DAG_ID, aws_conn_id=config.AWS_CONN_ID)
    return summary


def _first_file(planned: dict | None) -> dict | None:
    return (planned or {}).get("files", [None])[0] if isinstance(planned, dict) else None


# Failed runs' rows that the database could not take when they failed (it was down, or full), kept in
# Airflow until a run can write them: this Variable, which only report_run writes (runs follow each other:
# max_active_runs is 1).
UNRECORDED_VARIABLE = "covid_etl_unrecorded_failures"


def record_unrecorded_failures(ti, failed: list[str]) -> None:
    """Write into etl_runs the failure rows of this run (XCom ``unrecorded`` of its failed tasks) and of
    earlier runs that the database could not take; keep in the Variable what it still cannot take."""
    from airflow.sdk import Variable

    from covid_etl.notify.callbacks import write_runs
    from covid_etl.records import RunRecord

    pending = Variable.get(UNRECORDED_VARIABLE, default=[], deserialize_json=True)
    pending += [record for task in failed if (record := ti.xcom_pull(task_ids=task, key="unrecorded"))]
    if not pending:
        return
    try:
        write_runs([RunRecord.from_json(record) for record in pending])
    except Exception:
        log.exception("etl_runs cannot take %s failed runs' rows yet: kept for a later run", len(pending))
        Variable.set(UNRECORDED_VARIABLE, pending, serialize_json=True)
        return
    log.info("Recorded %s failed runs' rows that the database could not take when they failed", len(pending))
    Variable.set(UNRECORDED_VARIABLE, [], serialize_json=True)
