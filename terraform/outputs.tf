output "airflow_ui_url" {
  description = "URL of the Airflow UI. With PRIVATE_ONLY access it resolves only inside the VPC (VPN, bastion); sign in with an IAM principal allowed airflow:CreateWebLoginToken."
  value       = "https://${aws_mwaa_environment.this.webserver_url}"
}

output "mwaa_environment_name" {
  description = "Name of the MWAA environment (read by `make deploy`)."
  value       = aws_mwaa_environment.this.name
}

output "mwaa_execution_role_arn" {
  description = "ARN of the MWAA execution role, i.e. the credentials behind the aws_default connection."
  value       = aws_iam_role.mwaa_execution.arn
}

output "artifacts_bucket_name" {
  description = "S3 bucket holding dags/, plugins.zip and requirements.txt (read by `make deploy`)."
  value       = aws_s3_bucket.artifacts.bucket
}

output "db_endpoint" {
  description = "host:port of the RDS PostgreSQL instance (private; reachable from the MWAA security group only)."
  value       = aws_db_instance.this.endpoint
}

output "db_connection_secret_arn" {
  description = "ARN of the Secrets Manager secret airflow/connections/covid_db holding the database credentials. The credentials themselves are never output."
  value       = aws_secretsmanager_secret.db_connection.arn
}

output "sns_topic_arn" {
  description = "ARN of the SNS notification topic (also stored as the Airflow variable covid_etl_sns_topic_arn)."
  value       = aws_sns_topic.notifications.arn
}

output "kms_key_arn" {
  description = "ARN of the customer managed KMS key encrypting RDS, secrets, SNS, S3, MWAA and logs."
  value       = aws_kms_key.this.arn
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "IDs of the two private subnets (one per Availability Zone) used by MWAA, RDS and QuickSight."
  value       = aws_subnet.private[*].id
}

output "quicksight_dashboard_url" {
  description = "URL of the QuickSight dashboard when enable_quicksight is true, otherwise null."
  value       = var.enable_quicksight ? "https://${local.region}.quicksight.aws.amazon.com/sn/dashboards/${one(aws_quicksight_dashboard.this[*].dashboard_id)}" : null
}

output "deployer_policy_arn" {
  description = "ARN of the IAM policy with exactly what `make deploy` needs; attach it to the CI deploy role."
  value       = aws_iam_policy.deployer.arn
}

output "missed_load_alarm_arn" {
  description = "ARN of the dead man's switch: the CloudWatch alarm that notifies the SNS topic when no covid_etl load succeeded for missed_load_alarm_hours."
  value       = aws_cloudwatch_metric_alarm.missed_load.arn
}
