# terraform test: every optional feature on, and the values that used to be refused wrongly.
# Plan only.

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

# Distinct ARNs for the two data sets, so the dashboard's references can be told apart.
override_resource {
  target          = aws_quicksight_data_set.covid_us_daily
  override_during = plan
  values = {
    arn = "arn:aws:quicksight:eu-west-1:123456789012:dataset/covid-etl-covid-us-daily"
  }
}

override_resource {
  target          = aws_quicksight_data_set.covid_us_state_daily
  override_during = plan
  values = {
    arn = "arn:aws:quicksight:eu-west-1:123456789012:dataset/covid-etl-covid-us-state-daily"
  }
}

# Every optional feature on at once (the same set checkov's second pass scans).
run "all_options_plan" {
  command = plan

  variables {
    enable_quicksight              = true
    quicksight_principal_arn       = "arn:aws:quicksight:eu-west-1:123456789012:group/default/covid-etl-readers"
    one_nat_gateway_per_az         = true
    mwaa_webserver_allowed_cidrs   = ["10.100.0.0/16", "192.168.10.0/24"]
    notification_emails            = ["ops@example.com", "data-team@example.org"]
    plugins_s3_object_version      = "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    requirements_s3_object_version = "wNnBZwbmPIlmsW7DOE5M7pF2MLoH0vlc"
    db_multi_az                    = true
    db_password_version            = 2
    missed_load_alarm_hours        = 48
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 2 && length(aws_eip.nat) == 2 && toset([for nat in aws_nat_gateway.this : nat.tags["Name"]]) == toset(["covid-etl-eu-west-1a", "covid-etl-eu-west-1b"])
    error_message = "one_nat_gateway_per_az must create one NAT gateway (and Elastic IP) in each public subnet."
  }

  assert {
    condition     = toset([for rule in aws_vpc_security_group_ingress_rule.mwaa_webserver : rule.cidr_ipv4]) == toset(["10.100.0.0/16", "192.168.10.0/24"])
    error_message = "Each private UI CIDR must get its own ingress rule."
  }

  assert {
    condition     = alltrue([for rule in aws_vpc_security_group_ingress_rule.mwaa_webserver : rule.from_port == 443 && rule.to_port == 443 && rule.ip_protocol == "tcp"])
    error_message = "The UI rules must open HTTPS (443/tcp) only."
  }

  assert {
    condition     = toset([for s in aws_sns_topic_subscription.email : s.endpoint]) == toset(["ops@example.com", "data-team@example.org"]) && alltrue([for s in aws_sns_topic_subscription.email : s.protocol == "email"])
    error_message = "Each notification e-mail must get an e-mail subscription."
  }

  assert {
    condition     = aws_mwaa_environment.this.plugins_s3_path == "plugins.zip" && aws_mwaa_environment.this.plugins_s3_object_version == "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    error_message = "A pinned plugins version must reach the environment with plugins_s3_path = plugins.zip."
  }

  assert {
    condition     = aws_mwaa_environment.this.requirements_s3_path == "requirements.txt" && aws_mwaa_environment.this.requirements_s3_object_version == "wNnBZwbmPIlmsW7DOE5M7pF2MLoH0vlc"
    error_message = "A pinned requirements version must reach the environment with requirements_s3_path = requirements.txt."
  }

  assert {
    condition     = aws_db_instance.this.multi_az == true
    error_message = "db_multi_az must reach the instance."
  }

  assert {
    condition     = aws_db_instance.this.password_wo_version == 2 && aws_secretsmanager_secret_version.db_connection.secret_string_wo_version == 2
    error_message = "A bumped db_password_version must reach both the database and the connection secret (rotation)."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.missed_load.evaluation_periods == 48 && aws_cloudwatch_metric_alarm.missed_load.datapoints_to_alarm == 48 && aws_cloudwatch_metric_alarm.missed_load.period == 3600
    error_message = "missed_load_alarm_hours = 48 must give 48 one-hour periods, all breaching."
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.db_from_quicksight) == 1 && aws_vpc_security_group_ingress_rule.db_from_quicksight[0].from_port == 5432
    error_message = "With QuickSight the database must admit 5432 from QuickSight's security group."
  }

  assert {
    condition     = output.quicksight_dashboard_url == "https://eu-west-1.quicksight.aws.amazon.com/sn/dashboards/covid-etl-dashboard"
    error_message = "quicksight_dashboard_url must point at the dashboard."
  }
}

