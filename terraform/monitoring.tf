###############################################################################
# Dead man's switch (issue 12): after every successful load the DAG publishes
# covid_etl/SuccessfulLoad (DagId = covid_etl, value 1, unit Count) with the
# execution role's credentials. The alarm fires when no such data point was
# recorded for var.missed_load_alarm_hours, which also catches what no task
# can report itself: a paused DAG, a dead scheduler, a deleted environment.
###############################################################################

resource "aws_cloudwatch_metric_alarm" "missed_load" {
  alarm_name        = local.missed_load_alarm_name
  alarm_description = "No successful covid_etl load recorded for ${var.missed_load_alarm_hours} hours: the daily DAG failed, is paused, or the MWAA environment is down."

  namespace   = local.success_metric_namespace
  metric_name = local.success_metric_name
  dimensions  = { DagId = local.dag_id }
  statistic   = "Sum"
  unit        = "Count"

  # One-hour periods, var.missed_load_alarm_hours of them, all of which must breach: "the last N
  # hours hold no success". CloudWatch limits period x evaluation_periods to 7 days (604,800 s)
  # for periods of one hour or more, and to one day for shorter periods, so 26 hours can only be
  # expressed with periods of at least an hour; 3,600 s x 26 = 93,600 s is within the limit.
  period              = 3600
  evaluation_periods  = var.missed_load_alarm_hours
  datapoints_to_alarm = var.missed_load_alarm_hours
  comparison_operator = "LessThanThreshold"
  threshold           = 1

  # No data point in an hour is the normal case between two daily runs, and it is exactly what the
  # switch watches: an hour without data counts as breaching. Right after creation the alarm
  # therefore goes to ALARM once the first window has elapsed if the DAG has not run yet.
  treat_missing_data = "breaching"

  alarm_actions = [aws_sns_topic.notifications.arn]
  ok_actions    = [aws_sns_topic.notifications.arn]

  tags = { Name = local.missed_load_alarm_name }
}
