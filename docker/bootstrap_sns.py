"""Create the pipeline's alert topic on moto, with an SQS queue subscribed so alerts can be read back.

Run by the airflow-init service. It resolves the `aws_default` connection and the
`covid_etl_sns_topic_arn` Variable the way the DAG does (from the AIRFLOW_CONN_/AIRFLOW_VAR_ environment
of docker-compose.yaml), so a mistake in either fails `docker-compose up` rather than the first alert.
Every call is idempotent: moto keeps its state in memory, and rerunning airflow-init restores it.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.hooks.sns import SnsHook
from airflow.providers.amazon.aws.hooks.sqs import SqsHook
from airflow.secrets.environment_variables import EnvironmentVariablesBackend

TOPIC_ARN_VARIABLE = "covid_etl_sns_topic_arn"


def main() -> None:
    topic_arn = EnvironmentVariablesBackend().get_variable(TOPIC_ARN_VARIABLE)
    if not topic_arn:
        raise SystemExit(f"Variable {TOPIC_ARN_VARIABLE} is not set")
    topic_name = topic_arn.rsplit(":", 1)[-1]

    sns = SnsHook(aws_conn_id="aws_default").get_conn()
    sqs = SqsHook(aws_conn_id="aws_default").get_conn()

    created_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    if created_arn != topic_arn:
        raise SystemExit(f"moto created {created_arn}, but {TOPIC_ARN_VARIABLE} is {topic_arn}")

    queue_url = sqs.create_queue(QueueName=f"{topic_name}-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # Not raw delivery: the SNS envelope keeps the alert's Subject next to its Message.
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    print(f"Topic {topic_arn} delivers to {queue_url}")


if __name__ == "__main__":
    main()
