###############################################################################
# SNS topic for pipeline notifications, encrypted with the stack's KMS key.
# Only the MWAA execution role may publish; recipients subscribe by e-mail.
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

  # Same-account identity policies could otherwise grant sns:Publish to anyone else.
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
