###############################################################################
# One customer managed key for everything this stack encrypts at rest:
# RDS storage and Performance Insights, the Secrets Manager secrets, the SNS topic,
# the artifacts bucket, the MWAA environment and the CloudWatch log groups.
# CloudWatch may use it only to publish this stack's missed-load alarm to the
# encrypted SNS topic.
###############################################################################

resource "aws_kms_key" "this" {
  description             = "${var.name}: encryption at rest for RDS, Secrets Manager, SNS, S3, MWAA and CloudWatch Logs"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Standard default statement: lets IAM policies in this account grant use of the key
        # (the MWAA execution role, the QuickSight secrets role, the deploying principal).
        Sid       = "EnableIAMPolicies"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # CloudWatch Logs encrypts the VPC flow log, RDS and MWAA log groups of this account only.
        Sid       = "AllowCloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action = [
          "kms:Encrypt*",
          "kms:Decrypt*",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:Describe*",
        ]
        Resource = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
          }
        }
      },
      {
        # An alarm action on a KMS-encrypted topic needs a data key: CloudWatch, for this
        # account's missed-load alarm only (monitoring.tf). The AWS managed alias/aws/sns key
        # cannot grant this, which is why the topic uses this customer managed key.
        Sid       = "AllowCloudWatchAlarmsToPublishToEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action = [
          "kms:Decrypt",
          "kms:GenerateDataKey*",
        ]
        Resource = "*"
        Condition = {
          StringEquals = {
            "aws:SourceAccount" = local.account_id
          }
          ArnLike = {
            "aws:SourceArn" = local.missed_load_alarm_arn
          }
        }
      },
    ]
  })

  tags = { Name = var.name }
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
