###############################################################################
# General
###############################################################################

variable "aws_region" {
  description = "AWS Region to deploy into, e.g. eu-west-1. MWAA and (if enabled) QuickSight must be available there."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like an AWS Region code, e.g. eu-west-1 or us-gov-west-1."
  }
}

variable "name" {
  description = "Name prefix of every resource; also the MWAA environment name. Lower case letters, digits and hyphens, starting with a letter."
  type        = string
  default     = "covid-etl"

  validation {
    # Bounded so that "airflow-<name>-<account id>-<region>" stays within the 63-character S3 bucket name limit.
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.name)) && !endswith(var.name, "-")
    error_message = "name must be 2-20 characters of lower case letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "environment" {
  description = "Deployment stage, used in tags only."
  type        = string
  default     = "dev"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "tags" {
  description = "Extra tags merged into the provider's default_tags (Project, Environment, ManagedBy are always set)."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups this configuration creates (VPC flow logs, RDS logs)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the customer managed KMS key is deleted after `terraform destroy`."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30 && floor(var.kms_deletion_window_days) == var.kms_deletion_window_days
    error_message = "kms_deletion_window_days must be a whole number between 7 and 30."
  }
}

###############################################################################
# Network
###############################################################################

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC, /16 to /20. Two public and two private subnets are carved out of it (each 1/16 of the VPC)."
  type        = string
  default     = "10.20.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && can(regex("/(1[6-9]|20)$", var.vpc_cidr))
    error_message = "vpc_cidr must be a valid IPv4 CIDR block with a prefix length between /16 and /20."
  }
}

variable "availability_zones" {
  description = "The two Availability Zones (names, e.g. [\"eu-west-1a\", \"eu-west-1b\"]) for the subnets. Empty (default): the Region's \"a\" and \"b\" zones. MWAA needs two distinct zones."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) == 2 && length(distinct(var.availability_zones)) == 2)
    error_message = "availability_zones must be empty or list exactly two different Availability Zones."
  }

  validation {
    condition     = alltrue([for az in var.availability_zones : startswith(az, var.aws_region) && can(regex("^[a-z0-9-]+[a-z]$", az))])
    error_message = "Each availability_zones entry must be an Availability Zone name of aws_region, e.g. eu-west-1a."
  }
}

variable "one_nat_gateway_per_az" {
  description = "false (default): one NAT gateway shared by both private subnets, cheaper. true: one NAT gateway per Availability Zone, so an AZ outage does not cut the other AZ off the internet."
  type        = bool
  default     = false
}

###############################################################################
# Database
###############################################################################

variable "db_engine_version" {
  description = "RDS PostgreSQL engine version: a major version (\"17\", RDS picks the newest minor) or major.minor (\"17.6\"). The parameter group family follows the major version."
  type        = string
  default     = "17"

  validation {
    condition     = can(regex("^1[4-9](\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be a PostgreSQL major version 14-19, optionally with a minor version (e.g. 17 or 17.6)."
  }
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.db_instance_class))
    error_message = "db_instance_class must look like an RDS instance class, e.g. db.t4g.micro."
  }
}

variable "db_name" {
  description = "Name of the database created in the instance; the Airflow connection's schema."
  type        = string
  default     = "covid"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_name)) && !contains(["postgres", "template0", "template1", "rdsadmin"], var.db_name)
    error_message = "db_name must be 1-63 lower case letters, digits or underscores, start with a letter, and not be a reserved database name."
  }
}

variable "db_username" {
  description = "Master user name of the database, also the Airflow connection's login. Fixed and documented rather than random: a user name is no secret, and changing it replaces the database."
  type        = string
  default     = "covid_etl"

  validation {
    # RDS for PostgreSQL: 1-63 letters, digits or underscores, starting with a letter; "rds*" and
    # "pg_*" names are reserved, as are PostgreSQL's own role names and SQL keywords such as "user".
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_username)) && !startswith(var.db_username, "rds") && !startswith(var.db_username, "pg_") && !contains(["postgres", "admin", "user", "public", "role", "select", "all"], var.db_username)
    error_message = "db_username must be 1-63 lower case letters, digits or underscores, start with a letter, and be neither reserved (postgres, admin, user, public, ...) nor start with rds or pg_."
  }
}

variable "db_password_version" {
  description = "Version of the generated database password. The password is ephemeral (never in the plan or state) and written only when this number changes: increase it by one and apply to rotate the password of RDS and of the Airflow connection secret together."
  type        = number
  default     = 1

  validation {
    condition     = var.db_password_version >= 1 && floor(var.db_password_version) == var.db_password_version
    error_message = "db_password_version must be a whole number of at least 1; increase it to rotate the password."
  }
}

