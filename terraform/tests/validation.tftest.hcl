# terraform test: every validation rule rejects a bad value. Plan only.

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

# Each run feeds one bad value and expects exactly that variable's validation to reject it.
# (expect_failures makes the run fail if the plan succeeds, or fails for another reason.)

run "ui_cidr_whole_internet_is_rejected" {
  command = plan
  variables {
    mwaa_webserver_allowed_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.mwaa_webserver_allowed_cidrs]
}

run "ui_cidr_public_range_is_rejected" {
  command = plan
  variables {
    mwaa_webserver_allowed_cidrs = ["10.100.0.0/16", "8.8.8.0/24"]
  }
  expect_failures = [var.mwaa_webserver_allowed_cidrs]
}

run "ui_cidr_lookalike_of_a_private_range_is_rejected" {
  command = plan
  variables {
    # 172.32/16 is public: just outside 172.16.0.0/12.
    mwaa_webserver_allowed_cidrs = ["172.32.0.0/16"]
  }
  expect_failures = [var.mwaa_webserver_allowed_cidrs]
}

run "min_workers_above_max_workers_is_rejected" {
  command = plan
  variables {
    mwaa_min_workers = 3
    mwaa_max_workers = 2
  }
  expect_failures = [var.mwaa_max_workers]
}

run "more_than_25_workers_is_rejected" {
  command = plan
  variables {
    mwaa_max_workers = 26
  }
  expect_failures = [var.mwaa_max_workers]
}

run "micro_with_autoscaling_workers_is_rejected" {
  command = plan
  variables {
    mwaa_environment_class = "mw1.micro"
    mwaa_min_workers       = 1
    mwaa_max_workers       = 2
  }
  expect_failures = [var.mwaa_max_workers]
}

run "micro_with_two_minimum_workers_is_rejected" {
  command = plan
  variables {
    mwaa_environment_class = "mw1.micro"
    mwaa_min_workers       = 2
    mwaa_max_workers       = 2
  }
  # (mwaa_max_workers' own rules are not evaluated once mwaa_min_workers, which they read, failed.)
  expect_failures = [var.mwaa_min_workers]
}

run "unknown_environment_class_is_rejected" {
  command = plan
  variables {
    mwaa_environment_class = "mw1.nano"
  }
  expect_failures = [var.mwaa_environment_class]
}

run "malformed_plugins_version_is_rejected" {
  command = plan
  variables {
    plugins_s3_object_version = "3sL4kqtJlcpXroDTDmJ rmSpXd3dIbrHY/"
  }
  expect_failures = [var.plugins_s3_object_version]
}

run "malformed_requirements_version_is_rejected" {
  command = plan
  variables {
    requirements_s3_object_version = "version?id=1"
  }
  expect_failures = [var.requirements_s3_object_version]
}

run "empty_requirements_version_is_rejected" {
  command = plan
  variables {
    requirements_s3_object_version = ""
  }
  expect_failures = [var.requirements_s3_object_version]
}

run "version_id_longer_than_1024_characters_is_rejected" {
  command = plan
  variables {
    # 41 x 25 = 1025 characters (S3 version IDs are at most 1024).
    plugins_s3_object_version = join("", [for i in range(41) : "abcdefghijklmnopqrstuvwxy"])
  }
  expect_failures = [var.plugins_s3_object_version]
}

run "alarm_window_beyond_seven_days_is_rejected" {
  command = plan
  variables {
    missed_load_alarm_hours = 169
  }
  expect_failures = [var.missed_load_alarm_hours]
}

run "zero_hour_alarm_window_is_rejected" {
  command = plan
  variables {
    missed_load_alarm_hours = 0
  }
  expect_failures = [var.missed_load_alarm_hours]
}

run "fractional_alarm_window_is_rejected" {
  command = plan
  variables {
    missed_load_alarm_hours = 25.5
  }
  expect_failures = [var.missed_load_alarm_hours]
}

run "reserved_db_username_is_rejected" {
  command = plan
  variables {
    db_username = "rdsadmin"
  }
  expect_failures = [var.db_username]
}

run "db_username_starting_with_a_digit_is_rejected" {
  command = plan
  variables {
    db_username = "1etl"
  }
  expect_failures = [var.db_username]
}

run "password_version_zero_is_rejected" {
  command = plan
  variables {
    db_password_version = 0
  }
  expect_failures = [var.db_password_version]
}

run "quicksight_without_principal_is_rejected" {
  command = plan
  variables {
    enable_quicksight = true
  }
  expect_failures = [var.quicksight_principal_arn]
}

run "malformed_notification_email_is_rejected" {
  command = plan
  variables {
    notification_emails = ["ops@example"]
  }
  expect_failures = [var.notification_emails]
}