# QuickSight: the state data set sits beside the national one, on the same data source, with the
# same permissions, and the dashboard declares and draws it.
run "quicksight_state_data_set" {
  command = plan

  variables {
    enable_quicksight        = true
    quicksight_principal_arn = "arn:aws:quicksight:eu-west-1:123456789012:user/default/alice"
  }

  assert {
    condition     = aws_quicksight_data_set.covid_us_state_daily[0].data_set_id == "covid-etl-covid-us-state-daily" && aws_quicksight_data_set.covid_us_state_daily[0].name == "covid_us_state_daily" && aws_quicksight_data_set.covid_us_state_daily[0].import_mode == "DIRECT_QUERY"
    error_message = "The state data set must be covid-etl-covid-us-state-daily on covid_us_state_daily, queried directly."
  }

  assert {
    condition     = one([for t in aws_quicksight_data_set.covid_us_state_daily[0].physical_table_map : t.relational_table[0].name]) == "covid_us_state_daily" && one([for t in aws_quicksight_data_set.covid_us_state_daily[0].physical_table_map : t.relational_table[0].schema]) == "public"
    error_message = "The state data set must read public.covid_us_state_daily."
  }

  assert {
    condition = one([for t in aws_quicksight_data_set.covid_us_state_daily[0].physical_table_map : { for c in t.relational_table[0].input_columns : c.name => c.type }]) == {
      date   = "DATETIME"
      state  = "STRING"
      fips   = "STRING"
      cases  = "INTEGER"
      deaths = "INTEGER"
    }
    error_message = "The state data set's columns must match covid_us_state_daily (date date, state text, fips text, cases/deaths bigint)."
  }

  assert {
    condition     = one([for t in aws_quicksight_data_set.covid_us_state_daily[0].physical_table_map : t.relational_table[0].data_source_arn]) == aws_quicksight_data_source.this[0].arn && one([for t in aws_quicksight_data_set.covid_us_daily[0].physical_table_map : t.relational_table[0].data_source_arn]) == aws_quicksight_data_source.this[0].arn
    error_message = "Both data sets must use the one PostgreSQL data source."
  }

  assert {
    condition = (
      [for p in aws_quicksight_data_set.covid_us_state_daily[0].permissions : p.principal] == ["arn:aws:quicksight:eu-west-1:123456789012:user/default/alice"] &&
      [for p in aws_quicksight_data_set.covid_us_state_daily[0].permissions : toset(p.actions)] == [for p in aws_quicksight_data_set.covid_us_daily[0].permissions : toset(p.actions)]
    )
    error_message = "The state data set must be shared with the configured principal with the same actions as covid_us_daily."
  }

  assert {
    condition     = toset([for d in aws_quicksight_dashboard.this[0].definition[0].data_set_identifiers_declarations : d.identifier]) == toset(["covid_us_daily", "covid_us_state_daily"])
    error_message = "The dashboard must declare both data sets."
  }

  assert {
    condition     = { for d in aws_quicksight_dashboard.this[0].definition[0].data_set_identifiers_declarations : d.identifier => d.data_set_arn } == { covid_us_daily = "arn:aws:quicksight:eu-west-1:123456789012:dataset/covid-etl-covid-us-daily", covid_us_state_daily = "arn:aws:quicksight:eu-west-1:123456789012:dataset/covid-etl-covid-us-state-daily" }
    error_message = "Each of the dashboard's data set identifiers must point at its own data set."
  }

  assert {
    condition     = [for s in aws_quicksight_dashboard.this[0].definition[0].sheets : s.sheet_id] == ["overview", "states"]
    error_message = "The dashboard must have the overview sheet and the per-state sheet."
  }

  assert {
    condition = alltrue(flatten([
      for s in aws_quicksight_dashboard.this[0].definition[0].sheets : [
        for v in s.visuals : [
          for w in v.line_chart_visual[0].chart_configuration[0].field_wells[0].line_chart_aggregated_field_wells :
          w.colors[0].categorical_dimension_field[0].column[0].column_name == "state" && w.colors[0].categorical_dimension_field[0].column[0].data_set_identifier == "covid_us_state_daily"
        ]
      ] if s.sheet_id == "states"
    ]))
    error_message = "Every per-state chart must draw one line per state of covid_us_state_daily."
  }

  assert {
    condition = toset(flatten([
      for s in aws_quicksight_dashboard.this[0].definition[0].sheets : [
        for v in s.visuals : [
          for w in v.line_chart_visual[0].chart_configuration[0].field_wells[0].line_chart_aggregated_field_wells : [
            for m in w.values : m.numerical_measure_field[0].column[0].column_name
          ]
        ]
      ] if s.sheet_id == "states"
    ])) == toset(["cases", "deaths"])
    error_message = "The per-state sheet must chart cases and deaths."
  }
}

# Issue 9's blocker: a real S3 version ID must plan for both artifacts (the old {1,1024} regex
# made every value fail), and so must the longest allowed one.
run "real_s3_version_ids_plan" {
  command = plan

  variables {
    plugins_s3_object_version      = "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    requirements_s3_object_version = "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
  }

  assert {
    condition     = aws_mwaa_environment.this.plugins_s3_object_version == "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY" && aws_mwaa_environment.this.requirements_s3_object_version == "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    error_message = "Both pinned versions must reach the environment unchanged."
  }
}

run "longest_s3_version_id_plans" {
  command = plan

  variables {
    # 32 x 32 = 1024 characters, the S3 maximum.
    plugins_s3_object_version = join("", [for i in range(32) : "0123456789abcdefghijklmnopqrstuv"])
  }

  assert {
    condition     = length(aws_mwaa_environment.this.plugins_s3_object_version) == 1024
    error_message = "A 1024-character version ID is valid."
  }
}

# mw1.micro: one combined scheduler/worker; 1/1 is the only valid sizing and must plan.
run "micro_with_its_single_worker_plans" {
  command = plan

  variables {
    mwaa_environment_class = "mw1.micro"
    mwaa_min_workers       = 1
    mwaa_max_workers       = 1
  }

  assert {
    condition     = aws_mwaa_environment.this.environment_class == "mw1.micro" && aws_mwaa_environment.this.max_workers == 1
    error_message = "mw1.micro with one worker must plan."
  }
}
