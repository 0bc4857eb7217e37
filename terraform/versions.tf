terraform {
  # 1.9: validation blocks may refer to other variables (mwaa_max_workers >= mwaa_min_workers, ...).
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.x has every resource used here, including aws_quicksight_vpc_connection and
      # aws_quicksight_data_source credentials.secret_arn; pinned to the current 6.x line.
      version = "~> 6.68"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.7"
    }
  }
}
