###############################################################################
# Optional QuickSight dashboard (var.enable_quicksight, Enterprise edition):
# a VPC connection into the private subnets, a PostgreSQL data source that
# reads its credentials from the Airflow connection secret, DIRECT_QUERY
# data sets on covid_us_daily and covid_us_state_daily, and a dashboard with a
# national and a per-state line chart.
###############################################################################

locals {
  quicksight_vpc_connection_id = "${var.name}-vpc"
  quicksight_data_source_id    = "${var.name}-postgres"
  quicksight_data_set_id       = "${var.name}-covid-us-daily"
  quicksight_state_data_set_id = "${var.name}-covid-us-state-daily"

  quicksight_data_source_actions = [
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
    "quicksight:UpdateDataSource",
    "quicksight:UpdateDataSourcePermissions",
    "quicksight:DeleteDataSource",
  ]

  quicksight_data_set_actions = [
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:UpdateDataSet",
    "quicksight:UpdateDataSetPermissions",
    "quicksight:DeleteDataSet",
  ]

  quicksight_dashboard_actions = [
    "quicksight:DescribeDashboard",
    "quicksight:ListDashboardVersions",
    "quicksight:QueryDashboard",
    "quicksight:DescribeDashboardPermissions",
    "quicksight:UpdateDashboardPermissions",
    "quicksight:UpdateDashboard",
    "quicksight:UpdateDashboardPublishedVersion",
    "quicksight:DeleteDashboard",
  ]

  # Measures drawn as lines over covid_us_daily.date.
  quicksight_measures = ["cases", "deaths", "recovered"]

  # Measures drawn per state (one line per state) over covid_us_state_daily.date.
  quicksight_state_measures = ["cases", "deaths"]

  # covid_us_state_daily as the pipeline creates it (primary key (date, state); fips is nullable).
  # loaded_at and run_id are bookkeeping and stay out of the data set. QuickSight types: date ->
  # DATETIME, bigint -> INTEGER, text -> STRING.
  quicksight_state_columns = {
    date   = "DATETIME"
    state  = "STRING"
    fips   = "STRING"
    cases  = "INTEGER"
    deaths = "INTEGER"
  }
}

###############################################################################
# Network access: QuickSight's network interfaces in the private subnets.
###############################################################################

resource "aws_security_group" "quicksight" {
  count = local.quicksight_count

  name        = "${var.name}-quicksight"
  description = "QuickSight VPC connection of ${var.name}: PostgreSQL to the pipeline database only"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${var.name}-quicksight" }
}

# QuickSight documents that its interfaces' group must admit all TCP from the data source's group
# (the database's replies); it is the database group only, never a CIDR.
resource "aws_vpc_security_group_ingress_rule" "quicksight_from_db" {
  #checkov:skip=CKV_AWS_24:False positive: the source is the database security group (referenced_security_group_id), not 0.0.0.0/0; checkov only recognises security_groups/source_security_group_id as a source.
  #checkov:skip=CKV_AWS_25:False positive: the source is the database security group (referenced_security_group_id), not 0.0.0.0/0; checkov only recognises security_groups/source_security_group_id as a source.
  #checkov:skip=CKV_AWS_260:False positive: the source is the database security group (referenced_security_group_id), not 0.0.0.0/0; checkov only recognises security_groups/source_security_group_id as a source.
  count = local.quicksight_count

  security_group_id            = aws_security_group.quicksight[0].id
  description                  = "Replies from the pipeline database"
  ip_protocol                  = "tcp"
  from_port                    = 0
  to_port                      = 65535
  referenced_security_group_id = aws_security_group.db.id
}

resource "aws_vpc_security_group_egress_rule" "quicksight_to_db" {
  count = local.quicksight_count

  security_group_id            = aws_security_group.quicksight[0].id
  description                  = "PostgreSQL to the pipeline database"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.db.id
}

