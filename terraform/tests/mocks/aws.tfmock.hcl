# Values the mocked AWS provider returns (tests/*.tftest.hcl load this directory with
# `mock_provider "aws" { source = "./tests/mocks" }`). Anything not listed gets a generated value.
# Fixed values here are the ones assertions compare against: the account, the Region's zones, and
# the ARNs that end up in policies.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_availability_zones" {
  defaults = {
    names = ["eu-west-1a", "eu-west-1b"]
  }
}

# The provider validates JSON policy arguments even when mocked: hand out a valid (empty) document.
# Policy tests therefore assert on the policy documents' statement blocks, not on this JSON.
mock_data "aws_iam_policy_document" {
  defaults = {
    json          = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    minified_json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:eu-west-1:123456789012:covid-etl-notifications"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/covid-etl-mwaa-execution"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::airflow-covid-etl-123456789012-eu-west-1"
    id  = "airflow-covid-etl-123456789012-eu-west-1"
  }
}

mock_resource "aws_secretsmanager_secret" {
  defaults = {
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:airflow/connections/covid_db-AbCdEf"
  }
}

mock_resource "aws_db_instance" {
  defaults = {
    address     = "covid-etl-db.abcdefghijkl.eu-west-1.rds.amazonaws.com"
    resource_id = "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  }
}

mock_resource "aws_quicksight_data_source" {
  defaults = {
    arn = "arn:aws:quicksight:eu-west-1:123456789012:datasource/covid-etl-postgres"
  }
}

mock_resource "aws_quicksight_vpc_connection" {
  defaults = {
    arn = "arn:aws:quicksight:eu-west-1:123456789012:vpcConnection/covid-etl-vpc"
  }
}

mock_resource "aws_mwaa_environment" {
  defaults = {
    webserver_url = "abcdef12-3456-7890-abcd-ef1234567890.c2.eu-west-1.airflow.amazonaws.com"
  }
}
