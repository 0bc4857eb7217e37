"""Whole runs of covid_etl with dag.test(), and what each left behind: its tasks' states and tries, its
XComs (report_run's summary), the SNS messages it sent (read back from moto's SQS queue) and the
SuccessfulLoad datums it put (read back from moto's CloudWatch). conftest.py's dag_runner and
module_dag_runner fixtures hand these out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from covid_etl.notify.metrics import METRIC_NAME, NAMESPACE

# The national series' files when a run is given fixture files (unpinned): JHU's real US rows to 2021-09.
JHU_US_THROUGH_2021_09 = "files/jhu/combined-us-through-2021-09.csv"


@dataclass
class Outcome:
    """One run of covid_etl, as a test reads it."""

    state: str
    tasks: dict[str, str]
    tries: dict[str, int]
    run_id: str
    messages: list[dict]
    successes: float
    # Whatever the caller read from the database right after the run (the next run may change it).
    seen: dict[str, Any] = field(default_factory=dict)

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return xcom_value(self.run_id, task_id, key)

    @property
    def summary(self) -> dict:
        return self.xcom("report_run", "summary")

    def not_in(self, *states: str) -> dict[str, str]:
        """The tasks whose state is none of ``states``."""
        return {task: state for task, state in self.tasks.items() if state not in states}


def xcom_value(run_id: str, task_id: str, key: str = "return_value") -> Any:
    """A task's XCom in this session's metadata database (what dag.test() recorded)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == "covid_etl",
                XComModel.run_id == run_id,
                XComModel.task_id == task_id,
                XComModel.key == key,
            )
        ).first()
        return None if row is None else XComModel.deserialize_value(row)


def successful_loads(sns) -> float:
    """The sum of covid_etl/SuccessfulLoad for covid_etl over the last hour, as moto's CloudWatch reports it
    (its server lives for the session: compare before and after)."""
    statistics = sns.client("cloudwatch").get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=METRIC_NAME,
        Dimensions=[{"Name": "DagId", "Value": "covid_etl"}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    return sum(point["Sum"] for point in statistics["Datapoints"])


def _params(dag) -> list[tuple[Any, Any]]:
    """Each Param object of the DAG and its tasks, with its value."""
    found = {}
    for params in (dag.params, *(task.params for task in dag.tasks)):
        for key in params:
            param = params.get_param(key)
            found[id(param)] = (param, param.value)
    return list(found.values())


@dataclass
class DagRunner:
    """Runs covid_etl against one database and the local SNS (both set in the environment by the fixture).

    :param dag: the parsed DAG.
    :param db_url: the pipeline's database.
    :param sns: the local SNS endpoint (LocalSns), its queue subscribed to the topic.
    :param url: a fixture path's URL on the local HTTP server.
    :param env: a MonkeyPatch to set more of the environment with, where the fixture hands one out.
    """

    dag: Any
    db_url: str
    sns: Any
    url: Any
    env: Any = None

    def run(self, conf: dict, logical_date: datetime | None = None) -> Outcome:
        """One run with ``conf``, at ``logical_date`` (pinned to it) or now."""
        self.sns.received(wait_seconds=0)  # what earlier runs sent is theirs
        before = successful_loads(self.sns)
        params = _params(self.dag)
        try:
            dag_run = self.dag.test(logical_date=logical_date, run_conf=conf)
        finally:
            # dag.test() runs the tasks in this process, and Airflow resolves a run's conf into the DAG's own
            # Param objects: without this, one run's conf (a URL override) would be the next run's default.
            for param, value in params:
                param.value = value
        instances = dag_run.get_task_instances()
        return Outcome(
            state=dag_run.state,
            tasks={ti.task_id: ti.state for ti in instances},
            tries={ti.task_id: ti.try_number for ti in instances},
            run_id=dag_run.run_id,
            messages=self.sns.received(),
            successes=successful_loads(self.sns) - before,
        )

    def files(self, nyt: str, jhu: str = JHU_US_THROUGH_2021_09, *, datasets=("national",), **urls: str) -> Outcome:
        """A run on fixture files (paths on the local HTTP server, e.g. ``files/real/nyt-us-2023-01-24.csv``;
        ``states``/``counties`` too), unpinned: each counts as published when the run started."""
        conf = {"datasets": list(datasets), "nyt_url": self.url(nyt), "jhu_url": self.url(jhu)}
        conf |= {f"{name}_url": self.url(path) for name, path in urls.items()}
        return self.run(conf)

    def pinned(self, logical_date: datetime, datasets=("national",)) -> Outcome:
        """A run at ``logical_date``, each dataset pinned to its publication then through the GitHub set."""
        return self.run({"datasets": list(datasets)}, logical_date=logical_date)

    def query(self, sql: str, params=()) -> list[tuple]:
        with psycopg.connect(self.db_url) as conn:
            return conn.execute(sql, params).fetchall()

    def runs(self, run_id: str) -> dict[str, tuple]:
        """The run's rows of etl_runs by dataset: status, inserted, updated, deleted, unchanged, stale, error."""
        rows = self.query(
            "SELECT dataset, status, rows_inserted, rows_updated, rows_deleted, rows_unchanged, rows_stale, error"
            " FROM etl_runs WHERE run_id = %s ORDER BY id",
            (run_id,),
        )
        return {row[0]: row[1:] for row in rows}
