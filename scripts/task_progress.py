"""Prints a line as each task of one DAG run ends: the task, its state, how long it took, and the counts
it returned.

`make run` starts it beside `airflow dags test`, in the same Airflow environment, and closes its stdin
once the run has ended; it then reports what is left and exits. It polls the metadata database, where
every task instance's state is recorded whoever set it: a listener would hear only the tasks that ran,
not those the run skipped (a short circuit) or marked upstream_failed.

    python scripts/task_progress.py DAG_ID LOGICAL_DATE
"""

from __future__ import annotations

import select
import sys
from datetime import datetime

# The whole numbers a task's return value may report, in the order they are shown.
COUNT_KEYS = ("bytes", "rows", "days", "inserted", "updated", "unchanged", "stale", "deleted")
# A task instance's try has ended in these states (up_for_retry: it will run again).
ENDED = ("success", "failed", "skipped", "upstream_failed", "removed", "up_for_retry")
POLL_SECONDS = 1.0


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


def _ended(dag_id: str, logical_date: datetime, reported: set) -> list[str]:
    """The lines of the task tries that ended since the last call (``reported`` remembers which were shown)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select as sql

    lines = []
    with create_session() as session:
        run_id = session.scalar(sql(DagRun.run_id).where(DagRun.dag_id == dag_id, DagRun.logical_date == logical_date))
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
            value = None
            if state == "success":
                row = session.scalars(
                    sql(XComModel).where(
                        XComModel.dag_id == dag_id,
                        XComModel.run_id == run_id,
                        XComModel.task_id == task_id,
                        XComModel.map_index == map_index,
                        XComModel.key == "return_value",
                    )
                ).first()
                value = row and XComModel.deserialize_value(row)
            lines.append(task_line(task_id, map_index, state=str(state), duration=duration, value=value))
    return lines


def main(dag_id: str, logical_date: str) -> int:
    from sqlalchemy.exc import OperationalError

    at = datetime.fromisoformat(logical_date)
    reported: set = set()
    finished = False
    while not finished:
        # The driver closes stdin when the run has ended: one more look, then stop.
        readable, _, _ = select.select([sys.stdin], [], [], POLL_SECONDS)
        finished = bool(readable) and sys.stdin.read() == ""
        try:
            lines = _ended(dag_id, at, reported)
        except OperationalError:  # SQLite busy with the run's own write: the next poll sees it
            continue
        for line in lines:
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
