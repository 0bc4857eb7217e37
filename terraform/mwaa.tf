###############################################################################
# Amazon MWAA environment running Airflow 3.3.1 in the two private subnets.
# Connections and variables come from Secrets Manager (secrets.tf).
###############################################################################

resource "aws_security_group" "mwaa" {
  name        = "${var.name}-mwaa"
  description = "MWAA environment ${local.mwaa_environment_name}: members talk to each other; outbound HTTPS and PostgreSQL only"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${var.name}-mwaa" }
}

# MWAA's scheduler, workers, web server and its metadata-database endpoint share this group.
resource "aws_vpc_security_group_ingress_rule" "mwaa_self" {
  security_group_id            = aws_security_group.mwaa.id
  description                  = "All traffic between members of the MWAA environment"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.mwaa.id
}

resource "aws_vpc_security_group_ingress_rule" "mwaa_webserver" {
  for_each = toset(var.mwaa_webserver_allowed_cidrs)

  security_group_id = aws_security_group.mwaa.id
  description       = "Airflow UI (PRIVATE_ONLY web server endpoint) from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "mwaa_self" {
  security_group_id            = aws_security_group.mwaa.id
  description                  = "All traffic between members of the MWAA environment"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.mwaa.id
}

# AWS APIs (SQS, CloudWatch, S3, Secrets Manager, SNS) and GitHub, through the NAT gateway (the
# requirements install from plugins.zip: docs/adr/0001-offline-mwaa-requirements.md).
resource "aws_vpc_security_group_egress_rule" "mwaa_https" {
  security_group_id = aws_security_group.mwaa.id
  description       = "HTTPS to AWS APIs and the GitHub-hosted COVID-19 data"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "mwaa_db" {
  security_group_id            = aws_security_group.mwaa.id
  description                  = "PostgreSQL to the pipeline database"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.db.id
}

resource "aws_mwaa_environment" "this" {
  name = local.mwaa_environment_name

  # Must equal the version in the constraint URL on the first line of ../requirements.txt
  # (tests/infra/terraform checks that they agree).
  airflow_version   = "3.3.1"
  environment_class = var.mwaa_environment_class
  min_workers       = var.mwaa_min_workers
  max_workers       = var.mwaa_max_workers

  execution_role_arn = aws_iam_role.mwaa_execution.arn
  kms_key            = aws_kms_key.this.arn

  source_bucket_arn = aws_s3_bucket.artifacts.arn
  dag_s3_path       = "dags/"

  # MWAA loads plugins.zip and requirements.txt at pinned S3 object versions, so an upload alone
  # changes nothing. These variables pin the versions at creation; afterwards `make deploy` uploads
  # new objects and pins their versions with `aws mwaa update-environment` (see ignore_changes).
  plugins_s3_path                = var.plugins_s3_object_version == null ? null : "plugins.zip"
  plugins_s3_object_version      = var.plugins_s3_object_version
  requirements_s3_path           = var.requirements_s3_object_version == null ? null : "requirements.txt"
  requirements_s3_object_version = var.requirements_s3_object_version

  webserver_access_mode = var.mwaa_webserver_access_mode

  airflow_configuration_options = {
    "secrets.backend" = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    "secrets.backend_kwargs" = jsonencode({
      connections_prefix = "airflow/connections"
      variables_prefix   = "airflow/variables"
    })
  }

  network_configuration {
    security_group_ids = [aws_security_group.mwaa.id]
    subnet_ids         = aws_subnet.private[*].id
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = "INFO"
    }
    scheduler_logs {
      enabled   = true
      log_level = "INFO"
    }
    task_logs {
      enabled   = true
      log_level = "INFO"
    }
    webserver_logs {
      enabled   = true
      log_level = "INFO"
    }
    worker_logs {
      enabled   = true
      log_level = "INFO"
    }
  }

  tags = { Name = local.mwaa_environment_name }

  lifecycle {
    # Owned by `make deploy` after creation: an apply must not roll a deployed version back.
    ignore_changes = [
      plugins_s3_path,
      plugins_s3_object_version,
      requirements_s3_path,
      requirements_s3_object_version,
    ]
  }

  # The role's permissions (S3, logs, SQS, KMS) must exist before MWAA validates them, and the
  # bucket must block public access: MWAA refuses buckets that could be public.
  depends_on = [
    aws_iam_role_policy.mwaa_execution,
    aws_s3_bucket_public_access_block.artifacts,
    aws_s3_bucket_versioning.artifacts,
    aws_route.private_nat,
    aws_route_table_association.private,
  ]
}