data "aws_iam_policy_document" "quicksight_vpc_connection_assume_role" {
  count = local.quicksight_count

  statement {
    sid     = "QuickSightAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["quicksight.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "quicksight_vpc_connection" {
  count = local.quicksight_count

  name               = "${var.name}-quicksight-vpc-connection"
  description        = "Lets QuickSight manage the network interfaces of the ${var.name} VPC connection"
  assume_role_policy = data.aws_iam_policy_document.quicksight_vpc_connection_assume_role[0].json

  tags = { Name = "${var.name}-quicksight-vpc-connection" }
}

data "aws_iam_policy_document" "quicksight_vpc_connection" {
  count = local.quicksight_count

  # Describe* calls support no resource-level permissions.
  statement {
    sid = "DescribeNetwork"
    actions = [
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ManageNetworkInterfacesInPrivateSubnets"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:ModifyNetworkInterfaceAttribute",
      "ec2:DeleteNetworkInterface",
    ]
    resources = concat(
      ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"],
      aws_subnet.private[*].arn,
      [aws_security_group.quicksight[0].arn],
    )
  }
}

resource "aws_iam_role_policy" "quicksight_vpc_connection" {
  count = local.quicksight_count

  name   = "${var.name}-quicksight-vpc-connection"
  role   = aws_iam_role.quicksight_vpc_connection[0].id
  policy = data.aws_iam_policy_document.quicksight_vpc_connection[0].json
}

resource "aws_quicksight_vpc_connection" "this" {
  count = local.quicksight_count

  vpc_connection_id  = local.quicksight_vpc_connection_id
  name               = "${var.name} private subnets"
  role_arn           = aws_iam_role.quicksight_vpc_connection[0].arn
  security_group_ids = [aws_security_group.quicksight[0].id]
  subnet_ids         = aws_subnet.private[*].id

  tags = { Name = local.quicksight_vpc_connection_id }

  depends_on = [aws_iam_role_policy.quicksight_vpc_connection]
}

###############################################################################
# Credentials: QuickSight reads the Airflow connection secret ("username" and
# "password" keys) through its Secrets Manager role, which QuickSight creates
# when an administrator enables Secrets Manager access (see README).
###############################################################################

data "aws_iam_policy_document" "quicksight_secret" {
  count = local.quicksight_count

  statement {
    sid       = "ReadDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.db_connection.arn]
  }

  statement {
    sid       = "DecryptDatabaseSecret"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "quicksight_secret" {
  count = local.quicksight_count

  name   = "${var.name}-database-secret"
  role   = var.quicksight_secrets_role_name
  policy = data.aws_iam_policy_document.quicksight_secret[0].json
}

###############################################################################
# Data source, data set, dashboard
###############################################################################

resource "aws_quicksight_data_source" "this" {
  count = local.quicksight_count

  data_source_id = local.quicksight_data_source_id
  name           = "${var.name} PostgreSQL"
  type           = "POSTGRESQL"

  parameters {
    postgresql {
      host     = aws_db_instance.this.address
      port     = aws_db_instance.this.port
      database = var.db_name
    }
  }

  credentials {
    secret_arn = aws_secretsmanager_secret.db_connection.arn
  }

  # The database rejects non-SSL connections (rds.force_ssl = 1).
  ssl_properties {
    disable_ssl = false
  }

  vpc_connection_properties {
    vpc_connection_arn = aws_quicksight_vpc_connection.this[0].arn
  }

  permission {
    principal = var.quicksight_principal_arn
    actions   = local.quicksight_data_source_actions
  }

  tags = { Name = local.quicksight_data_source_id }

  depends_on = [
    aws_secretsmanager_secret_version.db_connection,
    aws_iam_role_policy.quicksight_secret,
    aws_vpc_security_group_ingress_rule.db_from_quicksight,
  ]
}

resource "aws_quicksight_data_set" "covid_us_daily" {
  count = local.quicksight_count

  data_set_id = local.quicksight_data_set_id
  name        = local.quicksight_table
  # Queries the table on every view: always as fresh as the last pipeline run, no SPICE refresh.
  import_mode = "DIRECT_QUERY"

  physical_table_map {
    physical_table_map_id = "covid-us-daily"

    relational_table {
      data_source_arn = aws_quicksight_data_source.this[0].arn
      schema          = "public"
      name            = local.quicksight_table

      input_columns {
        name = "date"
        type = "DATETIME"
      }
      input_columns {
        name = "cases"
        type = "INTEGER"
      }
      input_columns {
        name = "deaths"
        type = "INTEGER"
      }
      input_columns {
        name = "recovered"
        type = "INTEGER"
      }
    }
  }

  permissions {
    principal = var.quicksight_principal_arn
    actions   = local.quicksight_data_set_actions
  }

  tags = { Name = local.quicksight_data_set_id }
}

# Same data source and permissions as covid_us_daily; the pipeline loads the table in the same run.
resource "aws_quicksight_data_set" "covid_us_state_daily" {
  count = local.quicksight_count

  data_set_id = local.quicksight_state_data_set_id
  name        = local.quicksight_state_table
  import_mode = "DIRECT_QUERY"

  physical_table_map {
    physical_table_map_id = "covid-us-state-daily"

    relational_table {
      data_source_arn = aws_quicksight_data_source.this[0].arn
      schema          = "public"
      name            = local.quicksight_state_table

      dynamic "input_columns" {
        for_each = local.quicksight_state_columns
        content {
          name = input_columns.key
          type = input_columns.value
        }
      }
    }
  }

  permissions {
    principal = var.quicksight_principal_arn
    actions   = local.quicksight_data_set_actions
  }

  tags = { Name = local.quicksight_state_data_set_id }
}

resource "aws_quicksight_dashboard" "this" {
  count = local.quicksight_count

  dashboard_id        = local.quicksight_dashboard
  name                = "COVID-19 US daily"
  version_description = "National cases, deaths and recovered; cases and deaths per state (managed by Terraform)"

  definition {
    data_set_identifiers_declarations {
      identifier   = "covid_us_daily"
      data_set_arn = aws_quicksight_data_set.covid_us_daily[0].arn
    }

    data_set_identifiers_declarations {
      identifier   = "covid_us_state_daily"
      data_set_arn = aws_quicksight_data_set.covid_us_state_daily[0].arn
    }

    sheets {
      sheet_id = "overview"
      title    = "Overview"

      visuals {
        line_chart_visual {
          visual_id = "cases-deaths-recovered"

          title {
            format_text {
              plain_text = "US cases, deaths and recovered"
            }
          }

          chart_configuration {
            field_wells {
              line_chart_aggregated_field_wells {
                category {
                  date_dimension_field {
                    field_id         = "date"
                    date_granularity = "DAY"
                    column {
                      data_set_identifier = "covid_us_daily"
                      column_name         = "date"
                    }
                  }
                }

                dynamic "values" {
                  for_each = local.quicksight_measures
                  iterator = measure
                  content {
                    numerical_measure_field {
                      field_id = measure.value
                      column {
                        data_set_identifier = "covid_us_daily"
                        column_name         = measure.value
                      }
                      aggregation_function {
                        simple_numerical_aggregation = "SUM"
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }

    # One line per state: the same chart pattern as the overview, split by the state column.
    sheets {
      sheet_id = "states"
      title    = "By state"

      dynamic "visuals" {
        for_each = local.quicksight_state_measures
        iterator = measure
        content {
          line_chart_visual {
            visual_id = "state-${measure.value}"

            title {
              format_text {
                plain_text = "${title(measure.value)} per state"
              }
            }

            chart_configuration {
              field_wells {
                line_chart_aggregated_field_wells {
                  category {
                    date_dimension_field {
                      field_id         = "state-${measure.value}-date"
                      date_granularity = "DAY"
                      column {
                        data_set_identifier = "covid_us_state_daily"
                        column_name         = "date"
                      }
                    }
                  }

                  colors {
                    categorical_dimension_field {
                      field_id = "state-${measure.value}-state"
                      column {
                        data_set_identifier = "covid_us_state_daily"
                        column_name         = "state"
                      }
                    }
                  }

                  values {
                    numerical_measure_field {
                      field_id = "state-${measure.value}"
                      column {
                        data_set_identifier = "covid_us_state_daily"
                        column_name         = measure.value
                      }
                      aggregation_function {
                        simple_numerical_aggregation = "SUM"
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  permissions {
    principal = var.quicksight_principal_arn
    actions   = local.quicksight_dashboard_actions
  }

  tags = { Name = local.quicksight_dashboard }
}
