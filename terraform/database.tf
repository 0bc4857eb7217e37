###############################################################################
# RDS PostgreSQL in the private subnets: not publicly accessible, encrypted
# with the stack's KMS key, SSL forced by the parameter group, reachable on
# 5432 only from the MWAA security group (and QuickSight's when enabled).
###############################################################################

# Credentials are generated here and never output; they live in the Terraform state (use an
# encrypted remote backend) and in the Secrets Manager secret read by Airflow (secrets.tf).
resource "random_string" "db_username_suffix" {
  length  = 10
  lower   = true
  upper   = false
  numeric = true
  special = false
}

resource "random_password" "db" {
  length      = 40
  min_lower   = 1
  min_upper   = 1
  min_numeric = 1
  min_special = 1
  # RDS rejects "/", "@", '"' and spaces in master passwords.
  override_special = "!#%^*()-_=+[]{}<>?"
}

locals {
  # PostgreSQL role names must start with a letter.
  db_username = "etl_${random_string.db_username_suffix.result}"
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "RDS PostgreSQL of ${var.name}: port 5432 from the MWAA (and QuickSight) security groups only"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${var.name}-db" }
}

resource "aws_vpc_security_group_ingress_rule" "db_from_mwaa" {
  security_group_id            = aws_security_group.db.id
  description                  = "PostgreSQL from the MWAA environment"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.mwaa.id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_quicksight" {
  count = local.quicksight_count

  security_group_id            = aws_security_group.db.id
  description                  = "PostgreSQL from the QuickSight VPC connection"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.quicksight[0].id
}

resource "aws_db_subnet_group" "this" {
  name        = "${var.name}-db"
  description = "Private subnets of ${var.name}"
  subnet_ids  = aws_subnet.private[*].id

  tags = { Name = "${var.name}-db" }
}

resource "aws_db_parameter_group" "this" {
  # A prefix, not a fixed name: a new major version creates the new group before dropping the old.
  name_prefix = "${var.name}-${local.rds_postgres_family}-"
  family      = local.rds_postgres_family
  description = "${var.name}: SSL required, DDL and slow-query logging"

  # Reject every connection that does not use SSL/TLS.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  # Log schema changes (the pipeline's idempotent DDL) but not data-modifying statements.
  parameter {
    name  = "log_statement"
    value = "ddl"
  }

  # Log any statement that runs longer than one second.
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  tags = { Name = "${var.name}-${local.rds_postgres_family}" }

  lifecycle {
    create_before_destroy = true
  }
}

# Pre-created so that the exported PostgreSQL logs are encrypted and expire.
resource "aws_cloudwatch_log_group" "rds" {
  for_each = toset(local.rds_log_exports)

  name              = "/aws/rds/instance/${local.db_instance_id}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
}

resource "aws_db_instance" "this" {
  identifier     = local.db_instance_id
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  db_name  = var.db_name
  username = local.db_username
  password = random_password.db.result
  port     = 5432

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.this.arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  #checkov:skip=CKV_AWS_157:Multi-AZ is opt-in through var.db_multi_az (it doubles the instance cost); the default single-AZ instance keeps 7+ days of automated backups for point-in-time recovery, enough for a daily batch pipeline that can re-run.
  multi_az = var.db_multi_az

  backup_retention_period   = var.db_backup_retention_days
  backup_window             = "03:00-03:30"
  maintenance_window        = "sun:04:00-sun:04:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = var.db_deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.db_instance_id}-final"

  auto_minor_version_upgrade          = true
  allow_major_version_upgrade         = false
  iam_database_authentication_enabled = true

  monitoring_interval = 60
  monitoring_role_arn = aws_iam_role.rds_monitoring.arn

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.this.arn
  performance_insights_retention_period = 7

  enabled_cloudwatch_logs_exports = local.rds_log_exports

  tags = { Name = local.db_instance_id }

  # RDS checks the monitoring role's permissions when the instance is created.
  depends_on = [
    aws_cloudwatch_log_group.rds,
    aws_iam_role_policy_attachment.rds_monitoring,
  ]
}
