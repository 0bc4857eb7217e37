# terraform test: the dead man's switch (issue 12) and the policies around it; the execution
# role's staging permissions. Plan only.

# Every resource and data source is mocked (no AWS, no credentials), with values known at plan
# time (override_during) so that policies and names can be asserted in plan-only runs.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

# Terraform 1.11 cannot mock ephemeral resources, so the one ephemeral resource
# (aws_secretsmanager_random_password.db) has its own provider configuration, given a real,
# offline provider here: no credential validation or account look-up, a few quick retries, and
# a Secrets Manager endpoint on the loopback interface. scripts/check_terraform.sh sets
# AWS_ENDPOINT_URL_SECRETS_MANAGER to tests/infra/terraform/password_stub.py (which answers
# GetRandomPassword with a fixed sentinel password) and dummy AWS_ACCESS_KEY_ID/_SECRET_ACCESS_KEY.
provider "aws" {
  alias                       = "password"
  region                      = "eu-west-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 5
}

# Issue 12, the dead man's switch: the alarm, and the policies that let it reach the encrypted topic.
run "missed_load_alarm" {
  command = plan

  assert {
    condition     = aws_cloudwatch_metric_alarm.missed_load.namespace == "covid_etl" && aws_cloudwatch_metric_alarm.missed_load.metric_name == "SuccessfulLoad" && aws_cloudwatch_metric_alarm.missed_load.dimensions == tomap({ DagId = "covid_etl" })
    error_message = "The alarm must watch covid_etl/SuccessfulLoad with DagId = covid_etl, as the DAG publishes it."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.missed_load.statistic == "Sum" && aws_cloudwatch_metric_alarm.missed_load.comparison_operator == "LessThanThreshold" && aws_cloudwatch_metric_alarm.missed_load.threshold == 1
    error_message = "The alarm must fire on Sum < 1 (no success recorded)."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.missed_load.treat_missing_data == "breaching"
    error_message = "Hours without any data point must count as breaching: silence is the failure being watched."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.missed_load.period * aws_cloudwatch_metric_alarm.missed_load.evaluation_periods == 26 * 3600 && aws_cloudwatch_metric_alarm.missed_load.datapoints_to_alarm == aws_cloudwatch_metric_alarm.missed_load.evaluation_periods
    error_message = "By default the alarm must cover 26 hours, every period breaching."
  }

  assert {
    # CloudWatch's evaluation range limit: period x evaluation_periods <= 7 days for periods of at
    # least one hour, <= 1 day for shorter ones.
    condition     = aws_cloudwatch_metric_alarm.missed_load.period >= 3600 && aws_cloudwatch_metric_alarm.missed_load.period * aws_cloudwatch_metric_alarm.missed_load.evaluation_periods <= 604800
    error_message = "The alarm's evaluation range must be one CloudWatch accepts (periods of >= 1 h, at most 7 days in all)."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.missed_load.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:covid-etl-notifications"]) && aws_cloudwatch_metric_alarm.missed_load.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:covid-etl-notifications"])
    error_message = "ALARM and OK must both notify the pipeline's SNS topic."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.missed_load.alarm_name == "covid-etl-missed-load"
    error_message = "The alarm name must be the one the topic and key policies name in aws:SourceArn."
  }
}