variable "db_allocated_storage" {
  description = "Initial storage of the database in GiB (gp3)."
  type        = number
  default     = 20

  validation {
    condition     = var.db_allocated_storage >= 20 && var.db_allocated_storage <= 1000 && floor(var.db_allocated_storage) == var.db_allocated_storage
    error_message = "db_allocated_storage must be a whole number of GiB between 20 and 1000."
  }
}

variable "db_max_allocated_storage" {
  description = "Upper limit in GiB for storage autoscaling; must be at least db_allocated_storage."
  type        = number
  default     = 100

  validation {
    condition     = var.db_max_allocated_storage >= var.db_allocated_storage && var.db_max_allocated_storage <= 65536
    error_message = "db_max_allocated_storage must be between db_allocated_storage and 65536 GiB."
  }
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 7 && var.db_backup_retention_days <= 35 && floor(var.db_backup_retention_days) == var.db_backup_retention_days
    error_message = "db_backup_retention_days must be a whole number between 7 and 35."
  }
}

variable "db_multi_az" {
  description = "Run the database as a Multi-AZ deployment (a synchronous standby in the other private subnet). Doubles the instance cost."
  type        = bool
  default     = false
}

variable "db_deletion_protection" {
  description = "Protect the database against deletion. Set to false and apply before `terraform destroy`."
  type        = bool
  default     = true
}

###############################################################################
# MWAA
###############################################################################

variable "mwaa_environment_class" {
  description = "MWAA environment class."
  type        = string
  default     = "mw1.small"

  validation {
    condition     = contains(["mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"], var.mwaa_environment_class)
    error_message = "mwaa_environment_class must be one of mw1.micro, mw1.small, mw1.medium, mw1.large, mw1.xlarge, mw1.2xlarge."
  }
}

variable "mwaa_min_workers" {
  description = "Minimum number of MWAA workers. mw1.micro runs its single worker in the scheduler's container and does not autoscale: it takes exactly 1."
  type        = number
  default     = 1

  validation {
    condition     = var.mwaa_min_workers >= 1 && var.mwaa_min_workers <= 25 && floor(var.mwaa_min_workers) == var.mwaa_min_workers
    error_message = "mwaa_min_workers must be a whole number between 1 and 25."
  }

  validation {
    condition     = var.mwaa_environment_class != "mw1.micro" || var.mwaa_min_workers == 1
    error_message = "mw1.micro has a single combined scheduler/worker and no worker autoscaling: mwaa_min_workers must be 1."
  }
}

variable "mwaa_max_workers" {
  description = "Maximum number of MWAA workers (autoscaling upper bound, at most 25); at least mwaa_min_workers. mw1.micro takes exactly 1."
  type        = number
  default     = 2

  validation {
    condition     = var.mwaa_max_workers >= var.mwaa_min_workers && var.mwaa_max_workers <= 25 && floor(var.mwaa_max_workers) == var.mwaa_max_workers
    error_message = "mwaa_max_workers must be a whole number between mwaa_min_workers and 25."
  }

  # MWAA documents that mw1.micro "does not support auto-scaling": one hybrid scheduler/worker
  # container, one web server.
  validation {
    condition     = var.mwaa_environment_class != "mw1.micro" || var.mwaa_max_workers == 1
    error_message = "mw1.micro has a single combined scheduler/worker and no worker autoscaling: mwaa_max_workers must be 1."
  }
}

variable "mwaa_webserver_access_mode" {
  description = "PRIVATE_ONLY (default): the Airflow UI is reachable only from inside the VPC (VPN, Direct Connect, bastion). PUBLIC_ONLY: reachable from the internet, still behind IAM sign-in."
  type        = string
  default     = "PRIVATE_ONLY"

  validation {
    condition     = contains(["PRIVATE_ONLY", "PUBLIC_ONLY"], var.mwaa_webserver_access_mode)
    error_message = "mwaa_webserver_access_mode must be PRIVATE_ONLY or PUBLIC_ONLY."
  }
}

variable "mwaa_webserver_allowed_cidrs" {
  description = "Private networks (VPN, peered VPC, on-premises) allowed to open the PRIVATE_ONLY Airflow UI on port 443. Public ranges such as 0.0.0.0/0 are refused."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for cidr in var.mwaa_webserver_allowed_cidrs :
      can(cidrhost(cidr, 0)) && can(regex("^(10\\.[0-9.]+/([89]|[12][0-9]|3[0-2])|172\\.(1[6-9]|2[0-9]|3[01])\\.[0-9.]+/(1[2-9]|2[0-9]|3[0-2])|192\\.168\\.[0-9.]+/(1[6-9]|2[0-9]|3[0-2]))$", cidr))
    ])
    error_message = "Each mwaa_webserver_allowed_cidrs entry must be a valid RFC 1918 IPv4 CIDR (10/8, 172.16/12, 192.168/16)."
  }
}

