###############################################################################
# MWAA execution role: what Airflow itself and every task run as (the
# `aws_default` connection on MWAA). Follows the documented execution-role
# policy for a customer managed key, narrowed to this environment's bucket,
# log groups and key, plus the pipeline's own needs: the two Secrets Manager
# prefixes and sns:Publish on the notification topic.
###############################################################################

locals {
  mwaa_environment_arn = "arn:${local.partition}:airflow:${local.region}:${local.account_id}:environment/${local.mwaa_environment_name}"
}

data "aws_iam_policy_document" "mwaa_assume_role" {
  statement {
    sid     = "MwaaAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    }

    # Confused-deputy protection: only this account's environment of this name.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.mwaa_environment_arn]
    }
  }
}

resource "aws_iam_role" "mwaa_execution" {
  name               = "${var.name}-mwaa-execution"
  description        = "Execution role of the MWAA environment ${local.mwaa_environment_name}"
  assume_role_policy = data.aws_iam_policy_document.mwaa_assume_role.json

  tags = { Name = "${var.name}-mwaa-execution" }
}

data "aws_iam_policy_document" "mwaa_execution" {
  statement {
    sid       = "PublishEnvironmentMetrics"
    actions   = ["airflow:PublishMetrics"]
    resources = [local.mwaa_environment_arn]
  }

  statement {
    sid     = "DenyListingAllBuckets"
    effect  = "Deny"
    actions = ["s3:ListAllMyBuckets"]
    resources = [
      aws_s3_bucket.artifacts.arn,
      "${aws_s3_bucket.artifacts.arn}/*",
    ]
  }

  statement {
    sid = "ReadArtifactsBucket"
    actions = [
      "s3:GetObject*",
      "s3:GetBucket*",
      "s3:List*",
    ]
    resources = [
      aws_s3_bucket.artifacts.arn,
      "${aws_s3_bucket.artifacts.arn}/*",
    ]
  }

  # MWAA checks the account-level S3 Block Public Access setting; the action has no resource type.
  statement {
    sid       = "ReadAccountPublicAccessBlock"
    actions   = ["s3:GetAccountPublicAccessBlock"]
    resources = ["*"]
  }

  statement {
    sid = "WriteEnvironmentLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:CreateLogGroup",
      "logs:PutLogEvents",
      "logs:GetLogEvents",
      "logs:GetLogRecord",
      "logs:GetLogGroupFields",
      "logs:GetQueryResults",
    ]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:airflow-${local.mwaa_environment_name}-*"]
  }

  statement {
    sid       = "DescribeLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }

  # PutMetricData supports no resource-level permissions. Besides Airflow's own metrics this is what
  # the DAG's dead man's switch uses: covid_etl/SuccessfulLoad after each load (monitoring.tf). No
  # cloudwatch:namespace condition: MWAA's documented policy grants every namespace, and a narrower
  # Allow beside it would restrict nothing.
  statement {
    sid       = "PutAirflowMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
  }

  # MWAA's Celery queues live in an AWS-owned account, hence the account wildcard.
  statement {
    sid = "UseCeleryQueues"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:GetQueueUrl",
      "sqs:ReceiveMessage",
      "sqs:SendMessage",
    ]
    resources = ["arn:${local.partition}:sqs:${local.region}:*:airflow-celery-*"]
  }

  statement {
    sid = "UseKeyForCeleryQueuesAndArtifacts"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:GenerateDataKey*",
      "kms:Encrypt",
    ]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values = [
        "sqs.${local.region}.amazonaws.com",
        "s3.${local.region}.amazonaws.com",
      ]
    }
  }

  # The DAG stages each download under staging/ between its fetch and load tasks, which may run on
  # different workers (Airflow Variable covid_etl_staging_uri, secrets.tf), and deletes it once the
  # load has committed or failed (docs/adr/0004-staging-retention.md); nothing stays for the next run.
  statement {
    sid       = "StageSourceDownloads"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.artifacts.arn}/${local.staging_prefix}/*"]
  }

  # s3fs checks whether a staged object exists (HeadObject); without s3:ListBucket S3
  # answers a missing key with 403 instead of 404. Listing is limited to the staging/ keys.
  # (ReadArtifactsBucket above, MWAA's documented s3:List*, already covers the whole bucket; this
  # statement states the pipeline's own need so that it survives a narrowing of that one.)
  statement {
    sid       = "ListStagedDownloads"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.artifacts.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        local.staging_prefix,
        "${local.staging_prefix}/*",
      ]
    }
  }

  # SecretsManagerBackend: connections and variables, nothing else in Secrets Manager.
  statement {
    sid = "ReadAirflowConnectionsAndVariables"
    actions = [
      "secretsmanager:GetSecretValue",
      "secretsmanager:DescribeSecret",
    ]
    resources = [
      "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:airflow/connections/*",
      "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:airflow/variables/*",
    ]
  }

  statement {
    sid       = "DecryptAirflowSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "PublishNotifications"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]
  }

  # Publishing to a KMS-encrypted topic needs a data key from the topic's key.
  statement {
    sid = "UseKeyForNotifications"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey*",
    ]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sns.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "mwaa_execution" {
  name   = "${var.name}-mwaa-execution"
  role   = aws_iam_role.mwaa_execution.id
  policy = data.aws_iam_policy_document.mwaa_execution.json
}

###############################################################################
# RDS enhanced monitoring
###############################################################################

data "aws_iam_policy_document" "rds_monitoring_assume_role" {
  statement {
    sid     = "RdsMonitoringAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${var.name}-rds-monitoring"
  description        = "Lets RDS publish enhanced monitoring metrics of ${local.db_instance_id}"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume_role.json

  tags = { Name = "${var.name}-rds-monitoring" }
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

###############################################################################
# VPC flow logs
###############################################################################

data "aws_iam_policy_document" "flow_logs_assume_role" {
  statement {
    sid     = "FlowLogsAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "${var.name}-vpc-flow-logs"
  description        = "Lets VPC Flow Logs write to ${aws_cloudwatch_log_group.flow_logs.name}"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume_role.json

  tags = { Name = "${var.name}-vpc-flow-logs" }
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    sid = "WriteFlowLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
    ]
    resources = [
      aws_cloudwatch_log_group.flow_logs.arn,
      "${aws_cloudwatch_log_group.flow_logs.arn}:*",
    ]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "${var.name}-vpc-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

###############################################################################
# Deployer policy: what `make deploy` needs (sync dags/, upload plugins.zip and
# requirements.txt, pin their versions on the environment). Attach it to the
# CI deploy role (GitHub OIDC) or to whoever runs `make deploy`.
###############################################################################

data "aws_iam_policy_document" "deployer" {
  statement {
    sid       = "ListArtifactsBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.artifacts.arn]
  }

  statement {
    sid = "SyncDags"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
    ]
    resources = ["${aws_s3_bucket.artifacts.arn}/dags/*"]
  }

  statement {
    sid     = "UploadPluginsAndRequirements"
    actions = ["s3:PutObject"]
    resources = [
      "${aws_s3_bucket.artifacts.arn}/plugins.zip",
      "${aws_s3_bucket.artifacts.arn}/requirements.txt",
    ]
  }

  # Objects are encrypted with the stack key (bucket default encryption).
  statement {
    sid = "UseKeyForArtifacts"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid = "UpdateEnvironment"
    actions = [
      "airflow:GetEnvironment",
      "airflow:UpdateEnvironment",
    ]
    resources = [local.mwaa_environment_arn]
  }

  statement {
    sid       = "PassExecutionRoleToMwaa"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.mwaa_execution.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["airflow.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "deployer" {
  name        = "${var.name}-deployer"
  description = "Lets `make deploy` update the artifacts and pinned versions of the MWAA environment ${local.mwaa_environment_name}"
  policy      = data.aws_iam_policy_document.deployer.json

  tags = { Name = "${var.name}-deployer" }
}
