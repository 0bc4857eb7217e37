###############################################################################
# SNS topic for pipeline notifications, encrypted with the stack's KMS key.
# Only the MWAA execution role and CloudWatch (for this stack's missed-load
# alarm, monitoring.tf) may publish; recipients subscribe by e-mail.
###############################################################################

resource "aws_sns_topic" "notifications" {
  name              = "${var.name}-notifications"
  display_name      = "COVID-19 ETL"
  kms_master_key_id = aws_kms_key.this.arn

  tags = { Name = "${var.name}-notifications" }
}

data "aws_iam_policy_document" "notifications_topic" {
  statement {
    sid = "AllowAccountToManageTopic"
    actions = [
      "sns:GetTopicAttributes",
      "sns:SetTopicAttributes",
      "sns:AddPermission",
      "sns:RemovePermission",
      "sns:DeleteTopic",
      "sns:Subscribe",
      "sns:ListSubscriptionsByTopic",
    ]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "AllowPublishFromMwaaExecutionRole"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.mwaa_execution.arn]
    }
  }

  # The dead man's switch (monitoring.tf): CloudWatch publishes on behalf of this account's
  # missed-load alarm only (confused-deputy protection through aws:SourceAccount/aws:SourceArn).
  statement {
    sid       = "AllowPublishFromMissedLoadAlarm"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.missed_load_alarm_arn]
    }
  }

  # Same-account identity policies could otherwise grant sns:Publish to anyone else. A service
  # principal's request carries no aws:PrincipalArn (so ArnNotEquals alone would deny CloudWatch
  # too) but carries aws:PrincipalServiceName: both conditions must hold for the Deny to apply, so
  # it spares exactly the execution role and the CloudWatch service, whose Allow above is scoped to
  # the alarm. Any other service principal, or any other IAM principal, is still denied.
  statement {
    sid       = "DenyPublishFromAnyoneElse"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = [aws_iam_role.mwaa_execution.arn]
    }

    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalServiceName"
      values   = ["cloudwatch.amazonaws.com"]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:*"]
    resources = [aws_sns_topic.notifications.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sns_topic_policy" "notifications" {
  arn    = aws_sns_topic.notifications.arn
  policy = data.aws_iam_policy_document.notifications_topic.json
}

# Each address receives a confirmation e-mail; delivery starts once it is confirmed.
resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.notification_emails)

  topic_arn = aws_sns_topic.notifications.arn
  protocol  = "email"
  endpoint  = each.value
}