variable "plugins_s3_object_version" {
  description = "S3 object version of plugins.zip that MWAA loads when the environment is created (null: none). Later versions are pinned by `make deploy` (aws mwaa update-environment); Terraform then ignores this attribute so an apply never rolls a deployment back."
  type        = string
  default     = null

  validation {
    # Not "{1,1024}": Terraform's regex engine refuses repeat counts above 1000 ("invalid repeat
    # count"), so can() was always false and every version ID was rejected. "+" plus a length test
    # instead; coalesce() because Terraform 1.11 evaluates both sides of || (length(null) fails).
    condition     = var.plugins_s3_object_version == null || (can(regex("^[A-Za-z0-9._-]+$", var.plugins_s3_object_version)) && length(coalesce(var.plugins_s3_object_version, "-")) <= 1024)
    error_message = "plugins_s3_object_version must be an S3 version ID (1-1024 letters, digits, '.', '_', '-') or null."
  }
}

variable "requirements_s3_object_version" {
  description = "S3 object version of requirements.txt that MWAA installs when the environment is created (null: none). Later versions are pinned by `make deploy` (aws mwaa update-environment); Terraform then ignores this attribute so an apply never rolls a deployment back."
  type        = string
  default     = null

  validation {
    # Not "{1,1024}": Terraform's regex engine refuses repeat counts above 1000 ("invalid repeat
    # count"), so can() was always false and every version ID was rejected. "+" plus a length test
    # instead; coalesce() because Terraform 1.11 evaluates both sides of || (length(null) fails).
    condition     = var.requirements_s3_object_version == null || (can(regex("^[A-Za-z0-9._-]+$", var.requirements_s3_object_version)) && length(coalesce(var.requirements_s3_object_version, "-")) <= 1024)
    error_message = "requirements_s3_object_version must be an S3 version ID (1-1024 letters, digits, '.', '_', '-') or null."
  }
}

###############################################################################
# Notifications
###############################################################################

variable "notification_emails" {
  description = "E-mail addresses subscribed to the pipeline's SNS topic. Each recipient must confirm the subscription e-mail AWS sends."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.notification_emails : can(regex("^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$", email))])
    error_message = "Each notification_emails entry must be an e-mail address such as ops@example.com."
  }
}

variable "missed_load_alarm_hours" {
  description = "Dead man's switch: the alarm goes off and notifies the SNS topic when the DAG has recorded no successful load (metric covid_etl/SuccessfulLoad) for this many hours. Default 26: a daily run plus two hours of slack."
  type        = number
  default     = 26

  validation {
    # One-hour periods, one per hour: CloudWatch caps period x evaluation periods at 7 days
    # (604,800 s) for periods of an hour or more.
    condition     = var.missed_load_alarm_hours >= 1 && var.missed_load_alarm_hours <= 168 && floor(var.missed_load_alarm_hours) == var.missed_load_alarm_hours
    error_message = "missed_load_alarm_hours must be a whole number of hours between 1 and 168 (CloudWatch evaluates at most 7 days)."
  }
}

###############################################################################
# QuickSight (optional)
###############################################################################

variable "enable_quicksight" {
  description = "Create the QuickSight VPC connection, data source, data sets and dashboard. Needs a QuickSight Enterprise subscription in this account and Region."
  type        = bool
  default     = false
}

variable "quicksight_principal_arn" {
  description = "ARN of the QuickSight user or group the data source, data set and dashboard are shared with, e.g. arn:aws:quicksight:eu-west-1:123456789012:user/default/alice. Required when enable_quicksight is true."
  type        = string
  default     = null

  validation {
    condition     = var.quicksight_principal_arn == null || can(regex("^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:(user|group)/.+$", var.quicksight_principal_arn))
    error_message = "quicksight_principal_arn must be a QuickSight user or group ARN."
  }

  validation {
    condition     = !var.enable_quicksight || var.quicksight_principal_arn != null
    error_message = "quicksight_principal_arn is required when enable_quicksight is true."
  }
}

variable "quicksight_secrets_role_name" {
  description = "Name of the IAM role QuickSight uses to read Secrets Manager secrets. QuickSight creates it when an administrator turns on Secrets Manager access; Terraform adds read access to the database secret to it."
  type        = string
  default     = "aws-quicksight-secretsmanager-role-v0"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.quicksight_secrets_role_name))
    error_message = "quicksight_secrets_role_name must be a valid IAM role name."
  }
}
