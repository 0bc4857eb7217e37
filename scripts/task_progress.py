"""Prints a line as each task of one DAG run ends: the task, its state, how long it took, and the counts
it returned.

`make run` starts it beside `airflow dags test`, in the same Airflow environment, and closes its stdin
once the run has ended; it then reports what is left, writes the run's summary (the XCom report_run
pushed) as JSON to SUMMARY_FILE when given, and exits: `make run` needs no other Airflow process to read
it. It polls the metadata database, where every task instance's state is recorded whoever set it: a
listener would hear only the tasks that ran, not those the run skipped (a short circuit) or marked
upstream_failed.

    python scripts/task_progress.py DAG_ID LOGICAL_DATE [SUMMARY_FILE]
"""

from __future__ import annotations

import json
import select
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

# The whole numbers a task's return value may report, in the order they are shown.
COUNT_KEYS = ("bytes", "rows", "days", "inserted", "updated", "unchanged", "stale", "deleted")
# A task instance's try has ended in these states (up_for_retry: it will run again).
ENDED = ("success", "failed", "skipped", "upstream_failed", "removed", "up_for_retry")
POLL_SECONDS = 1.0
T = TypeVar("T")
# Tries of the last look once the run has ended, should SQLite still be busy with the run's last write.
LAST_LOOK_TRIES = 10


def counts(value: object) -> dict[str, int]:
    """The counts in a task's return value: its top-level whole numbers named in COUNT_KEYS."""
    if not isinstance(value, dict):
        return {}
    return {
        key: value[key] for key in COUNT_KEYS if isinstance(value.get(key), int) and not isinstance(value[key], bool)
    }


def task_line(task_id: str, map_index: int, *, state: str, duration: float | None, value: object = None) -> str:
    """One task's line: name, state, duration (none for a task that never ran) and counts."""
    name = task_id if map_index < 0 else f"{task_id}[{map_index}]"
    took = "" if duration is None else f"{duration:.1f} s"
    shown = " ".join(f"{key}={number}" for key, number in counts(value).items())
    return f"  {name:<28} {state:<15} {took:>8}  {shown}".rstrip()


def _run_id(session, dag_id: str, logical_date: datetime) -> str | None:
    """The id of the DAG's run at ``logical_date``, once it exists."""
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select as sql

    return session.scalar(sql(DagRun.run_id).where(DagRun.dag_id == dag_id, DagRun.logical_date == logical_date))


def _xcom(session, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> object:
    """The value a task instance pushed under ``key``; None when it pushed none."""
    from airflow.models.xcom import XComModel
    from sqlalchemy import select as sql

    row = session.scalars(
        sql(XComModel).where(
            XComModel.dag_id == dag_id,
            XComModel.run_id == run_id,
            XComModel.task_id == task_id,
            XComModel.map_index == map_index,
            XComModel.key == key,
        )
    ).first()
    return row and XComModel.deserialize_value(row)


def _ended(dag_id: str, logical_date: datetime, reported: set) -> list[str]:
    """The lines of the task tries that ended since the last call (``reported`` remembers which were shown)."""
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.session import create_session
    from sqlalchemy import select as sql

    lines = []
    with create_session() as session:
        run_id = _run_id(session, dag_id, logical_date)
        if run_id is None:
            return lines
        tries = session.execute(
            sql(TI.task_id, TI.map_index, TI.try_number, TI.state, TI.duration, TI.end_date)
            .where(TI.dag_id == dag_id, TI.run_id == run_id, TI.state.in_(ENDED))
            .order_by(TI.end_date)
        ).all()
        for task_id, map_index, try_number, state, duration, _ in tries:
            if (task_id, map_index, try_number, state) in reported:
                continue
            reported.add((task_id, map_index, try_number, state))
            value = _xcom(session, dag_id, run_id, task_id, "return_value", map_index) if state == "success" else None
            lines.append(task_line(task_id, map_index, state=str(state), duration=duration, value=value))
    return lines


def _summary(dag_id: str, logical_date: datetime) -> dict:
    """The run's id and the summary its report_run task pushed (None for either that does not exist)."""
    from airflow.utils.session import create_session

    with create_session() as session:
        run_id = _run_id(session, dag_id, logical_date)
        return {"run_id": run_id, "summary": run_id and _xcom(session, dag_id, run_id, "report_run", "summary")}


def _last_look(look: Callable[[], T]) -> T | None:
    """``look()`` once the run has ended, tried again while SQLite is busy with the run's last write."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(LAST_LOOK_TRIES):
        try:
            return look()
        except OperationalError:
            time.sleep(0.2 * (attempt + 1))
    return None


def main(dag_id: str, logical_date: str, summary_file: str | None = None) -> int:
    from sqlalchemy.exc import OperationalError

    at = datetime.fromisoformat(logical_date)
    reported: set = set()
    # The driver closes stdin when the run has ended: then one last look, and the summary.
    while not select.select([sys.stdin], [], [], POLL_SECONDS)[0] or sys.stdin.read() != "":
        try:
            lines = _ended(dag_id, at, reported)
        except OperationalError:  # SQLite busy with the run's own write: the next poll sees it
            continue
        for line in lines:
            print(line, flush=True)
    for line in _last_look(lambda: _ended(dag_id, at, reported)) or []:
        print(line, flush=True)
    if summary_file:
        Path(summary_file).write_text(json.dumps(_last_look(lambda: _summary(dag_id, at)) or {}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
