# terraform test: the default variables (QuickSight off, one NAT gateway, no UI CIDRs, no e-mails,
# no pinned S3 versions). Plan only.

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

run "defaults_plan" {
  command = plan

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_eip.nat) == 1
    error_message = "The default is one NAT gateway shared by both private subnets."
  }

  assert {
    condition     = length(aws_route_table.private) == 2 && length(aws_route.private_nat) == 2
    error_message = "Each private subnet has its own route table with a default route through NAT."
  }

  assert {
    condition     = length(aws_subnet.private) == 2 && toset(aws_subnet.private[*].availability_zone) == toset(["eu-west-1a", "eu-west-1b"])
    error_message = "MWAA needs exactly two private subnets in the two selected Availability Zones."
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.mwaa_webserver) == 0
    error_message = "No Airflow UI ingress rule without mwaa_webserver_allowed_cidrs."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.email) == 0
    error_message = "No e-mail subscription without notification_emails."
  }

  assert {
    condition = alltrue([
      length(aws_quicksight_data_source.this) == 0,
      length(aws_quicksight_data_set.covid_us_daily) == 0,
      length(aws_quicksight_data_set.covid_us_state_daily) == 0,
      length(aws_quicksight_dashboard.this) == 0,
      length(aws_quicksight_vpc_connection.this) == 0,
      length(aws_iam_role_policy.quicksight_secret) == 0,
      length(aws_vpc_security_group_ingress_rule.db_from_quicksight) == 0,
    ])
    error_message = "QuickSight is off by default: none of its resources may be planned."
  }

  assert {
    condition     = output.quicksight_dashboard_url == null
    error_message = "quicksight_dashboard_url must be null while QuickSight is off."
  }

  assert {
    # (The *_object_version attributes are optional+computed: the mock invents values for them.)
    condition     = aws_mwaa_environment.this.plugins_s3_path == null && aws_mwaa_environment.this.requirements_s3_path == null
    error_message = "Without pinned versions the environment starts without plugins.zip and requirements.txt."
  }

  assert {
    condition     = aws_mwaa_environment.this.environment_class == "mw1.small" && aws_mwaa_environment.this.min_workers == 1 && aws_mwaa_environment.this.max_workers == 2
    error_message = "Default sizing is mw1.small with 1-2 workers."
  }

  assert {
    condition     = aws_mwaa_environment.this.airflow_version == "3.3.1" && aws_mwaa_environment.this.webserver_access_mode == "PRIVATE_ONLY"
    error_message = "Airflow 3.3.1 with a private web server by default."
  }

  assert {
    condition     = aws_db_instance.this.publicly_accessible == false && aws_db_instance.this.storage_encrypted == true && aws_db_instance.this.deletion_protection == true
    error_message = "The database must be private, encrypted and protected against deletion by default."
  }

  assert {
    condition     = can(regex("^covid-etl-db-final-[0-9]{14}$", aws_db_instance.this.final_snapshot_identifier)) && aws_db_instance.this.skip_final_snapshot == false
    error_message = "The final snapshot must be taken and carry the creation timestamp (unique per instance), e.g. covid-etl-db-final-20250101120000."
  }

  assert {
    condition     = aws_secretsmanager_secret_version.staging_uri.secret_string == "s3://airflow-covid-etl-123456789012-eu-west-1/staging"
    error_message = "The Airflow Variable covid_etl_staging_uri must be s3://<bucket>/staging."
  }

  assert {
    condition     = aws_secretsmanager_secret_version.sns_topic_arn.secret_string == "arn:aws:sns:eu-west-1:123456789012:covid-etl-notifications"
    error_message = "The Airflow Variable covid_etl_sns_topic_arn must hold the topic ARN."
  }

  assert {
    condition     = aws_secretsmanager_secret.db_connection.name == "airflow/connections/covid_db" && aws_secretsmanager_secret.sns_topic_arn.name == "airflow/variables/covid_etl_sns_topic_arn" && aws_secretsmanager_secret.staging_uri.name == "airflow/variables/covid_etl_staging_uri"
    error_message = "Secrets must sit under the SecretsManagerBackend prefixes with the names the DAG looks up."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_lifecycle_configuration.artifacts.rule : r.expiration[0].days if r.id == "expire-staged-downloads"]) == 7 && one([for r in aws_s3_bucket_lifecycle_configuration.artifacts.rule : r.filter[0].prefix if r.id == "expire-staged-downloads"]) == "staging/"
    error_message = "Staged downloads under staging/ must expire after 7 days (the backstop for a worker that died mid-task)."
  }
}

# The database password: generated by the ephemeral resource (here: the stub's sentinel) and
# handed over through write-only arguments only, so the planned values hold no password.
run "credentials_are_write_only" {
  command = plan

  assert {
    condition     = aws_db_instance.this.password == null
    error_message = "aws_db_instance.password must stay unset: the password goes through password_wo only."
  }

  assert {
    condition     = aws_db_instance.this.password_wo == null && aws_db_instance.this.password_wo_version == 1
    error_message = "password_wo is write-only (null in the plan) and versioned by db_password_version (default 1)."
  }

  assert {
    condition     = aws_secretsmanager_secret_version.db_connection.secret_string == null && aws_secretsmanager_secret_version.db_connection.secret_string_wo == null
    error_message = "The connection secret's JSON (with the password) must go through secret_string_wo only: secret_string must be null."
  }

  assert {
    condition     = aws_secretsmanager_secret_version.db_connection.secret_string_wo_version == aws_db_instance.this.password_wo_version
    error_message = "The secret and the database must share one password version, so a rotation writes the same password to both."
  }

  assert {
    condition     = aws_db_instance.this.username == "covid_etl" && aws_db_instance.this.manage_master_user_password == null
    error_message = "The master user name is the documented default covid_etl (no random suffix) and the password is Terraform's, not RDS-managed."
  }
}
