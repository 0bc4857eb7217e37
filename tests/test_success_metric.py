"""The dead man's switch's heartbeat: every successful run puts covid_etl/SuccessfulLoad, read back from
moto's CloudWatch over HTTP; a failed run puts nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from covid_etl.metrics import METRIC_NAME, NAMESPACE


def successes(sns_inbox) -> float:
    """The sum of SuccessfulLoad for covid_etl over the last hour, as CloudWatch reports it (moto's server
    outlives a test, so each test compares before and after)."""
    statistics = sns_inbox.client("cloudwatch").get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName=METRIC_NAME,
        Dimensions=[{"Name": "DagId", "Value": "covid_etl"}],
        StartTime=datetime.now(UTC) - timedelta(hours=1),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    return sum(point["Sum"] for point in statistics["Datapoints"])


def test_a_successful_run_puts_one_successful_load_datum(run_dag, sns_inbox):
    before = successes(sns_inbox)
    state, _ = run_dag("files/real/nyt-us-2020-08-13.csv", "files/real/jhu-combined-2020-12-14.csv")
    assert state == "success"
    assert successes(sns_inbox) - before == 1.0


def test_a_run_with_nothing_new_counts_as_a_success_too(run_pinned, sns_inbox):
    before = successes(sns_inbox)
    first, _, _ = run_pinned(datetime(2021, 3, 1, tzinfo=UTC))
    again, tasks, _ = run_pinned(datetime(2021, 3, 1, 12, tzinfo=UTC))
    assert (first, again, tasks["fetch_nyt"]) == ("success", "success", "skipped")
    assert successes(sns_inbox) - before == 2.0


def test_a_failed_run_puts_nothing(run_dag, sns_inbox):
    before = successes(sns_inbox)
    state, _ = run_dag("files/nyt/html-error-page.csv")
    assert state == "failed"
    assert successes(sns_inbox) - before == 0.0
