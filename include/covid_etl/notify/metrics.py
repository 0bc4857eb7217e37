"""The dead man's switch's heartbeat: a CloudWatch metric per successful run.

Callbacks only fire for runs that exist; a paused DAG, a stopped scheduler or a DAG that no longer
imports sends nothing. So each successful run (a load, or "no new publication") puts 1 on
``covid_etl/SuccessfulLoad`` (dimension ``DagId``), and a CloudWatch alarm (terraform/monitoring.tf)
notifies the SNS topic when no such datum arrived for 26 hours.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# terraform/locals.tf names the same metric for its alarm.
NAMESPACE = "covid_etl"
METRIC_NAME = "SuccessfulLoad"


def publish_success_metric(*, dag_id: str, aws_conn_id: str) -> bool:
    """Put one ``SuccessfulLoad`` datum for ``dag_id``; log and swallow any error (a missing datum is what
    the alarm is there to notice, and it must not fail the run that succeeded).

    :param dag_id: the DAG, the metric's ``DagId`` dimension.
    :param aws_conn_id: the Airflow AWS connection to publish with.
    :return: whether CloudWatch accepted the datum.
    """
    try:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        cloudwatch = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="cloudwatch").get_conn()
        cloudwatch.put_metric_data(
            Namespace=NAMESPACE,
            MetricData=[
                {
                    "MetricName": METRIC_NAME,
                    "Dimensions": [{"Name": "DagId", "Value": dag_id}],
                    "Value": 1.0,
                    "Unit": "Count",
                }
            ],
        )
    except Exception:
        log.exception("Could not put %s/%s for %s", NAMESPACE, METRIC_NAME, dag_id)
        return False
    log.info("Put %s/%s = 1 for %s", NAMESPACE, METRIC_NAME, dag_id)
    return True