run "topic_policy_admits_the_alarm_and_still_denies_everyone_else" {
  command = plan

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.notifications_topic.statement : s
      if s.sid == "AllowPublishFromMissedLoadAlarm"
      && s.effect != "Deny"
      && toset(s.actions) == toset(["sns:Publish"])
      && toset(s.resources) == toset(["arn:aws:sns:eu-west-1:123456789012:covid-etl-notifications"])
      && [for p in s.principals : { type = p.type, identifiers = toset(p.identifiers) }] == [{ type = "Service", identifiers = toset(["cloudwatch.amazonaws.com"]) }]
    ]) != null
    error_message = "The topic policy must allow cloudwatch.amazonaws.com to sns:Publish on the topic."
  }

  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.notifications_topic.statement : [
        for c in s.condition : "${c.test} ${c.variable} ${join(",", c.values)}"
      ] if s.sid == "AllowPublishFromMissedLoadAlarm"
      ])) == toset([
      "StringEquals aws:SourceAccount 123456789012",
      "ArnLike aws:SourceArn arn:aws:cloudwatch:eu-west-1:123456789012:alarm:covid-etl-missed-load",
    ])
    error_message = "CloudWatch may publish only for this account's missed-load alarm (aws:SourceAccount and aws:SourceArn)."
  }

  assert {
    # Who may publish: exactly the execution role and the CloudWatch service.
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.notifications_topic.statement : [
        for p in s.principals : p.identifiers
      ] if s.effect != "Deny" && contains(s.actions, "sns:Publish")
      ])) == toset([
      "arn:aws:iam::123456789012:role/covid-etl-mwaa-execution",
      "cloudwatch.amazonaws.com",
    ])
    error_message = "Only the MWAA execution role and CloudWatch may be allowed to publish."
  }

  assert {
    # Deny when both hold: not the execution role AND not the CloudWatch service. A service
    # principal has no aws:PrincipalArn, so without the second condition CloudWatch would be denied.
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.notifications_topic.statement : [
        for c in s.condition : "${c.test} ${c.variable} ${join(",", c.values)}"
      ] if s.sid == "DenyPublishFromAnyoneElse" && s.effect == "Deny" && contains(s.actions, "sns:Publish")
      ])) == toset([
      "ArnNotEquals aws:PrincipalArn arn:aws:iam::123456789012:role/covid-etl-mwaa-execution",
      "StringNotEquals aws:PrincipalServiceName cloudwatch.amazonaws.com",
    ])
    error_message = "The Deny must still cover every other principal while sparing exactly the execution role and the CloudWatch service."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.notifications_topic.statement :
      [for p in s.principals : { type = p.type, identifiers = toset(p.identifiers) }]
      if s.sid == "DenyPublishFromAnyoneElse"
    ]) == [{ type = "*", identifiers = toset(["*"]) }]
    error_message = "The publish Deny must apply to every principal."
  }

  assert {
    condition     = aws_sns_topic.notifications.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "The topic must stay encrypted with the stack key (which is why the key policy needs CloudWatch)."
  }
}

run "key_policy_lets_cloudwatch_use_the_topic_key_for_the_alarm_only" {
  command = plan

  assert {
    condition = [
      for s in jsondecode(aws_kms_key.this.policy).Statement : [s.Effect, s.Principal, toset(s.Action), s.Resource]
      if s.Sid == "AllowCloudWatchAlarmsToPublishToEncryptedTopic"
    ] == [["Allow", { Service = "cloudwatch.amazonaws.com" }, toset(["kms:Decrypt", "kms:GenerateDataKey*"]), "*"]]
    error_message = "The key policy must let cloudwatch.amazonaws.com Decrypt and GenerateDataKey* (SNS topic encryption)."
  }

  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition
      if s.Sid == "AllowCloudWatchAlarmsToPublishToEncryptedTopic"
      ]) == {
      StringEquals = { "aws:SourceAccount" = "123456789012" }
      ArnLike      = { "aws:SourceArn" = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:covid-etl-missed-load" }
    }
    error_message = "CloudWatch's use of the key must be limited to this account's missed-load alarm."
  }

  assert {
    # No other statement names a service principal that could publish to the topic.
    condition = toset([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Principal.Service
      if can(s.Principal.Service)
    ]) == toset(["logs.eu-west-1.amazonaws.com", "cloudwatch.amazonaws.com"])
    error_message = "The key policy must name exactly CloudWatch Logs and CloudWatch as service principals."
  }
}

run "execution_role_can_report_success_and_manage_staging" {
  command = plan

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.mwaa_execution.statement : s
      if s.sid == "PutAirflowMetrics" && s.effect != "Deny" && toset(s.actions) == toset(["cloudwatch:PutMetricData"]) && toset(s.resources) == toset(["*"]) && length(s.condition) == 0
    ]) != null
    error_message = "The execution role must be allowed cloudwatch:PutMetricData (namespace covid_etl among others)."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.mwaa_execution.statement : s
      if s.sid == "StageSourceDownloads" && toset(s.actions) == toset(["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]) && toset(s.resources) == toset(["arn:aws:s3:::airflow-covid-etl-123456789012-eu-west-1/staging/*"])
    ]) != null
    error_message = "The execution role must read, write and delete objects under staging/ only (the staged downloads)."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.mwaa_execution.statement : s
      if s.sid == "ListStagedDownloads" && toset(s.actions) == toset(["s3:ListBucket"]) && toset(s.resources) == toset(["arn:aws:s3:::airflow-covid-etl-123456789012-eu-west-1"])
      && [for c in s.condition : { test = c.test, variable = c.variable, values = toset(c.values) }] == [{ test = "StringLike", variable = "s3:prefix", values = toset(["staging", "staging/*"]) }]
    ]) != null
    error_message = "The execution role must list the bucket only under the staging/ prefix (HeadObject answers 404, not 403, for a missing baseline)."
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.mwaa_execution.statement :
      !contains(s.actions, "s3:DeleteObject") || toset(s.resources) == toset(["arn:aws:s3:::airflow-covid-etl-123456789012-eu-west-1/staging/*"])
    ])
    error_message = "s3:DeleteObject must be granted on staging/* and nowhere else."
  }
}
