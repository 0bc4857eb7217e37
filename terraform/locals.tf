data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# Pinned by name (var.availability_zones, or the Region's "a" and "b" zones): the set can neither
# grow when AWS adds a zone nor silently shrink; the postcondition fails the plan if a zone is
# unavailable instead of placing both subnets in one zone.
data "aws_availability_zones" "selected" {
  state = "available"

  filter {
    name   = "zone-name"
    values = local.availability_zone_names
  }

  lifecycle {
    postcondition {
      condition     = length(self.names) == 2 && length(distinct(self.names)) == 2
      error_message = "Both Availability Zones (${join(", ", local.availability_zone_names)}) must exist and be available; set availability_zones to two others."
    }
  }
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = var.aws_region

  availability_zone_names = length(var.availability_zones) > 0 ? var.availability_zones : ["${var.aws_region}a", "${var.aws_region}b"]

  # MWAA needs exactly two private subnets in two different Availability Zones: one subnet per
  # zone (aws_subnet.private[count.index] sits in local.azs[count.index]).
  azs = sort(data.aws_availability_zones.selected.names)

  # Each subnet is 1/16 of the VPC: public subnets at the start, private ones in the upper half.
  public_subnet_cidrs  = [for index, az in local.azs : cidrsubnet(var.vpc_cidr, 4, index)]
  private_subnet_cidrs = [for index, az in local.azs : cidrsubnet(var.vpc_cidr, 4, index + 8)]

  nat_gateway_count = var.one_nat_gateway_per_az ? length(local.azs) : 1

  mwaa_environment_name = var.name

  # Dead man's switch (monitoring.tf): the metric the DAG publishes after each successful load.
  dag_id                   = "covid_etl"
  success_metric_namespace = "covid_etl"
  success_metric_name      = "SuccessfulLoad"
  missed_load_alarm_name   = "${var.name}-missed-load"
  # Built from the name (not aws_cloudwatch_metric_alarm.missed_load.arn) because the KMS key policy
  # names it and the alarm depends on the key through the topic.
  missed_load_alarm_arn = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.missed_load_alarm_name}"

  # MWAA requires its source bucket name to start with "airflow-".
  artifacts_bucket_name = "airflow-${var.name}-${local.account_id}-${local.region}"

  # Names the pipeline looks up (DAG covid_etl, connection covid_db, variable covid_etl_sns_topic_arn).
  db_connection_id       = "covid_db"
  sns_topic_variable     = "covid_etl_sns_topic_arn"
  staging_variable       = "covid_etl_staging_uri"
  staging_prefix         = "staging"
  staging_uri            = "s3://${aws_s3_bucket.artifacts.id}/${local.staging_prefix}"
  rds_postgres_family    = "postgres${split(".", var.db_engine_version)[0]}"
  db_instance_id         = "${var.name}-db"
  rds_log_exports        = ["postgresql", "upgrade"]
  quicksight_table       = "covid_us_daily"
  quicksight_state_table = "covid_us_state_daily"
  quicksight_count       = var.enable_quicksight ? 1 : 0
  quicksight_dashboard   = "${var.name}-dashboard"

  tags = merge(
    {
      Project     = var.name
      Environment = var.environment
      ManagedBy   = "terraform"
    },
    var.tags,
  )
}
